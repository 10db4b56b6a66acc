// artisan-request:new goes to pdg-notifications only, with the exact ArtisanRequest payload.
import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  register, makePdg, connect, waitFor, expectNone, collect, closeAll, approve, reject,
  assertRecentTimestamp, expectedRequest, byContact,
} from './lib.mjs';

describe('artisan-request:new', () => {
  afterEach(closeAll);

  test('a PDG socket receives the exact ArtisanRequest when an Artisan/Promoteur registers', async () => {
    const pdg = await makePdg();
    const ps = await connect(pdg.token);

    const applicant = await register('Artisan/Promoteur', {
      prenom: 'Zoé', nom: 'Lefèvre', messyEmail: true,
    });
    assert.equal(applicant.user.email, applicant.email, 'register answers the lowercased, trimmed email');

    const got = await waitFor(ps, 'artisan-request:new', byContact(applicant.user.id));
    assertRecentTimestamp(got.created_at);
    assert.deepStrictEqual(got, expectedRequest(applicant, got.created_at));
    assert.equal(got.nom_complet, 'Zoé Lefèvre');
  });

  test('registering a Client emits nothing to the PDG', async () => {
    const pdg = await makePdg();
    const ps = await connect(pdg.token);

    const client = await register('Client', { messyEmail: true });
    // A later Artisan registration is a marker: once its event has arrived, any event for the
    // Client (emitted earlier on the same socket) would have arrived too.
    const marker = await register('Artisan/Promoteur');
    await waitFor(ps, 'artisan-request:new', byContact(marker.user.id));
    await expectNone(ps, 'artisan-request:new',
      (p) => p?.contact_id === client.user.id || p?.email === client.email);
  });

  test('a non-PDG (Client) socket receives none of the PDG events of other users\' requests', async () => {
    const pdg = await makePdg();
    const ps = await connect(pdg.token);
    const client = await register('Client');
    const cs = await connect(client.token);

    const a = await register('Artisan/Promoteur');
    const b = await register('Artisan/Promoteur');
    await waitFor(ps, 'artisan-request:new', byContact(a.user.id));
    await waitFor(ps, 'artisan-request:new', byContact(b.user.id));
    assert.equal((await approve(pdg.token, a.user.id)).status, 200);
    assert.equal((await reject(pdg.token, b.user.id, 'non')).status, 200);
    await waitFor(ps, 'artisan-request:approved', byContact(a.user.id));
    await waitFor(ps, 'artisan-request:rejected', byContact(b.user.id));

    await expectNone(cs, 'artisan-request:new');
    for (const ev of ['artisan-request:new', 'artisan-request:approved', 'artisan-request:rejected']) {
      assert.deepStrictEqual(collect(cs, ev), [], `Client socket must not receive ${ev}`);
    }
    assert.deepStrictEqual(cs.received.map((r) => r.event), [], 'Client socket must receive no event at all');
  });
});
