// Hostile Socket.IO handshakes against a running server (run by TestHostileHandshakes in
// tests/faults_test.go, which probes REST meanwhile): garbage auth payloads, raw malformed
// CONNECT packets, foreign vs no Origin, a burst of connects without auth; then a valid client
// still connects and gets an event.
//
// env: BASE_URL, FRONTEND_URL, PDG_TOKEN (a PDG's token), CLIENT_TOKEN (a Client's token).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { io } from 'socket.io-client';

function requireEnv(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} must be set (see tests/faults_test.go)`);
  return v;
}

const BASE_URL = requireEnv('BASE_URL').replace(/\/+$/, '');
const FRONTEND_URL = requireEnv('FRONTEND_URL');
const PDG_TOKEN = requireEnv('PDG_TOKEN');
const CLIENT_TOKEN = requireEnv('CLIENT_TOKEN');

const TRANSPORTS = {
  websocket: { transports: ['websocket'] },
  polling: { transports: ['polling'], upgrade: false },
};

/**
 * One handshake attempt without reconnection. Resolves {outcome, message}: outcome is
 * "connect", "connect_error" (message = its message), "disconnect" (the transport closed
 * before the handshake ended; message = reason) or "timeout".
 */
function attempt(opts, timeoutMs = 10000) {
  return new Promise((resolve) => {
    const s = io(BASE_URL, { forceNew: true, reconnection: false, timeout: timeoutMs, ...opts });
    let settled = false;
    const done = (outcome, message) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.close();
      resolve({ outcome, message });
    };
    const timer = setTimeout(() => done('timeout', ''), timeoutMs + 1000);
    s.on('connect', () => done('connect', s.id));
    s.on('connect_error', (err) => done('connect_error', err.message));
    s.on('disconnect', (reason) => done('disconnect', reason));
  });
}

const UNAUTHORIZED = { outcome: 'connect_error', message: 'unauthorized' };

function deepObject(depth) {
  const root = {};
  let o = root;
  for (let i = 0; i < depth; i++) {
    o.a = {};
    o = o.a;
  }
  return root;
}

function manyKeys(n) {
  const o = {};
  for (let i = 0; i < n; i++) o[`k${i}`] = i;
  return o;
}

describe('garbage auth payloads', () => {
  // Object-shaped auth with a bad token: the server reads it and refuses with "unauthorized".
  const objectCases = [
    ['token is a number', { token: 123 }],
    ['token is a negative float', { token: -1.5e308 }],
    ['token is true', { token: true }],
    ['token is null', { token: null }],
    ['token is an empty array', { token: [] }],
    ['token is an array of strings', { token: [CLIENT_TOKEN, CLIENT_TOKEN] }],
    ['token is an object', { token: { token: CLIENT_TOKEN } }],
    ['token is 500 nested objects', { token: deepObject(500) }],
    ['token is an empty string', { token: '' }],
    ['token is blanks', { token: ' \t\n ' }],
    ['token is 8 KB of garbage', { token: randomBytes(4096).toString('hex') }],
    ['token has a Bearer prefix', { token: `Bearer ${CLIENT_TOKEN}` }],
    ['token with a trailing byte', { token: `${CLIENT_TOKEN}x` }],
    ['token with NUL and invalid surrogates', { token: `${CLIENT_TOKEN}\u0000\ud800` }],
    ['token under another key', { jwt: CLIENT_TOKEN, Authorization: `Bearer ${CLIENT_TOKEN}` }],
    ['garbage recovery pid/offset, no token', { pid: 'x'.repeat(200), offset: { $gt: '' } }],
    ['empty object', {}],
  ];
  // Not an object: refused one way or another (the server may drop the malformed packet).
  const nonObjectCases = [
    ['auth is a number', 42],
    ['auth is a string', CLIENT_TOKEN],
    ['auth is an array', [CLIENT_TOKEN]],
    ['auth is true', true],
  ];
  // Beyond the server's message size limit: refused, usually by closing the transport.
  const hugeCases = [
    ['token is a 1 MB string', { token: 'x'.repeat(1 << 20) }],
    ['auth has 100,000 keys', manyKeys(100_000)],
  ];

  for (const [tname, topts] of Object.entries(TRANSPORTS)) {
    describe(`over ${tname}`, () => {
      for (const [name, auth] of objectCases) {
        test(`${name} -> unauthorized`, async () => {
          assert.deepEqual(await attempt({ ...topts, auth }), UNAUTHORIZED);
        });
      }
      for (const [name, auth] of [...nonObjectCases, ...hugeCases]) {
        test(`${name} -> refused`, async () => {
          const r = await attempt({ ...topts, auth });
          assert.notEqual(r.outcome, 'connect', `must not connect: ${JSON.stringify(r)}`);
          assert.notEqual(r.outcome, 'timeout', 'the server must answer (refuse or close)');
        });
      }
    });
  }
});

describe('raw malformed CONNECT packets (engine.io polling)', () => {
  const endpoint = `${BASE_URL}/socket.io/?EIO=4&transport=polling`;
  const CONNECT_ACK = /(^|\x1e)40(\/[^,]*,)?\{"sid"/;

  async function openSession() {
    const res = await fetch(endpoint, { signal: AbortSignal.timeout(10000) });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal(text[0], '0', `open packet: ${text}`);
    return JSON.parse(text.slice(1)).sid;
  }

  /** Posts `body` on a fresh session; returns the POST status and what a poll then gets. */
  async function send(body) {
    const sid = await openSession();
    const post = await fetch(`${endpoint}&sid=${sid}`, {
      method: 'POST', body, headers: { 'Content-Type': 'text/plain;charset=UTF-8' }, signal: AbortSignal.timeout(10000),
    });
    await post.arrayBuffer();
    let poll = { status: 0, text: '' };
    try {
      const res = await fetch(`${endpoint}&sid=${sid}`, { signal: AbortSignal.timeout(1000) });
      poll = { status: res.status, text: await res.text() };
    } catch (err) {
      // A long poll with nothing to say (the session is kept until the next ping): not an error.
      if (err.name !== 'TimeoutError') throw err;
    }
    return { post: post.status, poll };
  }

  const deepArrays = (n) => `40{"token":${'['.repeat(n)}${']'.repeat(n)}}`;
  const deepObjects = (n) => `40${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  const cases = [
    ['truncated JSON', '40{"token":'],
    ['JSON with a trailing garbage', '40{"token":"x"}}}'],
    ['5,000 nested arrays', deepArrays(5000)],
    ['2,500 nested objects', deepObjects(2500)],
    ['a body over the size limit', `40{"token":"${'x'.repeat(40000)}"}`],
    ['unknown namespace', '40/admin,{"token":"x"}'],
    ['binary placeholder in auth', '451-{"token":{"_placeholder":true,"num":0}}'],
    ['an EVENT before CONNECT', '42["artisan-request:new",{"contact_id":1}]'],
    ['unknown engine.io packet type', '9garbage'],
    ['unknown socket.io packet type', '49{"token":"x"}'],
    ['empty body', ''],
    ['NUL bytes', '40\u0000\u0000{"token":"\u0000"}'],
    ['invalid UTF-8', Buffer.from([0x34, 0x30, 0x7b, 0xff, 0xfe, 0xc3, 0x28, 0x7d])],
    ['many packets in one payload', Array.from({ length: 500 }, () => '40{"token":"x"}').join('\x1e')],
  ];
  for (const [name, body] of cases) {
    test(`${name}: no 5xx, no connection`, async () => {
      const r = await send(body);
      assert.ok(r.post < 500, `POST answered ${r.post}`);
      assert.ok(r.poll.status < 500, `poll answered ${r.poll.status} ${r.poll.text.slice(0, 200)}`);
      assert.doesNotMatch(r.poll.text, CONNECT_ACK, 'the server acknowledged a CONNECT');
    });
  }

  test('unknown sid, bad EIO version, bad transport: 4xx', async () => {
    for (const url of [
      `${endpoint}&sid=${'A'.repeat(20)}`,
      `${BASE_URL}/socket.io/?EIO=3&transport=polling`,
      `${BASE_URL}/socket.io/?EIO=4&transport=carrier-pigeon`,
      `${BASE_URL}/socket.io/?EIO=${'9'.repeat(5000)}&transport=polling`,
    ]) {
      const res = await fetch(url, { signal: AbortSignal.timeout(10000) });
      await res.arrayBuffer();
      assert.ok(res.status >= 400 && res.status < 500, `${url.slice(0, 120)} answered ${res.status}`);
    }
  });
});

