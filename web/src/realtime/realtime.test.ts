import { describe, expect, it, vi } from "vitest";
import { ApiError, type Api, type ArtisanRequest, type User } from "../api/client";
import type { SocketCallbacks, SocketService } from "../socket/socketService";
import { makeStore } from "../store";
import { loggedIn, loggedOut } from "../store/authSlice";
import { createRealtime } from "./realtime";

const req = (id: number): ArtisanRequest => ({
  contact_id: id,
  prenom: `P${id}`,
  nom: `N${id}`,
  nom_complet: `P${id} N${id}`,
  email: `a${id}@example.com`,
  type_compte: "Artisan/Promoteur",
  created_at: `2026-01-${String(id).padStart(2, "0")}T10:00:00Z`,
});

const pdg: User = { id: 1, prenom: "Paul", nom: "Dg", email: "pdg@x.fr", type_compte: "Client", demande_artisan: false, is_pdg: true };
const applicant: User = { id: 9, prenom: "Awa", nom: "Sow", email: "awa@x.fr", type_compte: "Artisan/Promoteur", demande_artisan: true, is_pdg: false };

function fakeSockets() {
  const calls: string[] = [];
  let cb: SocketCallbacks = {};
  const sockets = {
    connect: vi.fn((token: string, callbacks: SocketCallbacks) => {
      calls.push(`connect:${token}`);
      cb = callbacks;
    }),
    disconnect: vi.fn(() => void calls.push("disconnect")),
  };
  return { sockets: sockets as unknown as SocketService, calls, cb: () => cb };
}

