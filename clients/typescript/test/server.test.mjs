// The SDK against the real server binary: typed events on both transports, the resync on reconnect,
// the error class. Needs bin/server (make build at the repository root).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ArtisanNotifyError, createClient, createRestClient } from "../dist/index.js";
import { account, makePdg, sleep, startServer } from "./lib.mjs";

let server;
let anon;
let pdgToken;
const clients = [];

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
  pdgToken = await makePdg(server, anon);
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
      assert.deepEqual(d, { contact_id: artisan.id, nom_complet: `${artisan.prenom} ${artisan.nom}`, email: artisan.email });
      assert.ok(!sync.store.has(artisan.id), "the store drops the decided request");
      assert.equal(sync.store.count, await client.countPending());

      for (const again of [() => client.approve(artisan.id), () => client.reject(artisan.id, "trop tard")]) {
        await assert.rejects(again(), (e) => {
          assert.ok(e instanceof ArtisanNotifyError);
          assert.equal(e.status, 409);
          assert.equal(e.code, "conflict");
          assert.equal(typeof e.message, "string");
          return true;
        });
      }

      const other = await registerArtisan();
      const rejectedEvent = client.once("artisan-request:rejected", 5000);
      assert.equal((await client.reject(other.id, "Dossier incomplet")).status, "rejected");
      assert.deepEqual(await rejectedEvent, { contact_id: other.id });
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