describe('Origin of the handshake', () => {
  for (const [tname, topts] of Object.entries(TRANSPORTS)) {
    describe(`over ${tname}`, () => {
      const withOrigin = (origin) => ({ ...topts, extraHeaders: { Origin: origin } });
      test('FRONTEND_URL with a valid token connects (the Origin header is sent)', async () => {
        assert.equal((await attempt({ ...withOrigin(FRONTEND_URL), auth: { token: CLIENT_TOKEN } })).outcome, 'connect');
      });
      test('no Origin with a valid token connects', async () => {
        assert.equal((await attempt({ ...topts, auth: { token: CLIENT_TOKEN } })).outcome, 'connect');
      });
      test('no Origin with a bad token -> unauthorized', async () => {
        assert.deepEqual(await attempt({ ...topts, auth: { token: 'not-a-token' } }), UNAUTHORIZED);
      });
      const u = new URL(FRONTEND_URL);
      const foreign = [
        'http://evil.example',
        'null',
        `${u.protocol}//${u.hostname}:${Number(u.port || 80) + 1}`,
        `${u.protocol === 'http:' ? 'https:' : 'http:'}//${u.host}`,
        `${FRONTEND_URL}.evil.example`,
      ];
      for (const origin of foreign) {
        test(`foreign Origin ${origin} with a valid token is refused`, async () => {
          const r = await attempt({ ...withOrigin(origin), auth: { token: PDG_TOKEN } });
          assert.notEqual(r.outcome, 'connect', JSON.stringify(r));
          assert.notEqual(r.outcome, 'timeout');
        });
      }
    });
  }
});

