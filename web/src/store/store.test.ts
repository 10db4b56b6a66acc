import { describe, expect, it, vi } from "vitest";
import { api } from "../api/api";
import type { ArtisanRequest, User } from "../api/client";
import type { EventHandlers, SocketCallbacks, SocketService } from "../socket/socketService";
import type { ServerToClientEvents } from "../socket/events";
import { pdg, req, user } from "../test/fixtures";
import { loggedIn, loggedOut } from "./actions";
import { makeStore, SESSION_KEY, type AppStore } from "./index";

const applicant = user();

/** The REST API, in memory: what the server holds, the calls it got, and a way to hold an answer back. */
function fakeServer(init: { pending?: ArtisanRequest[]; users?: Record<string, User> } = {}) {
  const server = {
    pending: init.pending ?? [],
    users: init.users ?? { "t-pdg": pdg, "t-app": applicant },
    calls: [] as string[],
    bodies: [] as unknown[],
    /** Answers of these paths wait for release(). */
    hold: new Set<string>(),
    release: () => {},
    decideStatus: 200,
  };
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  const fetch = vi.fn(async (input: RequestInfo | URL) => {
    const request = input as Request;
    const path = new URL(request.url).pathname;
    server.calls.push(`${request.method} ${path}`);
    if (request.method === "POST") server.bodies.push(await request.clone().json().catch(() => null));
    const token = request.headers.get("Authorization")?.replace("Bearer ", "") ?? "";
    const me = server.users[token];
    const snapshot = [...server.pending];
    if (server.hold.has(path)) {
      server.hold.delete(path);
      await new Promise<void>((r) => (server.release = r));
    }
    if (!me) return json(401, { error: { code: "unauthorized", message: "Jeton invalide." } });
    if (path === "/api/users/me") return json(200, me);
    if (path === "/api/notifications/artisan-requests/count") return json(200, { count: snapshot.length });
    if (path === "/api/notifications/artisan-requests") return json(200, { requests: snapshot, count: snapshot.length });
    const decided = /\/artisan-requests\/(\d+)\/(approve|reject)$/.exec(path);
    if (decided) {
      if (server.decideStatus !== 200) return json(server.decideStatus, { error: { code: "conflict", message: "Déjà traitée par un autre PDG." } });
      const id = Number(decided[1]);
      server.pending = server.pending.filter((r) => r.contact_id !== id);
      return json(200, { contact_id: id, status: decided[2] === "approve" ? "approved" : "rejected" });
    }
    return json(404, { error: { code: "not_found", message: "?" } });
  });
  return { server, fetch: fetch as unknown as typeof globalThis.fetch };
}

/** The tab's socket, faked: the callbacks given at connect, and events pushed to the listeners. */
function fakeSockets() {
  const calls: string[] = [];
  let callbacks: SocketCallbacks = {};
  const listeners = new Set<EventHandlers>();
  return {
    calls,
    listeners,
    cb: () => callbacks,
    connect(token: string, cb: SocketCallbacks) {
      calls.push(`connect:${token}`);
      callbacks = cb;
      return {} as ReturnType<SocketService["connect"]>;
    },
    disconnect() {
      calls.push("disconnect");
    },
    listen(h: EventHandlers) {
      listeners.add(h);
      return () => void listeners.delete(h);
    },
    emit<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>) {
      for (const l of listeners) (l[event] as ((...a: typeof args) => void) | undefined)?.(...args);
    },
  };
}

function memoryStorage() {
  const map = new Map<string, string>();
  return { map, getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v), removeItem: (k: string) => void map.delete(k) };
}

function setup(init?: Parameters<typeof fakeServer>[0], storage = memoryStorage()) {
  const { server, fetch } = fakeServer(init);
  const sockets = fakeSockets();
  const store = makeStore({ baseUrl: "http://api.test", fetch, sockets, storage });
  return { server, sockets, storage, store };
}

const me = (store: AppStore) => api.endpoints.me.select()(store.getState()).data;
const pending = (store: AppStore) => api.endpoints.pending.select()(store.getState()).data;
const lastToast = (store: AppStore) => store.getState().toasts.at(-1)?.text;
const count = (calls: string[], path: string) => calls.filter((c) => c === `GET ${path}`).length;
const COUNT = "/api/notifications/artisan-requests/count";
const LIST = "/api/notifications/artisan-requests";

