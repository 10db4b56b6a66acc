import { createAction } from "@reduxjs/toolkit";
import type { AuthResponse, User } from "../api/client";
import type { ArtisanRequestNew } from "../socket/events";
import type { ConnectionStatus } from "../socket/socketService";

// What happened, as the rest of the app reacts to it (reducers, the listener middleware).

/** The user logged in or registered (the API's answer). */
export const loggedIn = createAction<AuthResponse>("session/loggedIn");
/** A session kept in sessionStorage was found when the tab (re)loaded. */
export const sessionRestored = createAction<{ token: string; user: User }>("session/restored");
/** The user logged out (after the API revoked the token, or offline). */
export const loggedOut = createAction("session/loggedOut");
/** The server refused the token (401 from the API, or the socket's handshake). */
export const sessionExpired = createAction("session/expired");

/** The tab's socket changed state (connecting, connected, reconnecting, offline). */
export const connectionChanged = createAction<ConnectionStatus>("socket/connectionChanged");
/** The socket (re)connected: the server keeps no missed events, so what it may have missed is fetched again. */
export const socketConnected = createAction("socket/connected");

/** An artisan request arrived (PDG room). */
export const requestArrived = createAction<ArtisanRequestNew>("requests/arrived");
/** The user's own artisan request was decided (their user room). */
export const ownRequestDecided = createAction<"approved" | "rejected">("requests/ownDecided");

/** What an approved/rejected event says (who decided, when and why are optional: older servers omit them). */
export interface DecidedEvent {
  contact_id: number;
  nom_complet?: string;
  email?: string;
  decided_by?: { id: number; name: string } | null;
  decided_at?: string | null;
  reason?: string | null;
}

/** A request was decided (PDG room): by this tab, or by another PDG. */
export const requestDecided = createAction<{ status: "approved" | "rejected"; event: DecidedEvent }>("requests/decided");
/** The user's rights changed (made or unmade PDG): the bell appears or goes, everything is fetched again. */
export const rightsChanged = createAction<{ is_pdg?: boolean }>("session/rightsChanged");
