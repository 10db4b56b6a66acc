import { afterEach, describe, expect, it, vi } from "vitest";
import { api } from "../api/api";
import { pdg, req, decidedBy } from "../test/fixtures";
import { setup } from "../test/fakes";
import { connectionChanged, loggedIn } from "./actions";
import { decisionQueued, decisionUndone, flushQueued, decisionRequest } from "./decisionsSlice";
import { arrivalToastShown, GROUP_WINDOW_MS } from "./toastsSlice";
import { rowsWithSettled } from "./settledSlice";
import { conflictMessage, decidedLine } from "./decided";
import { newSince } from "./attentionSlice";
import { faviconSvg, titleWithCount } from "../attention/attention";
import type { AppStore } from "./index";

const DECIDE = /^POST \/api\/notifications\/artisan-requests\/\d+\/(approve|reject)$/;
const posts = (calls: string[]) => calls.filter((c) => DECIDE.test(c));
const pending = (store: AppStore) => api.endpoints.pending.select()(store.getState()).data;

async function pdgSession(t: ReturnType<typeof setup>) {
  t.store.dispatch(loggedIn({ token: "t-pdg", user: pdg }));
  t.store.dispatch(connectionChanged("connected"));
  t.store.dispatch(api.endpoints.me.initiate());
  t.store.dispatch(api.endpoints.pending.initiate());
  await vi.waitFor(() => expect(pending(t.store)).toBeDefined());
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the undo window", () => {
  it("a decision is sent only when its window ends; Annuler within it sends nothing", async () => {
    const t = setup({ pending: [req(1), req(2)] });
    await pdgSession(t);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const now = Date.now();
    t.store.dispatch(decisionQueued({ id: 1, decision: "approve", name: "P1 N1", dueAt: now + 5000 }));
    t.store.dispatch(decisionQueued({ id: 2, decision: "reject", reason: " Dossier incomplet ", name: "P2 N2", dueAt: now + 5000 }));
    await vi.advanceTimersByTimeAsync(4900);
    expect(posts(t.server.calls)).toEqual([]);
    t.store.dispatch(decisionUndone(2));
    await vi.advanceTimersByTimeAsync(200);
    vi.useRealTimers();
    await vi.waitFor(() => expect(posts(t.server.calls)).toEqual(["POST /api/notifications/artisan-requests/1/approve"]));
    expect(t.store.getState().decisions.queued).toEqual({});
    expect(t.store.getState().decisions.sent).toEqual([1]);
    await vi.waitFor(() => expect(pending(t.store)?.requests.map((r) => r.contact_id)).toEqual([2]));
    expect(t.store.getState().toasts.at(-1)?.text).toBe("Demande de P1 N1 approuvée.");
  });

  it("offline when the window ends: the decision waits for the connection, then leaves", async () => {
    const t = setup({ pending: [req(1)] });
    await pdgSession(t);
    t.store.dispatch(connectionChanged("reconnecting"));
    t.store.dispatch(decisionQueued({ id: 1, decision: "approve", name: "P1 N1", dueAt: Date.now() + 10 }));
    await new Promise((r) => setTimeout(r, 60));
    expect(posts(t.server.calls)).toEqual([]);
    t.store.dispatch(connectionChanged("connected"));
    await vi.waitFor(() => expect(posts(t.server.calls)).toHaveLength(1));
  });

  it("pagehide: what waits leaves at once with fetch keepalive, with the token and the trimmed reason", () => {
    const sent: { url: string; init: RequestInit }[] = [];
    const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
      sent.push({ url: String(url), init: init! });
      return new Response(null, { status: 200 });
    }) as unknown as typeof globalThis.fetch;
    const n = flushQueued(
      {
        1: { id: 1, decision: "approve", name: "A", dueAt: 0 },
        2: { id: 2, decision: "reject", reason: "  trop tard ", name: "B", dueAt: 0 },
      },
      { baseUrl: "http://api.test", token: "tok", fetch },
    );
    expect(n).toBe(2);
    expect(sent.map((s) => [s.url, s.init.keepalive, s.init.method, (s.init.headers as Record<string, string>).Authorization, s.init.body])).toEqual([
      ["http://api.test/api/notifications/artisan-requests/1/approve", true, "POST", "Bearer tok", undefined],
      ["http://api.test/api/notifications/artisan-requests/2/reject", true, "POST", "Bearer tok", JSON.stringify({ reason: "trop tard" })],
    ]);
    expect(flushQueued({ 1: { id: 1, decision: "approve", name: "A", dueAt: 0 } }, { baseUrl: "", token: null, fetch })).toBe(0);
    expect(decisionRequest({ id: 3, decision: "reject", reason: "   " }).body).toBe("{}");
  });
});

