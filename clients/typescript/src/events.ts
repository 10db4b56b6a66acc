import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "./gen/events.js";
import { readToken, type TokenSource } from "./rest.js";

/** A socket.io-client 4 socket typed by asyncapi.yaml's event map. */
export type EventSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** The server's events: "artisan-request:new" | "artisan-request:approved" | "artisan-request:rejected" | "user:rights-changed". */
export type EventName = keyof ServerToClientEvents;

/** The payload of one event. */
export type EventPayload<E extends EventName> = Parameters<ServerToClientEvents[E]>[0];

export type SocketIoOptions = Partial<ManagerOptions & SocketOptions>;

export interface EventsOptions extends SocketIoOptions {
  /** Sent in the handshake as `auth: {token}`; a function is read again at every (re)connection. */
  token: TokenSource;
}

/**
 * Opens (unless autoConnect is false) a typed Socket.IO connection to the server at `baseUrl`
 * (path /socket.io/), with the handshake auth `{token}`. Transports default to websocket, then
 * polling. A refused token gives connect_error with message "unauthorized".
 */
export function connectEvents(baseUrl: string, options: EventsOptions): EventSocket {
  const { token, ...rest } = options;
  return io(baseUrl, {
    transports: ["websocket", "polling"],
    ...rest,
    auth: (cb) => cb({ token: readToken(token) ?? "" }),
  }) as EventSocket;
}
