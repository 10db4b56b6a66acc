// The SDK without a server: the pending-requests store and its resync, the error class.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { ArtisanNotifyError, ERROR_CODES, PendingRequests, createRestClient, parseRetryAfter, syncPendingRequests } from "../dist/index.js";

const req = (id, t = `2026-01-0${(id % 9) + 1}T10:00:00Z`) => ({
  contact_id: id, prenom: "P", nom: `N${id}`, nom_complet: `P N${id}`, email: `a${id}@example.test`, type_compte: "Artisan/Promoteur", created_at: t,
});
const ids = (s) => s.requests.map((r) => r.contact_id);

describe("PendingRequests", () => {
  it("applies an event once, newest first; a decided request never comes back", () => {
    const s = new PendingRequests();
    assert.equal(s.add(req(1)), true);
    assert.equal(s.add(req(2)), true);
    assert.equal(s.add(req(2)), false);
    assert.deepEqual(ids(s), [2, 1]);
    assert.equal(s.count, 2);
    assert.equal(s.remove(2), true);
    assert.equal(s.remove(2), false);
    assert.equal(s.add(req(2)), false);
    assert.equal(s.count, 1);
    assert.equal(s.remove(42), false, "an unknown id with nothing beyond the page is not counted");
    assert.equal(s.count, 1);
  });

  it("a refetch in flight: events that arrive meanwhile are applied once, whether or not the answer has them", () => {
    const s = new PendingRequests();
    const t = s.begin();
    s.add(req(3)); // arrives before the server answered: the answer has it
    s.add(req(4)); // arrives after: the answer lacks it
    s.remove(1); // decided meanwhile: the answer still lists it
    assert.equal(s.commit(t, { requests: [req(3), req(2), req(1)], count: 5 }), true);
    assert.deepEqual(ids(s).sort(), [2, 3, 4]);
    assert.equal(s.count, 5); // 5 - 1 (decided) + 1 (4)
  });

  it("an overtaken refetch is dropped; a failed one keeps the state", () => {
    const s = new PendingRequests();
    const t1 = s.begin();
    const t2 = s.begin();
    assert.equal(s.commit(t1, { requests: [req(9)], count: 1 }), false);
    assert.equal(s.commit(t2, { requests: [req(8)], count: 1 }), true);
    assert.deepEqual(ids(s), [8]);
    const t3 = s.begin();
    s.abort(t3);
    assert.equal(s.commit(t3, { requests: [], count: 0 }), false);
    assert.deepEqual(ids(s), [8]);
  });

  it("a decision beyond the listed page is uncounted", () => {
    const s = new PendingRequests();
    s.commit(s.begin(), { requests: [req(1)], count: 60 });
    assert.equal(s.remove(99), true);
    assert.equal(s.count, 59);
  });
});

describe("syncPendingRequests", () => {
  it("refetches on every connect and does not double-apply an event that arrives during the refetch", async () => {
    const socket = new EventEmitter();
    socket.connected = false;
    const answers = [];
    const source = { socket, listPending: () => new Promise((resolve) => answers.push(resolve)) };
    let changes = 0;
    const sync = syncPendingRequests(source, { onChange: () => changes++ });
    assert.equal(answers.length, 0, "nothing fetched before a connection");

    socket.emit("connect");
    assert.equal(answers.length, 1);
    socket.emit("artisan-request:new", req(7));
    const synced = sync.synced();
    answers[0]({ requests: [req(7), req(6)], count: 2 }); // the answer already has 7
    await synced;
    assert.equal(sync.store.count, 2);
    assert.deepEqual(ids(sync.store), [7, 6]);

    socket.emit("connect"); // a reconnection
    assert.equal(answers.length, 2);
    socket.emit("artisan-request:approved", { contact_id: 6, nom_complet: "P N6", email: "a6@example.test" });
    socket.emit("artisan-request:new", req(8));
    const again = sync.synced();
    answers[1]({ requests: [req(7), req(6)], count: 2 }); // computed before both
    await again;
    assert.deepEqual(ids(sync.store), [8, 7]);
    assert.equal(sync.store.count, 2);
    assert.ok(changes >= 4);

    sync.stop();
    socket.emit("artisan-request:new", req(5));
    assert.equal(sync.store.has(5), false);
    assert.equal(socket.listenerCount("connect"), 0);
  });

  it("reports a failed refetch to onError and keeps the state", async () => {
    const socket = Object.assign(new EventEmitter(), { connected: true });
    const errors = [];
    const sync = syncPendingRequests({ socket, listPending: async () => { throw new ArtisanNotifyError({ status: 403, code: "forbidden", message: "no" }); } }, { onError: (e) => errors.push(e) });
    assert.equal(await sync.resync(), false);
    assert.equal(errors.at(-1).code, "forbidden");
    sync.stop();
  });
});

describe("ArtisanNotifyError", () => {
  const fake = (status, body, headers = {}) => async () => new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

  it("carries the contract's code, message and Retry-After in seconds", async () => {
    const rest = createRestClient({ baseUrl: "http://api.test", fetch: fake(429, { error: { code: "rate_limited", message: "Trop de tentatives." } }, { "Retry-After": "17" }) });
    await assert.rejects(rest.login({ email: "a@b.c", password: "x" }), (e) => {
      assert.ok(e instanceof ArtisanNotifyError);
      assert.ok(e instanceof Error);
      assert.equal(e.name, "ArtisanNotifyError");
      assert.deepEqual([e.status, e.code, e.message, e.retryAfter], [429, "rate_limited", "Trop de tentatives.", 17]);
      return true;
    });
  });

  it("without a contract body the code follows the status; retryAfter is undefined without the header", async () => {
    const rest = createRestClient({ baseUrl: "http://api.test", fetch: async () => new Response("bad gateway", { status: 502 }) });
    await assert.rejects(rest.me(), (e) => e.status === 502 && e.code === "internal" && e.retryAfter === undefined);
    const r2 = createRestClient({ baseUrl: "http://api.test", fetch: fake(503, undefined, { "Retry-After": "2" }) });
    await assert.rejects(r2.me(), (e) => e.status === 503 && e.code === "unavailable" && e.retryAfter === 2);
  });

  it("sends the token read at every request", async () => {
    let token = "one";
    const seen = [];
    const rest = createRestClient({ baseUrl: "http://api.test/", token: () => token, fetch: async (r) => (seen.push([r.url, r.headers.get("Authorization")]), Response.json({ count: 1 })) });
    assert.equal(await rest.countPending(), 1);
    token = null;
    await rest.countPending();
    assert.deepEqual(seen, [["http://api.test/api/notifications/artisan-requests/count", "Bearer one"], ["http://api.test/api/notifications/artisan-requests/count", null]]);
  });

  it("knows the contract's ten codes; Retry-After as an HTTP date", () => {
    assert.equal(ERROR_CODES.length, 10);
    assert.equal(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 30)).toUTCString(), Date.UTC(2030, 0, 1)), 30);
    assert.equal(parseRetryAfter("soon"), undefined);
  });
});
