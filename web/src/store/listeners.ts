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
  sessionExpired,
  sessionRestored,
  socketConnected,
} from "./actions";
import { toastShown } from "./toastsSlice";
import type { RootState } from "./index";

/** The store's extra argument: the REST base URL (and fetch), the tab's socket, where the session is kept. */
export interface Deps {
  baseUrl: string;
  fetch?: typeof fetch;
  sockets: Pick<SocketService, "connect" | "disconnect"> & SocketEvents;
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem">;
}

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

  on({
    actionCreator: requestArrived,
    effect: ({ payload }, { dispatch }) => void dispatch(toastShown("info", `Nouvelle demande artisan : ${payload.nom_complet}`)),
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
  on({
    matcher: decided,
    effect: ({ meta }, { dispatch }) =>
      void dispatch(toastShown("success", meta.arg.originalArgs.decision === "approve" ? "Demande approuvée." : "Demande rejetée.")),
  });
  on({
    matcher: decisionFailed,
    effect: ({ payload, error }, { dispatch }) => {
      if (payload?.status !== 401) dispatch(toastShown("error", payload?.message ?? error.message ?? "Erreur du serveur."));
    },
  });

  return listener;
}