/** Logs in as the PDG and watches what the PDG's page watches. */
async function pdgSession(t: ReturnType<typeof setup>) {
  t.store.dispatch(loggedIn({ token: "t-pdg", user: pdg }));
  t.store.dispatch(api.endpoints.me.initiate());
  t.store.dispatch(api.endpoints.pending.initiate());
  await vi.waitFor(() => expect(pending(t.store)).toBeDefined());
}

describe("session, socket and resync", () => {
  it("a login connects the socket; every (re)connection refetches the user, count and list; logout forgets it all", async () => {
    const t = setup({ pending: [req(2), req(1)] });
    expect(t.sockets.calls).toEqual([]);
    await pdgSession(t);
    expect(t.sockets.calls).toEqual(["connect:t-pdg"]);
    expect(me(t.store)?.is_pdg).toBe(true);
    expect(pending(t.store)?.count).toBe(2);
    expect(pending(t.store)?.requests.map((r) => r.contact_id)).toEqual([2, 1]);
    expect(count(t.server.calls, "/api/users/me")).toBe(0); // the login's answer is the user

    for (const n of [1, 2]) {
      t.sockets.cb().onConnected?.({ reconnect: n > 1, recovered: false });
      await vi.waitFor(() => expect(count(t.server.calls, COUNT)).toBe(n + 1));
      expect(count(t.server.calls, LIST)).toBe(n + 1);
      expect(count(t.server.calls, "/api/users/me")).toBe(n);
    }

    t.sockets.cb().onStatus?.("reconnecting");
    expect(t.store.getState().connection.status).toBe("reconnecting");

    t.store.dispatch(loggedOut());
    expect(t.sockets.calls).toEqual(["connect:t-pdg", "disconnect"]);
    expect(t.store.getState().auth.token).toBeNull();
    expect(t.store.getState().connection.status).toBe("offline");
    expect(pending(t.store)).toBeUndefined();
    expect(me(t.store)).toBeUndefined();
    await vi.waitFor(() => expect(t.sockets.listeners.size).toBe(0)); // the cache entries stopped listening
  });

  it("keeps the session in sessionStorage: a reload restores it and connects; logout removes it", async () => {
    const storage = memoryStorage();
    const first = setup({}, storage);
    first.store.dispatch(loggedIn({ token: "t-app", user: applicant }));
    expect(JSON.parse(storage.map.get(SESSION_KEY)!).token).toBe("t-app");

    const reloaded = setup({}, storage);
    expect(reloaded.store.getState().auth.token).toBe("t-app");
    expect(me(reloaded.store)?.email).toBe(applicant.email);
    expect(reloaded.sockets.calls).toEqual(["connect:t-app"]);

    reloaded.store.dispatch(loggedOut());
    expect(storage.map.has(SESSION_KEY)).toBe(false);
    expect(setup({}, storage).store.getState().auth.token).toBeNull();
  });

  it("ignores a corrupt kept session", () => {
    for (const raw of ["{not json", JSON.stringify({ token: 1 }), JSON.stringify({ token: "t" })]) {
      const storage = memoryStorage();
      storage.map.set(SESSION_KEY, raw);
      const t = setup({}, storage);
      expect(t.store.getState().auth.token).toBeNull();
      expect(t.sockets.calls).toEqual([]);
    }
  });

  it("a refused socket token ends the session and says so", () => {
    const t = setup();
    t.store.dispatch(loggedIn({ token: "t-pdg", user: pdg }));
    t.sockets.cb().onUnauthorized?.();
    expect(t.store.getState().auth.token).toBeNull();
    expect(t.sockets.calls).toEqual(["connect:t-pdg", "disconnect"]);
    expect(lastToast(t.store)).toBe("Votre session a expiré. Reconnectez-vous.");
  });

  it("a token revoked meanwhile: the refetch after reconnecting gets 401 and ends the session", async () => {
    const t = setup();
    t.store.dispatch(loggedIn({ token: "t-app", user: applicant }));
    t.store.dispatch(api.endpoints.me.initiate());
    delete t.server.users["t-app"];
    t.sockets.cb().onConnected?.({ reconnect: true, recovered: false });
    await vi.waitFor(() => expect(t.store.getState().auth.token).toBeNull());
    expect(t.sockets.calls.at(-1)).toBe("disconnect");
    expect(lastToast(t.store)).toBe("Votre session a expiré. Reconnectez-vous.");
  });
});

