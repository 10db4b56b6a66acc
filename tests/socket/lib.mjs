// Helpers for the Socket.IO contract tests (see asyncapi.yaml and README.md).
// Everything here talks to the server under test only through its public wire contract.
import { exec } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import jwt from 'jsonwebtoken';
import { io } from 'socket.io-client';

const execP = promisify(exec);

function requireEnv(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} must be set (see tests/socket/README.md)`);
  return v;
}

export const BASE_URL = requireEnv('BASE_URL').replace(/\/+$/, '');
export const JWT_SECRET = requireEnv('JWT_SECRET');
export const GRANT_PDG_CMD = requireEnv('GRANT_PDG_CMD');
export const JWT_ISSUER = process.env.JWT_ISSUER || '';
export const JWT_AUDIENCE = process.env.JWT_AUDIENCE || '';
export const FRONTEND_URL = process.env.FRONTEND_URL || '';

/** Default wait for an expected event, and for a negative check. */
export const EVENT_TIMEOUT_MS = Number(process.env.EVENT_TIMEOUT_MS) || 3000;
export const NONE_WINDOW_MS = 300;
/** Upper bound for one REST call. */
export const HTTP_TIMEOUT_MS = 15000;

export const TRANSPORTS = {
  websocket: { transports: ['websocket'] },
  polling: { transports: ['polling'], upgrade: false },
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function uniq(prefix = 'u') {
  return `${prefix}${Date.now().toString(36)}${randomBytes(5).toString('hex')}`;
}

// ---------------------------------------------------------------- REST

export async function api(method, path, { token, body, headers = {} } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(`${BASE_URL}${path}`, {
    method, headers: h, body: payload, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, body: json, text };
}

function expectStatus(res, status, what) {
  assert.equal(res.status, status, `${what}: expected HTTP ${status}, got ${res.status} ${res.text}`);
}

/**
 * Registers a fresh user with a random email -> {token, user, email, password, prenom, nom}.
 * `email` in the result is the normalised (trimmed, lowercased) form. With {messyEmail: true}
 * the email is sent with upper case letters and surrounding spaces (the contract normalises it).
 */
export async function register(type = 'Client', { prenom, nom, messyEmail = false } = {}) {
  const id = uniq('sock');
  const email = `${id}@example.test`;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  prenom = prenom ?? `Prenom${id.slice(-6)}`;
  nom = nom ?? `Nom${id.slice(-4)}`;
  const sentEmail = messyEmail ? `  ${id.slice(0, 4).toUpperCase()}${id.slice(4)}@Example.TEST ` : email;
  const res = await api('POST', '/api/users/auth/register', {
    body: { prenom, nom, email: sentEmail, password, confirm_password: password, type_compte: type },
  });
  expectStatus(res, 201, `register ${type} ${JSON.stringify(sentEmail)}`);
  assert.equal(typeof res.body?.token, 'string', 'register: token');
  assert.equal(typeof res.body?.user?.id, 'number', 'register: user.id is a JSON number');
  return { token: res.body.token, user: res.body.user, email, password, prenom, nom };
}

export async function login(email, password) {
  const res = await api('POST', '/api/users/auth/login', { body: { email, password } });
  expectStatus(res, 200, `login ${email}`);
  return { token: res.body.token, user: res.body.user };
}

/** Runs GRANT_PDG_CMD for `email` (which must already be registered). */
export async function grantPdg(email) {
  assert.match(email, /^[a-z0-9.@_-]+$/, 'grantPdg: email must be shell-safe');
  const cmd = GRANT_PDG_CMD.split('{email}').join(email);
  try {
    await execP(cmd, { timeout: 60000 });
  } catch (err) {
    throw new Error(`GRANT_PDG_CMD failed for ${email}: ${err.message}\n${err.stdout}\n${err.stderr}`);
  }
}

/** Logs in again after a PDG grant; asserts the server now reports is_pdg. */
export async function relogAsPdg(u) {
  await grantPdg(u.email);
  const { token, user } = await login(u.email, u.password);
  assert.equal(user.is_pdg, true, `after GRANT_PDG_CMD, login must report is_pdg true for ${u.email}`);
  return { ...u, token, user };
}

/** register(type) + GRANT_PDG_CMD + log in again -> {token, user, email, password, ...} */
export async function makePdg(type = 'Client') {
  return relogAsPdg(await register(type));
}

export const approve = (token, id) =>
  api('POST', `/api/notifications/artisan-requests/${id}/approve`, { token });
export const reject = (token, id, reason) =>
  api('POST', `/api/notifications/artisan-requests/${id}/reject`, {
    token,
    body: reason === undefined ? undefined : { reason },
  });

// ---------------------------------------------------------------- JWT forging

/**
 * Signs a token the way the server would (HS256, sub = decimal string, iat, exp), including
 * iss/aud when JWT_ISSUER/JWT_AUDIENCE are set, so only the overridden property is wrong.
 */
export function forgeToken({ sub, secret = JWT_SECRET, alg = 'HS256', expiresInSec = 3600, extra = {} } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: String(sub), iat: now, exp: now + expiresInSec, ...extra };
  if (expiresInSec < 0) claims.iat = claims.exp - 3600;
  if (JWT_ISSUER) claims.iss = JWT_ISSUER;
  if (JWT_AUDIENCE) claims.aud = JWT_AUDIENCE;
  if (alg === 'none') return jwt.sign(claims, null, { algorithm: 'none' });
  return jwt.sign(claims, secret, { algorithm: alg });
}

// ---------------------------------------------------------------- Socket.IO

const openSockets = new Set();

function rawSocket(auth, opts = {}) {
  const s = io(BASE_URL, {
    path: '/socket.io/',
    reconnection: false,
    forceNew: true,
    timeout: EVENT_TIMEOUT_MS,
    ...(auth === undefined ? {} : { auth }),
    ...opts,
  });
  openSockets.add(s);
  // Record every server -> client event from the very start, so nothing is missed between
  // the action and the waitFor() that follows it.
  s.received = [];
  s.onAny((event, ...args) => {
    s.received.push({ event, payload: args[0], args, at: Date.now() });
  });
  return s;
}

/**
 * Connects with `token` (undefined -> no auth at all). Resolves with the connected socket,
 * rejects on connect_error. opts: socket.io-client options, e.g. TRANSPORTS.polling.
 */
export function connect(token, opts = TRANSPORTS.websocket) {
  const s = rawSocket(token === undefined ? undefined : { token }, opts);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`socket did not connect within ${EVENT_TIMEOUT_MS} ms`));
    }, EVENT_TIMEOUT_MS + 500);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('connect_error', (err) => {
      clearTimeout(timer);
      s.close();
      reject(err);
    });
  });
}

/**
 * Attempts a connection that must fail. Resolves with the connect_error Error; rejects if the
 * socket connects (or nothing happens in time).
 */
export function connectExpectingError(auth, opts = TRANSPORTS.websocket) {
  const s = rawSocket(auth, opts);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`neither connect nor connect_error within ${EVENT_TIMEOUT_MS} ms`));
    }, EVENT_TIMEOUT_MS + 500);
    s.once('connect', () => {
      clearTimeout(timer);
      s.close();
      reject(new Error('socket connected although the handshake must be refused'));
    });
    s.once('connect_error', (err) => {
      clearTimeout(timer);
      s.close();
      resolve(err);
    });
  });
}

/** Payloads of `event` received by `socket` so far (a fresh array each call). */
export function collect(socket, event, predicate = () => true) {
  return socket.received.filter((r) => r.event === event && predicate(r.payload)).map((r) => r.payload);
}

/**
 * Resolves with the first payload of `event` that matches `predicate` (already received or
 * arriving within timeoutMs); rejects on timeout.
 */
export function waitFor(socket, event, predicate = () => true, timeoutMs = EVENT_TIMEOUT_MS) {
  const seen = socket.received.find((r) => r.event === event && predicate(r.payload));
  if (seen) return Promise.resolve(seen.payload);
  return new Promise((resolve, reject) => {
    const handler = (payload) => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      socket.off(event, handler);
      resolve(payload);
    };
    const timer = setTimeout(() => {
      socket.off(event, handler);
      const got = socket.received.map((r) => `${r.event} ${JSON.stringify(r.payload)}`).join('\n  ');
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${event} on socket ${socket.id}; received:\n  ${got || '(nothing)'}`));
    }, timeoutMs);
    socket.on(event, handler);
  });
}

