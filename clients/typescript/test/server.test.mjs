// The SDK against the real server binary: typed events on both transports, the resync on reconnect,
// the error class. Needs bin/server (make build at the repository root).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ArtisanNotifyError, createClient, createRestClient } from "../dist/index.js";
import { account, makePdgAccount, sleep, startServer } from "./lib.mjs";

let server;
let anon;
let pdgToken;
let pdgUser;
const clients = [];

/** The decision fields of an event or a 409 made by the PDG of these tests. */
function decidedByPdg(payload) {
  assert.deepEqual(payload.decided_by, { id: pdgUser.id, name: `${pdgUser.prenom} ${pdgUser.nom}` });
  assert.ok(Math.abs(Date.parse(payload.decided_at) - Date.now()) < 60000, `decided_at ${payload.decided_at}`);
  return { decided_by: payload.decided_by, decided_at: payload.decided_at };
}

function pdgClient(socket = {}) {
  const c = createClient({ baseUrl: server.baseUrl, token: pdgToken, socket: { reconnectionDelay: 100, reconnectionDelayMax: 500, ...socket } });
  clients.push(c);
  return c;
}

async function registerArtisan() {
  const a = account("Artisan/Promoteur");
  const { user } = await anon.register(a);
  return { ...a, id: user.id };
}

