import { describe, expect, it } from "vitest";
import type { ArtisanRequest } from "../api/client";
import { makeStore, SESSION_KEY, loadSession } from "./index";
import reducer, {
  addRequest,
  initialNotificationsState,
  removeRequest,
  setCount,
  setRequests,
} from "./notificationsSlice";
import { applicantDecided, deriveApplicantStatus, loggedIn, loggedOut, userRefreshed } from "./authSlice";
import type { User } from "../api/client";

const req = (id: number, created_at = `2026-01-0${id}T10:00:00Z`): ArtisanRequest => ({
  contact_id: id,
  prenom: `P${id}`,
  nom: `N${id}`,
  nom_complet: `P${id} N${id}`,
  email: `a${id}@example.com`,
  type_compte: "Artisan/Promoteur",
  created_at,
});

const user = (over: Partial<User> = {}): User => ({
  id: 7,
  prenom: "Awa",
  nom: "Sow",
  email: "awa@example.com",
  type_compte: "Artisan/Promoteur",
  demande_artisan: true,
  is_pdg: false,
  ...over,
});

describe("notifications slice", () => {
  it("setCount and setRequests store the server's answers", () => {
    let s = reducer(initialNotificationsState, setCount(3));
    s = reducer(s, setRequests([req(3), req(2), req(1)]));
    expect(s.count).toBe(3);
    expect(s.loaded).toBe(true);
    expect(s.requests.map((r) => r.contact_id)).toEqual([3, 2, 1]);
  });

  it("setCount never goes below zero", () => {
    expect(reducer(initialNotificationsState, setCount(-2)).count).toBe(0);
  });

  it("addRequest lists newest first and counts a request once", () => {
    let s = reducer(initialNotificationsState, setRequests([req(1)]));
    s = reducer(s, setCount(1));
    s = reducer(s, addRequest(req(2)));
    s = reducer(s, addRequest(req(2)));
    expect(s.count).toBe(2);
    expect(s.requests.map((r) => r.contact_id)).toEqual([2, 1]);
  });

  it("orders ties on created_at by the higher id first", () => {
    const t = "2026-01-05T10:00:00Z";
    let s = reducer(initialNotificationsState, addRequest(req(4, t)));
    s = reducer(s, addRequest(req(9, t)));
    s = reducer(s, addRequest(req(6, t)));
    expect(s.requests.map((r) => r.contact_id)).toEqual([9, 6, 4]);
  });

  it("removeRequest removes and uncounts once (our click and the event may both arrive)", () => {
    let s = reducer(initialNotificationsState, setRequests([req(2), req(1)]));
    s = reducer(s, setCount(2));
    s = reducer(s, removeRequest(2));
    s = reducer(s, removeRequest(2));
    expect(s.count).toBe(1);
    expect(s.requests.map((r) => r.contact_id)).toEqual([1]);
  });

  it("removeRequest of a request beyond the listed page still uncounts it", () => {
    let s = reducer(initialNotificationsState, setRequests([req(2)]));
    s = reducer(s, setCount(60));
    s = reducer(s, removeRequest(99));
    expect(s.count).toBe(59);
    expect(s.requests).toHaveLength(1);
  });

  it("a decided request never comes back from a stale list or a late event", () => {
    let s = reducer(initialNotificationsState, removeRequest(5));
    s = reducer(s, setRequests([req(5), req(4)]));
    expect(s.requests.map((r) => r.contact_id)).toEqual([4]);
    const before = s.count;
    s = reducer(s, addRequest(req(5)));
    expect(s.count).toBe(before);
  });

  it("logout clears everything", () => {
    let s = reducer(initialNotificationsState, setRequests([req(1)]));
    s = reducer(s, setCount(1));
    s = reducer(s, loggedOut());
    expect(s).toEqual(initialNotificationsState);
  });
});

describe("auth slice and session storage", () => {
  function memoryStorage() {
    const m = new Map<string, string>();
    return {
      getItem: (k: string) => m.get(k) ?? null,
      setItem: (k: string, v: string) => void m.set(k, v),
      removeItem: (k: string) => void m.delete(k),
      map: m,
    };
  }

  it("keeps the token in Redux and sessionStorage, and forgets both on logout", () => {
    const storage = memoryStorage();
    const store = makeStore(storage);
    store.dispatch(loggedIn({ token: "tok", user: user() }));
    expect(store.getState().auth.token).toBe("tok");
    expect(JSON.parse(storage.map.get(SESSION_KEY)!).token).toBe("tok");

    const reloaded = makeStore(storage);
    expect(reloaded.getState().auth.token).toBe("tok");
    expect(reloaded.getState().auth.user?.email).toBe("awa@example.com");

    reloaded.dispatch(loggedOut());
    expect(reloaded.getState().auth.token).toBeNull();
    expect(storage.map.has(SESSION_KEY)).toBe(false);
  });

  it("ignores a corrupt stored session", () => {
    expect(loadSession({ getItem: () => "{not json" }).token).toBeNull();
    expect(loadSession({ getItem: () => JSON.stringify({ token: 1 }) }).token).toBeNull();
  });

  it("derives the applicant status from artisan_status, else from demande_artisan and events", () => {
    expect(deriveApplicantStatus(user({ artisan_status: "rejected", demande_artisan: false }), "none")).toBe("rejected");
    expect(deriveApplicantStatus(user(), "none")).toBe("pending");
    expect(deriveApplicantStatus(user({ type_compte: "Client", demande_artisan: false }), "none")).toBe("none");
    expect(deriveApplicantStatus(user({ demande_artisan: false }), "approved")).toBe("approved");
    expect(deriveApplicantStatus(user({ demande_artisan: false }), "pending")).toBe("decided");
  });

  it("an event decision survives a refresh from a server without artisan_status", () => {
    const store = makeStore();
    store.dispatch(loggedIn({ token: "t", user: user() }));
    expect(store.getState().auth.applicantStatus).toBe("pending");
    store.dispatch(applicantDecided("approved"));
    store.dispatch(userRefreshed(user({ demande_artisan: false })));
    expect(store.getState().auth.applicantStatus).toBe("approved");
  });
});
