// Contract: "Missing/invalid/expired token -> connect_error (message "unauthorized"); no connection."
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TRANSPORTS, register, forgeToken, connect, connectExpectingError, closeAll,
} from './lib.mjs';

describe('handshake authentication', () => {
  let existing;
  // An id that is a valid positive int32 but (practically) never a contact of the DB under test.
  const missingId = 2_000_000_000 + Math.floor(Math.random() * 100_000_000);

  before(async () => {
    existing = await register('Client');
  });
  after(closeAll);

  const cases = [
    ['no auth at all', () => undefined],
    ['empty token', () => ({ token: '' })],
    ['garbage token', () => ({ token: 'not.a-jwt.at-all' })],
    ['expired token (right secret)', () => ({ token: forgeToken({ sub: existing.user.id, expiresInSec: -120 }) })],
    ['token signed with a wrong secret', () => ({ token: forgeToken({ sub: existing.user.id, secret: 'definitely-not-the-secret' }) })],
    ['alg "none" token', () => ({ token: forgeToken({ sub: existing.user.id, alg: 'none' }) })],
    ['token whose sub is not an existing contact', () => ({ token: forgeToken({ sub: missingId }) })],
  ];

  for (const [tname, topts] of Object.entries(TRANSPORTS)) {
    describe(`over ${tname}`, () => {
      test('control: a well-formed forged token for an existing contact connects', async () => {
        // Proves JWT_SECRET / JWT_ISSUER / JWT_AUDIENCE are right, so each refusal below is due
        // to the one property that the case breaks.
        const s = await connect(forgeToken({ sub: existing.user.id }), topts);
        assert.equal(s.connected, true);
        s.close();
      });

      test('control: the token returned by register connects', async () => {
        const s = await connect(existing.token, topts);
        assert.equal(s.connected, true);
        s.close();
      });

      for (const [name, auth] of cases) {
        test(`${name} -> connect_error "unauthorized"`, async () => {
          const err = await connectExpectingError(auth(), topts);
          assert.equal(err.message, 'unauthorized');
        });
      }
    });
  }
});
