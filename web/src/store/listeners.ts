import { createListenerMiddleware, isAnyOf, type ThunkDispatch, type UnknownAction } from "@reduxjs/toolkit";
import { api } from "../api/api";
import type { User } from "../api/client";
import type { SocketEvents, SocketService } from "../socket/socketService";
import {
  connectionChanged,
  loggedIn,
  loggedOut,
  ownRequestDecided,
  requestArrived,
  requestDecided,
  rightsChanged,
  sessionExpired,
  sessionRestored,
  socketConnected,
} from "./actions";
import { arrivalToastShown, GROUP_WINDOW_MS, toastShown } from "./toastsSlice";
import { decisionQueued, decisionSent, decisionUndone, decisionsFlushed } from "./decisionsSlice";
import { settledElsewhere, type DecisionInfo } from "./settledSlice";
import { cameBack, newSince, wentAway } from "./attentionSlice";
import { browserOnlineChanged } from "./connectionSlice";
import { conflictMessage, decisionInfo, findRequest } from "./decided";
import type { RootState } from "./index";

/** The store's extra argument: the REST base URL (and fetch), the tab's socket, where the session is kept. */
export interface Deps {
  baseUrl: string;
  fetch?: typeof fetch;
  sockets: Pick<SocketService, "connect" | "disconnect"> & SocketEvents;
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem">;
  /** How long Annuler is offered before a decision is sent (ms; default UNDO_MS). */
  undoMs?: number;
  /** Shows a desktop notification (the Notification API, when granted); none in tests unless given. */
  notify?: (title: string, body: string) => void;
  /** Whether the tab is hidden (document.hidden): desktop notifications only then. */
  isHidden?: () => boolean;
}

/** The undo window: a decision leaves this long after the click, unless Annuler was pressed. */
export const UNDO_MS = 5000;

/** Where the session (token + user) survives a reload of the tab. */
export const SESSION_KEY = "artisan-notify.session";

