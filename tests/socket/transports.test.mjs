// Delivery over each transport on its own: long-polling without upgrade, and websocket only.
import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  TRANSPORTS, register, makePdg, connect, waitFor, closeAll, approve, reject, assertRecentTimestamp,
  expectedRequest, byContact, expectedDecision,
} from './lib.mjs';

describe('transports', () => {
  afterEach(closeAll);

  for (const [tname, topts] of Object.entries(TRANSPORTS)) {
    test(`events are delivered over ${tname} only`, async () => {
      const pdg = await makePdg();
      const ps = await connect(pdg.token, topts);

      const a = await register('Artisan/Promoteur');
      const b = await register('Artisan/Promoteur');
      const as = await connect(a.token, topts);
      const bs = await connect(b.token, topts);

      const na = await waitFor(ps, 'artisan-request:new', byContact(a.user.id));
      assertRecentTimestamp(na.created_at);
      assert.deepStrictEqual(na, expectedRequest(a, na.created_at));

      assert.equal((await approve(pdg.token, a.user.id)).status, 200);
      assert.equal((await reject(pdg.token, b.user.id, 'non')).status, 200);
      const pa = await waitFor(ps, 'artisan-request:approved', byContact(a.user.id));
      const approved = expectedDecision({ contact_id: a.user.id, nom_complet: `${a.prenom} ${a.nom}`, email: a.email }, pdg, pa);
      assert.deepStrictEqual(pa, approved);
      assert.deepStrictEqual(await waitFor(as, 'artisan-request:approved', byContact(a.user.id)), approved);
      const pb = await waitFor(ps, 'artisan-request:rejected', byContact(b.user.id));
      const rejected = expectedDecision({ contact_id: b.user.id, reason: 'non' }, pdg, pb);
      assert.deepStrictEqual(pb, rejected);
      assert.deepStrictEqual(await waitFor(bs, 'artisan-request:rejected', byContact(b.user.id)), rejected);

      for (const s of [ps, as, bs]) assert.equal(s.io.engine.transport.name, tname, 'no transport change');
    });
  }
});