describe("decided by another PDG", () => {
  it("the request stays on screen, greyed, with who decided; the count drops; a decision held in the undo window is dropped", async () => {
    const t = setup({ pending: [req(3), req(2), req(1)] });
    await pdgSession(t);
    t.store.dispatch(decisionQueued({ id: 2, decision: "approve", name: "P2 N2", dueAt: Date.now() + 60_000 }));
    t.sockets.emit("artisan-request:approved", { ...decidedBy, contact_id: 2, nom_complet: "P2 N2", email: "a2@example.com" });
    expect(pending(t.store)?.count).toBe(2);
    const settled = t.store.getState().settled[2];
    expect(settled).toMatchObject({ status: "approved", by: { id: 77, name: "Paul Martin" }, at: decidedBy.decided_at });
    expect(t.store.getState().decisions.queued[2]).toBeUndefined();
    expect(t.store.getState().toasts.at(-1)?.text).toMatch(/^La demande de P2 N2 a déjà été approuvée par Paul Martin/);
    const rows = rowsWithSettled(pending(t.store)!.requests, t.store.getState().settled);
    expect(rows.map((r) => [r.request.contact_id, !!r.settled])).toEqual([
      [3, false],
      [2, true],
      [1, false],
    ]);
  });

  it("our own decision's event is not shown as someone else's", async () => {
    const t = setup({ pending: [req(1)] });
    await pdgSession(t);
    t.sockets.emit("artisan-request:rejected", { decided_by: { id: pdg.id, name: "Paul Dg" }, decided_at: decidedBy.decided_at, contact_id: 1 });
    expect(t.store.getState().settled).toEqual({});
    expect(pending(t.store)?.count).toBe(0);
  });
});

describe("attention", () => {
  it("arrivals close together make one toast that counts them; a later one starts a new toast", () => {
    const t = setup();
    t.store.dispatch(arrivalToastShown("Amina Diallo", 1000));
    t.store.dispatch(arrivalToastShown("Jean Dupont", 2000));
    t.store.dispatch(arrivalToastShown("Zoé Lefèvre", 2000 + GROUP_WINDOW_MS - 1));
    expect(t.store.getState().toasts.map((x) => x.text)).toEqual(["3 nouvelles demandes artisan"]);
    t.store.dispatch(arrivalToastShown("Yanis Martin", 2000 + 2 * GROUP_WINDOW_MS));
    expect(t.store.getState().toasts.map((x) => x.text)).toEqual(["3 nouvelles demandes artisan", "Nouvelle demande artisan : Yanis Martin"]);
  });

  it("a hidden tab gets desktop notifications, grouped during a burst; a visible one gets none", async () => {
    const shown: [string, string][] = [];
    let hidden = false;
    const t = setup({}, undefined, { notify: (title, body) => void shown.push([title, body]), isHidden: () => hidden });
    await pdgSession(t);
    t.sockets.emit("artisan-request:new", req(5));
    expect(shown).toEqual([]);
    hidden = true;
    t.sockets.emit("artisan-request:new", req(6));
    t.sockets.emit("artisan-request:new", req(7));
    expect(shown).toEqual([
      ["Nouvelle demande artisan", "P6 N6"],
      ["2 nouvelles demandes artisan", "Dernière : P7 N7"],
    ]);
  });

  it("back after a disconnection: what arrived meanwhile is counted and highlighted", async () => {
    const t = setup({ pending: [req(1)] });
    await pdgSession(t);
    t.store.dispatch(connectionChanged("reconnecting"));
    t.server.pending = [req(3), req(2), req(1)];
    // delivered late, while still away: told once, by the resync's toast
    t.sockets.emit("artisan-request:new", req(3));
    expect(t.store.getState().toasts.map((x) => x.text)).toEqual([]);
    t.store.dispatch(connectionChanged("connected"));
    t.sockets.cb().onConnected?.({ reconnect: true, recovered: false });
    await vi.waitFor(() => expect(t.store.getState().attention.fresh).toEqual([3, 2]));
    expect(t.store.getState().toasts.map((x) => x.text)).toEqual(["2 nouvelles demandes depuis votre absence"]);
    expect(newSince([1, 2], [3, 2, 1])).toEqual([3]);
  });

  it("the title and favicon tell the count", () => {
    expect(titleWithCount(3)).toBe("(3) Artisan Notify");
    expect(titleWithCount(0)).toBe("Artisan Notify");
    expect(titleWithCount(120)).toBe("(99+) Artisan Notify");
    expect(decodeURIComponent(faviconSvg(true))).toContain("<circle");
    expect(decodeURIComponent(faviconSvg(false))).not.toContain("<circle");
  });

  it("the lines that name who decided and when", () => {
    const today = new Date("2026-01-20T15:00:00Z");
    expect(decidedLine({ status: "approved", by: { id: 1, name: "Paul Martin" }, at: "2026-01-20T13:02:00Z" }, today)).toMatch(
      /^Approuvée par Paul Martin à \d\d:02$/,
    );
    expect(decidedLine({ status: "rejected" }, today)).toBe("Refusée par un autre PDG");
    expect(conflictMessage("Amina Diallo", { status: "rejected", by: { id: 1, name: "Paul Martin" }, at: "2026-01-18T13:02:00Z" }, today)).toMatch(
      /^La demande de Amina Diallo a déjà été refusée par Paul Martin le 18\/01\/2026 à \d\d:02\.$/,
    );
  });
});

describe("live rights", () => {
  it("revoked: the user is no longer a PDG at once, a toast says so, the user is fetched again", async () => {
    const t = setup({ pending: [req(1)] });
    await pdgSession(t);
    const before = t.server.calls.filter((c) => c === "GET /api/users/me").length;
    t.sockets.emit("user:rights-changed", { contact_id: pdg.id, is_pdg: false });
    expect(api.endpoints.me.select()(t.store.getState()).data?.is_pdg).toBe(false);
    expect(t.store.getState().toasts.at(-1)?.text).toBe("Vos droits de PDG ont été retirés.");
    await vi.waitFor(() => expect(t.server.calls.filter((c) => c === "GET /api/users/me").length).toBe(before + 1));
  });
});