export function loadSession(storage: Pick<Storage, "getItem"> | undefined): { token: string; user: User } | null {
  try {
    const raw = storage?.getItem(SESSION_KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as { token?: unknown; user?: User };
    if (typeof parsed.token !== "string" || !parsed.user || typeof parsed.user.id !== "number") return null;
    return { token: parsed.token, user: parsed.user };
  } catch {
    return null;
  }
}

function saveSession(deps: Deps, session: { token: string; user: User } | null) {
  try {
    if (session) deps.storage?.setItem(SESSION_KEY, JSON.stringify(session));
    else deps.storage?.removeItem(SESSION_KEY);
  } catch {
    // storage full or disabled: the session just won't survive a reload
  }
}

// Declared apart: inline in startListening, TypeScript does not narrow the action through isAnyOf.
const sessionStarted = isAnyOf(loggedIn, sessionRestored);
const sessionEnded = isAnyOf(loggedOut, sessionExpired);
const userChanged = isAnyOf(api.endpoints.me.matchFulfilled, ownRequestDecided);
const signedInCallFailed = isAnyOf(api.endpoints.me.matchRejected, api.endpoints.pending.matchRejected, api.endpoints.decide.matchRejected);
const decided = isAnyOf(api.endpoints.decide.matchFulfilled);
const pendingFetched = isAnyOf(api.endpoints.pending.matchFulfilled);
const decisionFailed = isAnyOf(api.endpoints.decide.matchRejected);

const EXPIRED = "Votre session a expiré. Reconnectez-vous.";

/** The side effects of what happens in the store: session storage, the socket, toasts, refetches. */
export function createListeners(deps: Deps) {
  const listener = createListenerMiddleware({ extra: deps });
  const on = listener.startListening.withTypes<RootState, ThunkDispatch<RootState, Deps, UnknownAction>, Deps>();

  // A session starts (login, or a reload with a kept session): the user is known, the socket connects.
  on({
    matcher: sessionStarted,
    effect: ({ payload: { token, user } }, { dispatch }) => {
      saveSession(deps, { token, user });
      dispatch(api.util.upsertQueryEntries([{ endpointName: "me", arg: undefined, value: user }]));
      deps.sockets.connect(token, {
        onStatus: (s) => dispatch(connectionChanged(s)),
        onConnected: () => dispatch(socketConnected()),
        onUnauthorized: () => dispatch(sessionExpired()),
      });
    },
  });
  on({
    matcher: userChanged,
    effect: (_, { getState }) => {
      const token = getState().auth.token;
      const user = api.endpoints.me.select()(getState()).data;
      if (token && user) saveSession(deps, { token, user });
    },
  });
  on({
    matcher: sessionEnded,
    effect: (action, { dispatch }) => {
      saveSession(deps, null);
      deps.sockets.disconnect();
      dispatch(api.util.resetApiState());
      if (sessionExpired.match(action)) dispatch(toastShown("error", EXPIRED));
    },
  });

  // No connection state recovery on the server: after every (re)connection, fetch again.
  on({ actionCreator: socketConnected, effect: (_, { dispatch }) => void dispatch(api.util.invalidateTags(["Me", "Pending"])) });

  // A 401 on a signed-in call: the token was revoked or has expired.
  on({
    matcher: signedInCallFailed,
    effect: ({ payload }, { dispatch, getState }) => {
      if (payload?.status === 401 && getState().auth.token) dispatch(sessionExpired());
    },
  });

  // A burst of arrivals makes one toast; a hidden tab also gets a desktop notification (grouped the same way).
  let lastNotice = { at: 0, count: 0 };
  on({
    actionCreator: requestArrived,
    effect: ({ payload }, { dispatch, getState }) => {
      const now = Date.now();
      // away: what arrives is told once, by "N nouvelles demandes depuis votre absence" after the resync
      if (getState().attention.away !== null) return;
      dispatch(arrivalToastShown(payload.nom_complet, now));
      if (!deps.notify || !deps.isHidden?.()) return;
      lastNotice = now - lastNotice.at < GROUP_WINDOW_MS ? { at: now, count: lastNotice.count + 1 } : { at: now, count: 1 };
      deps.notify(
        lastNotice.count === 1 ? "Nouvelle demande artisan" : `${lastNotice.count} nouvelles demandes artisan`,
        lastNotice.count === 1 ? payload.nom_complet : `Dernière : ${payload.nom_complet}`,
      );
    },
  });
  on({
    actionCreator: ownRequestDecided,
    effect: ({ payload }, { dispatch }) =>
      void dispatch(
        payload === "approved"
          ? toastShown("success", "Votre demande artisan a été approuvée.")
          : toastShown("error", "Votre demande artisan a été refusée."),
      ),
  });

  // The undo window: the decision leaves when it ends (and once connected), unless Annuler came first.
  // pagehide sends what is still waiting with fetch keepalive (decisionsFlushed).
  on({
    actionCreator: decisionQueued,
    effect: async ({ payload: q }, { dispatch, take, condition, getState }) => {
      const stopped = await take(
        (a) => (decisionUndone.match(a) && a.payload === q.id) || decisionsFlushed.match(a) || sessionEnded(a),
        Math.max(0, q.dueAt - Date.now()),
      );
      if (stopped) return;
      if (getState().connection.status !== "connected") {
        await condition((_, s) => s.connection.status === "connected" || !s.decisions.queued[q.id]);
      }
      const still = getState().decisions.queued[q.id];
      if (!still || still.dueAt !== q.dueAt) return;
      dispatch(decisionSent(q.id));
      void dispatch(api.endpoints.decide.initiate({ id: q.id, decision: q.decision, reason: q.reason, name: q.name }));
    },
  });

  // Another PDG decided a request shown here: it stays in place, greyed, with who and when; a decision
  // this tab was holding in its undo window for it is dropped.
  on({
    actionCreator: requestDecided,
    effect: ({ payload: { status, event } }, { dispatch, getState }) => {
      const state = getState();
      const me = api.endpoints.me.select()(state).data;
      const mine = (event.decided_by ? event.decided_by.id === me?.id : false) || state.decisions.sent.includes(event.contact_id);
      if (mine) return;
      const request = findRequest(state, event.contact_id);
      if (!request) return;
      const info: DecisionInfo = decisionInfo(status, event);
      dispatch(settledElsewhere({ request, ...info }));
      const queued = state.decisions.queued[event.contact_id];
      if (queued) {
        dispatch(decisionUndone(event.contact_id));
        dispatch(toastShown("error", conflictMessage(request.nom_complet, info)));
      }
    },
  });

  on({
    matcher: decided,
    effect: ({ meta }, { dispatch }) => {
      const { decision, name } = meta.arg.originalArgs;
      const who = name ? ` de ${name}` : "";
      dispatch(toastShown("success", decision === "approve" ? `Demande${who} approuvée.` : `Demande${who} rejetée.`));
    },
  });
  on({
    matcher: decisionFailed,
    effect: ({ payload, error, meta }, { dispatch, getState }) => {
      if (payload?.status === 401) return;
      const { id, name } = meta.arg.originalArgs;
      if (payload?.status === 409 || payload?.status === 404) {
        const request = findRequest(getState(), id);
        const info = decisionInfo(undefined, (payload.details?.decision as object | undefined) ?? {});
        if (request && payload.status === 409) dispatch(settledElsewhere({ request, ...info }));
        dispatch(toastShown("error", payload.status === 409 ? conflictMessage(name ?? request?.nom_complet, info) : payload.message));
        return;
      }
      dispatch(toastShown("error", payload?.message ?? error.message ?? "Erreur du serveur."));
    },
  });

  // Away and back: what arrived meanwhile is counted and highlighted once the list is fetched again.
  on({
    actionCreator: connectionChanged,
    effect: ({ payload }, { dispatch, getState }) => {
      if (payload !== "reconnecting" && payload !== "offline") return;
      const data = api.endpoints.pending.select()(getState()).data;
      if (data) dispatch(wentAway(data.requests.map((r) => r.contact_id)));
    },
  });
  // The browser says it is offline (the socket may take a while to notice): away now; back online, fetch again.
  on({
    actionCreator: browserOnlineChanged,
    effect: ({ payload: online }, { dispatch, getState }) => {
      if (!getState().auth.token) return;
      if (online) {
        dispatch(api.util.invalidateTags(["Me", "Pending"]));
        return;
      }
      const data = api.endpoints.pending.select()(getState()).data;
      if (data) dispatch(wentAway(data.requests.map((r) => r.contact_id)));
    },
  });
  on({
    matcher: pendingFetched,
    effect: ({ payload }, { dispatch, getState }) => {
      const { away } = getState().attention;
      const { status, online } = getState().connection;
      if (away === null || status !== "connected" || !online) return;
      const fresh = newSince(away, payload.requests.map((r) => r.contact_id));
      dispatch(cameBack(fresh));
      if (fresh.length > 0) {
        dispatch(
          toastShown("info", fresh.length === 1 ? "1 nouvelle demande depuis votre absence" : `${fresh.length} nouvelles demandes depuis votre absence`),
        );
      }
    },
  });

  // Made or unmade PDG: everything is fetched again (the bell appears or goes).
  on({
    actionCreator: rightsChanged,
    effect: ({ payload }, { dispatch }) => {
      dispatch(api.util.invalidateTags(["Me", "Pending"]));
      if (payload.is_pdg === true) dispatch(toastShown("success", "Vous êtes maintenant PDG : les demandes artisan sont dans la cloche."));
      if (payload.is_pdg === false) dispatch(toastShown("info", "Vos droits de PDG ont été retirés."));
    },
  });

  return listener;
}
