// "CORS: REST and Socket.IO allow exactly FRONTEND_URL, with credentials."
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, FRONTEND_URL, HTTP_TIMEOUT_MS } from './lib.mjs';

const HANDSHAKE = `${BASE_URL}/socket.io/?EIO=4&transport=polling`;

async function handshake(origin) {
  const res = await fetch(HANDSHAKE, { headers: { Origin: origin }, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  await res.arrayBuffer();
  return res;
}

describe('Socket.IO CORS', { skip: FRONTEND_URL ? false : 'FRONTEND_URL is not set' }, () => {
  test('the polling handshake from FRONTEND_URL gets ACAO = FRONTEND_URL with credentials', async () => {
    const res = await handshake(FRONTEND_URL);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), FRONTEND_URL);
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
  });

  test('a foreign origin is not echoed back', async () => {
    const evil = 'http://evil.example';
    const res = await handshake(evil);
    const acao = res.headers.get('access-control-allow-origin');
    assert.notEqual(acao, evil);
    assert.notEqual(acao, '*');
  });
});
