import { describe, expect, it, vi } from "vitest";
import { api } from "../api/api";
import { decidedBy, pdg, req, user } from "../test/fixtures";
import { loggedIn, loggedOut } from "./actions";
import { SESSION_KEY, type AppStore } from "./index";
import { memoryStorage, setup } from "../test/fakes";

const applicant = user();

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
    t.sockets.emit("artisan-request:approved", { ...decidedBy, contact_id: 3, nom_complet: "P3 N3", email: "a3@example.com" });
    t.sockets.emit("artisan-request:rejected", { ...decidedBy, contact_id: 4 });
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
    t.sockets.emit("artisan-request:approved", { ...decidedBy, contact_id: 5, nom_complet: "", email: "" });
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
    t.sockets.emit("artisan-request:approved", { ...decidedBy, contact_id: 1, nom_complet: "", email: "" });
    expect(pending(t.store)?.count).toBe(1);

    t.server.decideStatus = 409;
    const lists = count(t.server.calls, LIST);
    const res = await t.store.dispatch(api.endpoints.decide.initiate({ id: 2, decision: "reject", reason: "  Dossier incomplet " }));
    expect(res.error).toMatchObject({ status: 409, code: "conflict" });
    expect(t.server.bodies.at(-1)).toEqual({ reason: "Dossier incomplet" });
    expect(pending(t.store)?.requests).toEqual([]);
    expect(pending(t.store)?.count).toBe(0);
    // the toast names the request and who decided it (the error's decision)
    expect(lastToast(t.store)).toMatch(/^La demande de P2 N2 a déjà été approuvée par Paul Martin (à|le) /);
    await vi.waitFor(() => expect(count(t.server.calls, LIST)).toBe(lists + 1)); // and fetched again
  });

  it("an applicant sees their own decision arrive through their user room, and not someone else's", async () => {
    const t = setup();
    t.store.dispatch(loggedIn({ token: "t-app", user: applicant }));
    t.store.dispatch(api.endpoints.me.initiate());
    t.sockets.emit("artisan-request:approved", { ...decidedBy, contact_id: 12345, nom_complet: "", email: "" });
    expect(me(t.store)?.demande_artisan).toBe(true);
    expect(t.store.getState().toasts).toEqual([]);

    t.sockets.emit("artisan-request:rejected", { ...decidedBy, contact_id: applicant.id });
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
