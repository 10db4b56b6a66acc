// "Approve/reject decide atomically: of concurrent decisions on one request exactly one gets 200."
import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  register, makePdg, connect, waitFor, collect, sleep, closeAll, approve, reject, byContact, expectedDecision,
} from './lib.mjs';

describe('concurrent decisions', () => {
  afterEach(closeAll);

  test('20 concurrent approve/reject from two PDGs: one 200, nineteen 409, one decision event', async () => {
    const p1 = await makePdg();
    const p2 = await makePdg();
    const s1 = await connect(p1.token);
    const s2 = await connect(p2.token);
    const applicant = await register('Artisan/Promoteur');
    const as = await connect(applicant.token);
    const id = applicant.user.id;
    await waitFor(s1, 'artisan-request:new', byContact(id));

    const calls = Array.from({ length: 20 }, (_, i) => {
      const token = i % 2 === 0 ? p1.token : p2.token;
      const action = i % 4 < 2 ? 'approve' : 'reject';
      return (action === 'approve' ? approve(token, id) : reject(token, id, `race ${i}`))
        .then((res) => ({ action, res }));
    });
    const results = await Promise.all(calls);
    const statuses = results.map((r) => r.res.status).sort((x, y) => x - y);
    assert.deepStrictEqual(statuses, [200, ...Array(19).fill(409)]);

    const winner = results.find((r) => r.res.status === 200);
    const decision = winner.action === 'approve' ? 'approved' : 'rejected';
    const fields = decision === 'approved'
      ? { contact_id: id, nom_complet: `${applicant.prenom} ${applicant.nom}`, email: applicant.email }
      : { contact_id: id };
    assert.deepStrictEqual(winner.res.body, { ...fields, status: decision });
    const index = results.indexOf(winner);
    const winnerPdg = index % 2 === 0 ? p1 : p2;
    if (decision === 'rejected') fields.reason = `race ${index}`;

    let expected;
    for (const s of [s1, s2, as]) {
      const p = await waitFor(s, `artisan-request:${decision}`, byContact(id));
      expected ??= expectedDecision(fields, winnerPdg, p);
    }
    await sleep(500);
    for (const [name, s] of [['PDG 1', s1], ['PDG 2', s2], ['applicant', as]]) {
      const events = [
        ...collect(s, 'artisan-request:approved', byContact(id)).map((p) => ['artisan-request:approved', p]),
        ...collect(s, 'artisan-request:rejected', byContact(id)).map((p) => ['artisan-request:rejected', p]),
      ];
      assert.deepStrictEqual(events, [[`artisan-request:${decision}`, expected]], `${name}: exactly one decision event`);
    }
  });
});