async function until(cond, what, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

before(async () => {
  server = await startServer();
  anon = createRestClient({ baseUrl: server.baseUrl });
  ({ token: pdgToken, user: pdgUser } = await makePdgAccount(server, anon));
});

after(async () => {
  for (const c of clients) c.close();
  await server?.stop();
});

for (const transport of ["websocket", "polling"]) {
  describe(`events over ${transport}`, () => {
    it("receives typed artisan-request:new and :approved, keeps the pending store, and a second decision is a 409 ArtisanNotifyError", async () => {
      const client = pdgClient({ transports: [transport], upgrade: false });
      const sync = client.syncPending();
      const first = sync.synced();
      await client.connect();
      await first;
      assert.equal(client.socket.io.engine.transport.name, transport);

      const arrived = client.once("artisan-request:new", 5000);
      const artisan = await registerArtisan();
      const r = await arrived;
      assert.equal(r.contact_id, artisan.id);
      assert.equal(r.email, artisan.email);
      assert.equal(r.nom_complet, `${artisan.prenom} ${artisan.nom}`);
      assert.equal(r.type_compte, "Artisan/Promoteur");
      assert.ok(sync.store.has(artisan.id), "the store lists the new request");
      assert.equal(sync.store.count, await client.countPending());

      const approvedEvent = client.once("artisan-request:approved", 5000);
      const answer = await client.approve(artisan.id);
      assert.equal(answer.status, "approved");
      const d = await approvedEvent;
      assert.deepEqual(d, { contact_id: artisan.id, nom_complet: `${artisan.prenom} ${artisan.nom}`, email: artisan.email, ...decidedByPdg(d) });
      assert.ok(!sync.store.has(artisan.id), "the store drops the decided request");
      assert.equal(sync.store.count, await client.countPending());

      for (const again of [() => client.approve(artisan.id), () => client.reject(artisan.id, "trop tard")]) {
        await assert.rejects(again(), (e) => {
          assert.ok(e instanceof ArtisanNotifyError);
          assert.equal(e.status, 409);
          assert.equal(e.code, "conflict");
          assert.equal(typeof e.message, "string");
          assert.deepEqual(e.decision, { contact_id: artisan.id, status: "approved", decided_by: d.decided_by, decided_at: d.decided_at });
          return true;
        });
      }

      const other = await registerArtisan();
      const rejectedEvent = client.once("artisan-request:rejected", 5000);
      assert.equal((await client.reject(other.id, "Dossier incomplet")).status, "rejected");
      const rejected = await rejectedEvent;
      assert.deepEqual(rejected, { contact_id: other.id, reason: "Dossier incomplet", ...decidedByPdg(rejected) });
      sync.stop();
      client.close();
    });
  });
}

describe("resync on reconnect", () => {
  it("a request registered while disconnected is in the store after the reconnection, counted once", async () => {
    const client = pdgClient({ transports: ["websocket"] });
    const sync = client.syncPending({ limit: 200 });
    let s = sync.synced();
    await client.connect();
    await s;

    client.socket.disconnect();
    const missed = await registerArtisan();
    await sleep(200);
    assert.ok(!sync.store.has(missed.id), "no event while disconnected");
    s = sync.synced();
    client.socket.connect();
    await s;
    assert.ok(sync.store.has(missed.id), "refetched after the reconnection");
    assert.equal(sync.store.count, await client.countPending());
  });

  it("a lost connection reconnects by itself and resyncs; requests arriving during the refetch are counted once", async () => {
    const client = pdgClient({ transports: ["websocket"] });
    const sync = client.syncPending({ limit: 200 });
    const s = sync.synced();
    await client.connect();
    await s;

    let reconnected = false;
    client.socket.once("disconnect", () => client.socket.once("connect", () => (reconnected = true)));
    client.socket.io.engine.close(); // as if the network dropped: socket.io reconnects by itself
    const burst = await Promise.all([registerArtisan(), registerArtisan(), registerArtisan()]);
    await until(() => reconnected, "the automatic reconnection");
    const more = await Promise.all([registerArtisan(), registerArtisan()]);
    const expected = await client.countPending();
    await until(() => sync.store.count === expected, `count ${expected} (have ${sync.store.count})`);
    for (const a of [...burst, ...more]) assert.ok(sync.store.has(a.id), `request ${a.id} listed`);
    const ids = sync.store.requests.map((r) => r.contact_id);
    assert.equal(new Set(ids).size, ids.length);
    await sleep(300);
    assert.equal(sync.store.count, await client.countPending(), "no event applied twice");
  });
});

describe("the PDG's day", () => {
  it("listRequests: history by status with the decider, search, pages() through next_cursor, a tampered cursor is 400", { timeout: 60000 }, async () => {
    const client = pdgClient();
    const tag = `Z${Date.now().toString(36)}`;
    const made = [];
    for (let i = 0; i < 5; i++) {
      const a = account("Artisan/Promoteur");
      a.nom = `${tag}${i}`;
      const { user } = await anon.register(a);
      made.push({ ...a, id: user.id });
    }
    await client.approve(made[0].id);
    await client.reject(made[1].id, "Pièces manquantes");

    const approved = await client.listRequests({ status: "approved", q: tag });
    assert.deepEqual(approved.requests.map((r) => r.contact_id), [made[0].id]);
    assert.equal(approved.count, 1);
    assert.equal(approved.requests[0].status, "approved");
    decidedByPdg(approved.requests[0]);
    const rejected = (await client.listRequests({ status: "rejected", q: tag.toLowerCase() })).requests;
    assert.deepEqual(rejected.map((r) => [r.contact_id, r.reason]), [[made[1].id, "Pièces manquantes"]]);

    const seen = [];
    let pageCount = 0;
    for await (const page of client.pages({ status: "all", q: tag, limit: 2 })) {
      pageCount++;
      assert.equal(page.count, 5);
      seen.push(...page.requests.map((r) => r.contact_id));
    }
    assert.equal(pageCount, 3);
    assert.deepEqual(seen, made.map((a) => a.id).reverse(), "every request once, newest first");

    const pending = await client.listPending({ q: tag, limit: 1 });
    assert.equal(pending.count, 3);
    assert.ok(pending.next_cursor);
    const tampered = pending.next_cursor.slice(0, -2) + (pending.next_cursor.endsWith("AA") ? "BB" : "AA");
    await assert.rejects(client.listPending({ q: tag, limit: 1, cursor: tampered }), (e) => e instanceof ArtisanNotifyError && e.status === 400 && e.code === "invalid_request");
    await assert.rejects(client.listRequests({ status: "all", q: tag, cursor: pending.next_cursor }), (e) => e.status === 400, "a cursor of another query");
  });

  it("me: the applicant sees the decision on their request (status, when, the reason)", { timeout: 60000 }, async () => {
    const a = account("Artisan/Promoteur");
    const { token, user } = await anon.register(a);
    await pdgClient().reject(user.id, "Dossier incomplet");
    const me = await createRestClient({ baseUrl: server.baseUrl, token }).me();
    assert.equal(me.artisan_status, "rejected");
    assert.equal(me.artisan_reason, "Dossier incomplet");
    assert.ok(Math.abs(Date.parse(me.artisan_decided_at) - Date.now()) < 60000);
  });

  it("user:rights-changed: grant-pdg puts the open socket in the PDG room (no reconnection) and syncPending refetches; revoke-pdg takes it out", { timeout: 60000 }, async () => {
    const a = account("Client");
    const { token, user } = await anon.register(a);
    const client = createClient({ baseUrl: server.baseUrl, token, socket: { transports: ["websocket"] } });
    clients.push(client);
    await client.connect();
    const sid = client.socket.id;
    const sync = client.syncPending({ onError: () => {} });

    const granted = client.once("user:rights-changed", 10000);
    const refetched = sync.synced();
    await server.grantPdg(a.email);
    assert.deepEqual(await granted, { contact_id: user.id, is_pdg: true });
    await refetched;
    const arrived = client.once("artisan-request:new", 5000);
    const artisan = await registerArtisan();
    assert.equal((await arrived).contact_id, artisan.id);
    assert.ok(sync.store.has(artisan.id));
    assert.equal(client.socket.id, sid, "the same socket");

    const revoked = client.once("user:rights-changed", 10000);
    await server.revokePdg(a.email);
    assert.deepEqual(await revoked, { contact_id: user.id, is_pdg: false });
    let after = 0;
    client.on("artisan-request:new", () => after++);
    await registerArtisan();
    await sleep(500);
    assert.equal(after, 0, "no PDG event after the revocation");
    sync.stop();
    client.close();
  });
});

describe("errors", () => {
  it("401 unauthorized without a token, 403 forbidden for a non-PDG, 404 not_found, 400 invalid_request", async () => {
    const check = (status, code) => (e) => e instanceof ArtisanNotifyError && e.status === status && e.code === code;
    await assert.rejects(anon.me(), check(401, "unauthorized"));
    const a = account("Client");
    const { token } = await anon.register(a);
    const client = createClient({ baseUrl: server.baseUrl, token });
    await assert.rejects(client.listPending(), check(403, "forbidden"));
    await assert.rejects(pdgClient().approve(2147480000), check(404, "not_found"));
    await assert.rejects(anon.register({ ...account(), confirm_password: "different-password" }), check(400, "invalid_request"));
    await assert.rejects(anon.register(a), check(409, "conflict"));
  });

  it("a refused token: connect() rejects with connect_error unauthorized; setToken then logs in and connects", async () => {
    const client = createClient({ baseUrl: server.baseUrl, token: "not-a-token" });
    clients.push(client);
    await assert.rejects(client.connect(), /unauthorized/);
    await assert.rejects(client.me(), (e) => e instanceof ArtisanNotifyError && e.code === "unauthorized");
    const a = account("Client");
    await anon.register(a);
    const { token } = await client.login({ email: a.email, password: a.password });
    client.setToken(token);
    assert.equal((await client.me()).email, a.email);
    await client.connect();
    assert.ok(client.socket.connected);
    client.close();
  });

  it("an unreachable server: status 0, code unavailable", async () => {
    const rest = createRestClient({ baseUrl: "http://127.0.0.1:9" });
    await assert.rejects(rest.me(), (e) => e instanceof ArtisanNotifyError && e.status === 0 && e.code === "unavailable");
  });
});

describe("rate limited", () => {
  it("429 rate_limited with retryAfter from Retry-After", async () => {
    const limited = await startServer({ RATE_LIMIT_AUTH_PER_MINUTE: "1" });
    try {
      const rest = createRestClient({ baseUrl: limited.baseUrl });
      const login = () => rest.login({ email: "nobody@example.test", password: "wrong-password" });
      await assert.rejects(login(), (e) => e instanceof ArtisanNotifyError && e.status === 401 && e.code === "unauthorized");
      await assert.rejects(login(), (e) => {
        assert.ok(e instanceof ArtisanNotifyError);
        assert.deepEqual([e.status, e.code], [429, "rate_limited"]);
        assert.ok(Number.isInteger(e.retryAfter) && e.retryAfter > 0 && e.retryAfter <= 60, `retryAfter ${e.retryAfter}`);
        return true;
      });
    } finally {
      await limited.stop();
    }
  });
});
