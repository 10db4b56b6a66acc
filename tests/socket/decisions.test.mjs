// approve / reject: REST answers and the events to pdg-notifications and to the applicant's user:{id}.
import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  register, makePdg, relogAsPdg, connect, waitFor, collect, sleep, closeAll, approve, reject,
  byContact, expectedDecision,
} from './lib.mjs';

const DUP_WINDOW_MS = 500;

/** A PDG with a connected socket, and a fresh applicant whose :new event the PDG has seen. */
async function setup() {
  const pdg = await makePdg();
  const ps = await connect(pdg.token);
  const applicant = await register('Artisan/Promoteur');
  await waitFor(ps, 'artisan-request:new', byContact(applicant.user.id));
  return { pdg, ps, applicant };
}

describe('decisions', () => {
  afterEach(closeAll);

  test('approve: REST answer, and artisan-request:approved to the PDG and to the applicant', async () => {
    const { pdg, ps, applicant } = await setup();
    const as = await connect(applicant.token);
    const nomComplet = `${applicant.prenom} ${applicant.nom}`;

    const res = await approve(pdg.token, applicant.user.id);
    assert.equal(res.status, 200, res.text);
    assert.deepStrictEqual(res.body, {
      contact_id: applicant.user.id, nom_complet: nomComplet, email: applicant.email, status: 'approved',
    });

    const fields = { contact_id: applicant.user.id, nom_complet: nomComplet, email: applicant.email };
    const toPdg = await waitFor(ps, 'artisan-request:approved', byContact(applicant.user.id));
    const expected = expectedDecision(fields, pdg, toPdg);
    assert.deepStrictEqual(toPdg, expected);
    assert.deepStrictEqual(await waitFor(as, 'artisan-request:approved', byContact(applicant.user.id)), expected);
  });

  test('reject with {reason}: REST answer, and artisan-request:rejected to the PDG and to the applicant', async () => {
    const { pdg, ps, applicant } = await setup();
    const as = await connect(applicant.token);

    const res = await reject(pdg.token, applicant.user.id, 'Dossier incomplet');
    assert.equal(res.status, 200, res.text);
    assert.deepStrictEqual(res.body, { contact_id: applicant.user.id, status: 'rejected' });

    const toPdg = await waitFor(ps, 'artisan-request:rejected', byContact(applicant.user.id));
    const expected = expectedDecision({ contact_id: applicant.user.id, reason: 'Dossier incomplet' }, pdg, toPdg);
    assert.deepStrictEqual(toPdg, expected);
    assert.deepStrictEqual(await waitFor(as, 'artisan-request:rejected', byContact(applicant.user.id)), expected);
  });

  test('an applicant socket only gets its own decision, not other applicants\' decisions', async () => {
    const { pdg, ps, applicant } = await setup();
    const as = await connect(applicant.token);
    const other = await register('Artisan/Promoteur');
    await waitFor(ps, 'artisan-request:new', byContact(other.user.id));

    assert.equal((await approve(pdg.token, other.user.id)).status, 200);
    await waitFor(ps, 'artisan-request:approved', byContact(other.user.id));
    assert.equal((await reject(pdg.token, applicant.user.id)).status, 200);
    const own = await waitFor(as, 'artisan-request:rejected', byContact(applicant.user.id));
    await sleep(300);
    assert.deepStrictEqual(as.received.map((r) => [r.event, r.payload]),
      [['artisan-request:rejected', expectedDecision({ contact_id: applicant.user.id }, pdg, own)]]);
  });

  for (const decision of ['approved', 'rejected']) {
    test(`a socket in both rooms (PDG who is also the applicant) gets ${decision} exactly once`, async () => {
      const other = await makePdg();
      const os = await connect(other.token);
      // register as Artisan/Promoteur, become PDG, log in again, connect
      const self = await relogAsPdg(await register('Artisan/Promoteur'));
      const ss = await connect(self.token);

      const res = decision === 'approved'
        ? await approve(other.token, self.user.id)
        : await reject(other.token, self.user.id, 'test');
      assert.equal(res.status, 200, res.text);

      const ev = `artisan-request:${decision}`;
      await waitFor(ss, ev, byContact(self.user.id));
      await waitFor(os, ev, byContact(self.user.id));
      await sleep(DUP_WINDOW_MS);
      assert.equal(collect(ss, ev, byContact(self.user.id)).length, 1,
        `the PDG-applicant socket must receive ${ev} exactly once`);
      assert.equal(collect(os, ev, byContact(self.user.id)).length, 1,
        `the other PDG socket must receive ${ev} exactly once`);
    });
  }

  test('two PDG sockets both receive each event exactly once', async () => {
    const p1 = await makePdg();
    const p2 = await makePdg();
    const s1 = await connect(p1.token);
    const s2 = await connect(p2.token);

    const a = await register('Artisan/Promoteur');
    const b = await register('Artisan/Promoteur');
    assert.equal((await approve(p1.token, a.user.id)).status, 200);
    assert.equal((await reject(p2.token, b.user.id)).status, 200);

    const checks = [
      ['artisan-request:new', a.user.id],
      ['artisan-request:new', b.user.id],
      ['artisan-request:approved', a.user.id],
      ['artisan-request:rejected', b.user.id],
    ];
    for (const s of [s1, s2]) {
      for (const [ev, id] of checks) await waitFor(s, ev, byContact(id));
    }
    await sleep(DUP_WINDOW_MS);
    for (const [i, s] of [s1, s2].entries()) {
      for (const [ev, id] of checks) {
        assert.equal(collect(s, ev, byContact(id)).length, 1, `PDG socket ${i + 1}: ${ev} for ${id} exactly once`);
      }
    }
  });
});