/** Waits `ms` and asserts that no `event` matching `predicate` was received (ever) by `socket`. */
export async function expectNone(socket, event, predicate = () => true, ms = NONE_WINDOW_MS) {
  await sleep(ms);
  const got = collect(socket, event, predicate);
  assert.deepStrictEqual(got, [], `socket must not receive ${event} here`);
}

/** Closes every socket opened through this module (use in after/afterEach hooks). */
export function closeAll() {
  for (const s of openSockets) s.close();
  openSockets.clear();
}

// ---------------------------------------------------------------- payload checks

export const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function assertRecentTimestamp(value, what = 'created_at') {
  assert.equal(typeof value, 'string', `${what} must be a string`);
  assert.match(value, RFC3339, `${what} must be RFC 3339: ${value}`);
  const t = Date.parse(value);
  assert.ok(Number.isFinite(t), `${what} must parse: ${value}`);
  assert.ok(Math.abs(Date.now() - t) < 60_000, `${what} must be within a minute of now: ${value}`);
}

/** The exact artisan-request:new / ArtisanRequest payload expected for a registered applicant. */
export function expectedRequest(u, createdAt) {
  return {
    contact_id: u.user.id,
    prenom: u.prenom,
    nom: u.nom,
    nom_complet: `${u.prenom} ${u.nom}`,
    email: u.email,
    type_compte: 'Artisan/Promoteur',
    created_at: createdAt,
  };
}

export const byContact = (id) => (p) => p && p.contact_id === id;

/**
 * The exact artisan-request:approved / :rejected payload expected: `fields` plus the decision made
 * by `pdg` (decided_by {id, name}; decided_at, checked to be recent, taken from the received payload).
 */
export function expectedDecision(fields, pdg, received) {
  assertRecentTimestamp(received?.decided_at, 'decided_at');
  return { ...fields, decided_by: { id: pdg.user.id, name: `${pdg.prenom} ${pdg.nom}` }, decided_at: received.decided_at };
}