describe('burst of connects without auth', () => {
  test('2,000 at once over websocket, 200 over polling: every one refused with "unauthorized"', async () => {
    const began = Date.now();
    const results = await Promise.all([
      ...Array.from({ length: 2000 }, () => attempt(TRANSPORTS.websocket, 20000)),
      ...Array.from({ length: 200 }, () => attempt(TRANSPORTS.polling, 20000)),
    ]);
    const tally = {};
    for (const r of results) {
      const k = `${r.outcome} ${r.outcome === 'connect' ? '' : r.message}`.trim();
      tally[k] = (tally[k] ?? 0) + 1;
    }
    console.log(`burst: ${results.length} handshakes in ${Date.now() - began} ms: ${JSON.stringify(tally)}`);
    assert.deepEqual(tally, { 'connect_error unauthorized': results.length });
  });
});

describe('afterwards', () => {
  test('a valid PDG client connects and gets an event', async () => {
    const s = io(BASE_URL, { forceNew: true, reconnection: false, transports: ['websocket'], auth: { token: PDG_TOKEN } });
    try {
      await new Promise((resolve, reject) => {
        s.once('connect', resolve);
        s.once('connect_error', reject);
      });
      const received = [];
      s.on('artisan-request:new', (p) => received.push(p));
      const email = `hostile-${randomBytes(6).toString('hex')}@example.test`;
      const res = await fetch(`${BASE_URL}/api/users/auth/register`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          prenom: 'Après', nom: 'Tempête', email, password: 'motdepasse1', confirm_password: 'motdepasse1',
          type_compte: 'Artisan/Promoteur',
        }),
        signal: AbortSignal.timeout(15000),
      });
      assert.equal(res.status, 201);
      const { user } = await res.json();
      const deadline = Date.now() + 10000;
      while (!received.some((p) => p.contact_id === user.id) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(received.filter((p) => p.contact_id === user.id).length, 1);
    } finally {
      s.close();
    }
  });
});
