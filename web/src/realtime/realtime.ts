import { ApiError, type Api } from "../api/client";
import type { AppStore } from "../store";
import { applicantDecided, loggedOut, userRefreshed } from "../store/authSlice";
import { connectionStatusChanged } from "../store/connectionSlice";
import { addRequest, removeRequest, setCount, setRequests } from "../store/notificationsSlice";
import { toastShown } from "../store/toastsSlice";
import type { SocketService } from "../socket/socketService";

export interface Realtime {
  /** Follows the session: connects when a token appears, disconnects on logout. Returns a stop function. */
  start(): () => void;
  /** Fetches count and list again (PDG), and the user (everyone). */
  resync(): Promise<void>;
  /** Approves or rejects from the UI; resolves true on success. */
  decide(id: number, decision: "approve" | "reject", reason?: string): Promise<boolean>;
}

const MAX_RESYNC_ROUNDS = 5;

/**
 * Glue between the store, the REST API and the tab's socket. Events update the store at once; a
 * resync (count + list) runs on every (re)connection and after each new request, and its answer is
 * dropped and fetched again if an event arrived while it was in flight, so a stale answer never puts
 * back a request that was just decided.
 */
export function createRealtime(store: AppStore, api: Api, sockets: SocketService): Realtime {
  let epoch = 0; // bumped by every event or local decision
  let syncing: Promise<void> | null = null;
  let syncAgain = false;

  const isPdg = () => store.getState().auth.user?.is_pdg === true;
  const myId = () => store.getState().auth.user?.id;

  async function syncOnce(): Promise<void> {
    const token = store.getState().auth.token;
    if (!token) return;
    try {
      const user = await api.me();
      if (store.getState().auth.token !== token) return;
      store.dispatch(userRefreshed(user));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        store.dispatch(loggedOut());
        store.dispatch(toastShown("error", "Votre session a expiré. Reconnectez-vous."));
        return;
      }
    }
    if (!isPdg()) return;
    for (let round = 1; round <= MAX_RESYNC_ROUNDS; round++) {
      const start = epoch;
      try {
        const [count, list] = await Promise.all([api.countRequests(), api.listRequests()]);
        if (store.getState().auth.token !== token) return;
        if (start !== epoch && round < MAX_RESYNC_ROUNDS) continue;
        store.dispatch(setRequests(list.requests));
        store.dispatch(setCount(count));
        return;
      } catch {
        return; // offline or server error: the next (re)connection resyncs
      }
    }
  }

  function resync(): Promise<void> {
    if (syncing) {
      syncAgain = true;
      return syncing;
    }
    syncing = (async () => {
      try {
        do {
          syncAgain = false;
          await syncOnce();
        } while (syncAgain);
      } finally {
        syncing = null;
      }
    })();
    return syncing;
  }

  function applicantEvent(contactId: number, decision: "approved" | "rejected") {
    if (contactId !== myId()) return;
    store.dispatch(applicantDecided(decision));
    store.dispatch(
      toastShown(
        decision === "approved" ? "success" : "error",
        decision === "approved" ? "Votre demande artisan a été approuvée." : "Votre demande artisan a été refusée.",
      ),
    );
  }

  function connectFor(token: string) {
    sockets.connect(token, {
      onStatus: (s) => store.dispatch(connectionStatusChanged(s)),
      onConnected: () => void resync(),
      onNew: (p) => {
        epoch++;
        store.dispatch(addRequest(p));
        store.dispatch(toastShown("info", `Nouvelle demande artisan : ${p.nom_complet}`));
        void resync();
      },
      onApproved: (p) => {
        epoch++;
        if (isPdg()) store.dispatch(removeRequest(p.contact_id));
        applicantEvent(p.contact_id, "approved");
      },
      onRejected: (p) => {
        epoch++;
        if (isPdg()) store.dispatch(removeRequest(p.contact_id));
        applicantEvent(p.contact_id, "rejected");
      },
      onUnauthorized: () => {
        store.dispatch(loggedOut());
        store.dispatch(toastShown("error", "Votre session a expiré. Reconnectez-vous."));
      },
    });
  }

  async function decide(id: number, decision: "approve" | "reject", reason?: string): Promise<boolean> {
    try {
      if (decision === "approve") await api.approve(id);
      else await api.reject(id, reason?.trim() || undefined);
      epoch++;
      store.dispatch(removeRequest(id));
      store.dispatch(toastShown("success", decision === "approve" ? "Demande approuvée." : "Demande rejetée."));
      return true;
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, "unknown", String(err));
      if (e.status === 404 || e.status === 409) {
        // Someone else decided it first (or it is gone): it is no longer pending.
        epoch++;
        store.dispatch(removeRequest(id));
        void resync();
      }
      if (e.status === 401) store.dispatch(loggedOut());
      store.dispatch(toastShown("error", e.message));
      return false;
    }
  }

  function start(): () => void {
    let token: string | null = null;
    const follow = () => {
      const next = store.getState().auth.token;
      if (next === token) return;
      token = next;
      if (next) connectFor(next);
      else sockets.disconnect();
    };
    follow();
    const unsubscribe = store.subscribe(follow);
    return () => {
      unsubscribe();
      sockets.disconnect();
    };
  }

  return { start, resync, decide };
}