function fakeApi(over: Partial<Api> & { pending?: ArtisanRequest[]; user?: User } = {}): Api {
  const pending = over.pending ?? [];
  return {
    login: vi.fn(),
    register: vi.fn(),
    me: vi.fn(async () => over.user ?? pdg),
    countRequests: vi.fn(async () => pending.length),
    listRequests: vi.fn(async () => ({ requests: [...pending], count: pending.length })),
    approve: vi.fn(async (id: number) => ({ contact_id: id, nom_complet: "", email: "", status: "approved" as const })),
    reject: vi.fn(async (id: number) => ({ contact_id: id, status: "rejected" as const })),
    ...over,
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe("realtime", () => {
  it("connects when a token appears, resyncs on every connection, disconnects on logout", async () => {
    const store = makeStore();
    const f = fakeSockets();
    const api = fakeApi({ pending: [req(2), req(1)] });
    createRealtime(store, api, f.sockets).start();
    expect(f.calls).toEqual([]);

    store.dispatch(loggedIn({ token: "t1", user: pdg }));
    store.dispatch(loggedIn({ token: "t1", user: pdg })); // same token: no second socket
    expect(f.calls).toEqual(["connect:t1"]);

    f.cb().onConnected?.({ reconnect: false, recovered: false });
    await vi.waitFor(() => expect(store.getState().notifications.count).toBe(2));
    expect(store.getState().notifications.requests.map((r) => r.contact_id)).toEqual([2, 1]);

    f.cb().onConnected?.({ reconnect: true, recovered: false });
    await flush();
    await vi.waitFor(() => expect(api.countRequests).toHaveBeenCalledTimes(2));

    store.dispatch(loggedOut());
    expect(f.calls).toEqual(["connect:t1", "disconnect"]);
    expect(store.getState().notifications.count).toBe(0);
  });

  it("new: listed and counted at once, toast, then resynced; approved/rejected remove it", async () => {
    const store = makeStore();
    const f = fakeSockets();
    const pending: ArtisanRequest[] = [];
    const api = fakeApi({ pending });
    createRealtime(store, api, f.sockets).start();
    store.dispatch(loggedIn({ token: "t", user: pdg }));

    pending.push(req(3));
    f.cb().onNew?.(req(3));
    expect(store.getState().notifications.count).toBe(1);
    expect(store.getState().toasts.at(-1)?.text).toBe("Nouvelle demande artisan : P3 N3");
    await vi.waitFor(() => expect(api.listRequests).toHaveBeenCalled());

    pending.splice(0);
    f.cb().onApproved?.({ contact_id: 3, nom_complet: "P3 N3", email: "a3@example.com" });
    expect(store.getState().notifications.count).toBe(0);
    expect(store.getState().notifications.requests).toEqual([]);
  });

  it("drops a resync answer that an event overtook, and fetches again", async () => {
    const store = makeStore();
    const f = fakeSockets();
    let release!: () => void;
    let first = true;
    const server = [req(5)];
    const api = fakeApi({
      countRequests: vi.fn(async () => server.length),
      listRequests: vi.fn(async () => {
        const snapshot = [...server];
        if (first) {
          first = false;
          await new Promise<void>((r) => (release = r));
        }
        return { requests: snapshot, count: snapshot.length };
      }),
    });
    createRealtime(store, api, f.sockets).start();
    store.dispatch(loggedIn({ token: "t", user: pdg }));
    f.cb().onConnected?.({ reconnect: false, recovered: false });
    await vi.waitFor(() => expect(api.listRequests).toHaveBeenCalledTimes(1));

    // While the list is in flight, request 5 is approved elsewhere.
    server.splice(0);
    f.cb().onApproved?.({ contact_id: 5, nom_complet: "", email: "" });
    release();
    await vi.waitFor(() => expect(api.listRequests).toHaveBeenCalledTimes(2));
    await flush();
    expect(store.getState().notifications.requests).toEqual([]);
    expect(store.getState().notifications.count).toBe(0);
  });

  it("our own approval and its event count once; a 409 removes the request and says so", async () => {
    const store = makeStore();
    const f = fakeSockets();
    const api = fakeApi({
      pending: [req(1), req(2)],
      reject: vi.fn(async () => {
        throw new ApiError(409, "conflict", "Cette demande a déjà été traitée.");
      }),
    });
    const rt = createRealtime(store, api, f.sockets);
    rt.start();
    store.dispatch(loggedIn({ token: "t", user: pdg }));
    await rt.resync();
    expect(store.getState().notifications.count).toBe(2);

    expect(await rt.decide(1, "approve")).toBe(true);
    f.cb().onApproved?.({ contact_id: 1, nom_complet: "", email: "" });
    expect(store.getState().notifications.count).toBe(1);

    expect(await rt.decide(2, "reject", "  Dossier incomplet ")).toBe(false);
    expect(api.reject).toHaveBeenCalledWith(2, "Dossier incomplet");
    expect(store.getState().notifications.requests).toEqual([]);
    expect(store.getState().toasts.at(-1)?.text).toBe("Cette demande a déjà été traitée.");
  });

  it("an applicant sees their own decision arrive through their user room, and fetches no PDG data", async () => {
    const store = makeStore();
    const f = fakeSockets();
    const api = fakeApi({ user: applicant });
    createRealtime(store, api, f.sockets).start();
    store.dispatch(loggedIn({ token: "t", user: applicant }));
    f.cb().onConnected?.({ reconnect: false, recovered: false });
    await vi.waitFor(() => expect(api.me).toHaveBeenCalled());
    await flush();
    expect(api.countRequests).not.toHaveBeenCalled();
    expect(store.getState().auth.applicantStatus).toBe("pending");

    f.cb().onRejected?.({ contact_id: 9 });
    expect(store.getState().auth.applicantStatus).toBe("rejected");
    expect(store.getState().toasts.at(-1)?.text).toBe("Votre demande artisan a été refusée.");
  });

  it("a refused socket token logs out", () => {
    const store = makeStore();
    const f = fakeSockets();
    createRealtime(store, fakeApi(), f.sockets).start();
    store.dispatch(loggedIn({ token: "t", user: pdg }));
    f.cb().onUnauthorized?.();
    expect(store.getState().auth.token).toBeNull();
    expect(f.calls).toEqual(["connect:t", "disconnect"]);
  });
});