describe("events", () => {
  it("new: listed and counted at once with a toast, then refetched; approved/rejected remove it", async () => {
    const t = setup();
    await pdgSession(t);
    const lists = count(t.server.calls, LIST);

    t.server.pending.push(req(3), req(4));
    t.sockets.emit("artisan-request:new", req(3));
    expect(pending(t.store)?.count).toBe(1);
    expect(pending(t.store)?.requests.map((r) => r.contact_id)).toEqual([3]);
    expect(lastToast(t.store)).toBe("Nouvelle demande artisan : P3 N3");
    await vi.waitFor(() => expect(count(t.server.calls, LIST)).toBe(lists + 1));
    await vi.waitFor(() => expect(pending(t.store)?.count).toBe(2)); // the refetch brought 4 too

    t.server.pending = [];
    t.sockets.emit("artisan-request:approved", { contact_id: 3, nom_complet: "P3 N3", email: "a3@example.com" });
    t.sockets.emit("artisan-request:rejected", { contact_id: 4 });
    expect(pending(t.store)?.count).toBe(0);
    expect(pending(t.store)?.requests).toEqual([]);
  });

  it("an answer overtaken by a decision does not bring the decided request back", async () => {
    const t = setup({ pending: [req(5), req(6)] });
    await pdgSession(t);
    t.server.hold.add(LIST);
    t.sockets.cb().onConnected?.({ reconnect: true, recovered: false });
    await vi.waitFor(() => expect(count(t.server.calls, LIST)).toBe(2));

    // While the list is in flight, request 5 is approved elsewhere.
    t.server.pending = [req(6)];
    t.sockets.emit("artisan-request:approved", { contact_id: 5, nom_complet: "", email: "" });
    expect(pending(t.store)?.count).toBe(1);
    t.server.release();
    await vi.waitFor(() => expect(t.store.getState().api.queries["pending(undefined)"]?.status).toBe("fulfilled"));
    await new Promise((r) => setTimeout(r, 20));
    expect(pending(t.store)?.requests.map((r) => r.contact_id)).toEqual([6]);
    expect(pending(t.store)?.count).toBe(1);
  });

  it("our own approval and its event count once; a 409 removes the request and shows the server's message", async () => {
    const t = setup({ pending: [req(1), req(2)] });
    await pdgSession(t);

    const ok = await t.store.dispatch(api.endpoints.decide.initiate({ id: 1, decision: "approve" }));
    expect(ok.error).toBeUndefined();
    expect(lastToast(t.store)).toBe("Demande approuvée.");
    t.sockets.emit("artisan-request:approved", { contact_id: 1, nom_complet: "", email: "" });
    expect(pending(t.store)?.count).toBe(1);

    t.server.decideStatus = 409;
    const lists = count(t.server.calls, LIST);
    const res = await t.store.dispatch(api.endpoints.decide.initiate({ id: 2, decision: "reject", reason: "  Dossier incomplet " }));
    expect(res.error).toMatchObject({ status: 409, code: "conflict" });
    expect(t.server.bodies.at(-1)).toEqual({ reason: "Dossier incomplet" });
    expect(pending(t.store)?.requests).toEqual([]);
    expect(pending(t.store)?.count).toBe(0);
    expect(lastToast(t.store)).toBe("Déjà traitée par un autre PDG.");
    await vi.waitFor(() => expect(count(t.server.calls, LIST)).toBe(lists + 1)); // and fetched again
  });

  it("an applicant sees their own decision arrive through their user room, and not someone else's", async () => {
    const t = setup();
    t.store.dispatch(loggedIn({ token: "t-app", user: applicant }));
    t.store.dispatch(api.endpoints.me.initiate());
    t.sockets.emit("artisan-request:approved", { contact_id: 12345, nom_complet: "", email: "" });
    expect(me(t.store)?.demande_artisan).toBe(true);
    expect(t.store.getState().toasts).toEqual([]);

    t.sockets.emit("artisan-request:rejected", { contact_id: applicant.id });
    expect(me(t.store)?.artisan_status).toBe("rejected");
    expect(lastToast(t.store)).toBe("Votre demande artisan a été refusée.");
    expect(JSON.parse(t.storage.map.get(SESSION_KEY)!).user.artisan_status).toBe("rejected"); // a reload shows it too

    // A refetch from a server without artisan_status keeps what the event said.
    t.server.users["t-app"] = { ...applicant, prenom: "Awa-Marie", demande_artisan: false };
    t.sockets.cb().onConnected?.({ reconnect: true, recovered: false });
    await vi.waitFor(() => expect(count(t.server.calls, "/api/users/me")).toBe(1));
    await vi.waitFor(() => expect(me(t.store)?.prenom).toBe("Awa-Marie"));
    expect(me(t.store)?.artisan_status).toBe("rejected");
    expect(count(t.server.calls, COUNT)).toBe(0);
  });
});
