import type { ServerToClientEvents } from "./gen/events.js";
import { connectEvents, type EventName, type EventSocket, type SocketIoOptions } from "./events.js";
import { syncPendingRequests, type PendingSync, type PendingSyncOptions } from "./pending.js";
import { createRestClient, type RestClient, type TokenSource } from "./rest.js";

export interface ClientOptions {
  /** The server, e.g. "http://localhost:3001": REST under /api/..., Socket.IO under /socket.io/. */
  baseUrl: string;
  /** The session's token (login / register answer): REST Authorization and the socket's handshake auth. */
  token?: TokenSource;
  /** A fetch implementation for REST (default: the global fetch). */
  fetch?: typeof fetch;
  /** socket.io-client options (transports, reconnection backoff, ...); `auth` is set from `token`. */
  socket?: SocketIoOptions;
}

/**
 * REST and events together. The socket is created at once but opened by connect() only (socket.io
 * reconnects by itself afterwards); `on` subscribes to the contract's events with typed payloads.
 */
export interface ArtisanNotifyClient extends RestClient {
  /** The typed socket.io-client socket (for "connect", "disconnect", "connect_error", ...). */
  readonly socket: EventSocket;
  on<E extends EventName>(event: E, listener: ServerToClientEvents[E]): ArtisanNotifyClient;
  off<E extends EventName>(event: E, listener?: ServerToClientEvents[E]): ArtisanNotifyClient;
  /** Resolves with the next event `event` (rejects after timeoutMs when given). */
  once<E extends EventName>(event: E, timeoutMs?: number): Promise<Parameters<ServerToClientEvents[E]>[0]>;
  /** Opens the socket (no-op when open); resolves once connected, rejects on connect_error "unauthorized". */
  connect(): Promise<void>;
  /** Closes the socket; no reconnection follows. */
  close(): void;
  /** Replaces the token (e.g. after login): used from the next request and the next (re)connection. */
  setToken(token: TokenSource): void;
  /** A pending-requests store kept in step by the events and a refetch on every (re)connection (PDG). */
  syncPending(options?: PendingSyncOptions): PendingSync;
}

export function createClient(options: ClientOptions): ArtisanNotifyClient {
  let token: TokenSource = options.token;
  const read = () => (typeof token === "function" ? token() : token);
  const rest = createRestClient({ baseUrl: options.baseUrl, token: read, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const socket = connectEvents(options.baseUrl, { autoConnect: false, ...options.socket, token: read });
  const on = socket.on.bind(socket) as (event: string, listener: (...args: never[]) => void) => unknown;
  const off = socket.off.bind(socket) as (event: string, listener?: (...args: never[]) => void) => unknown;
  const client: ArtisanNotifyClient = {
    ...rest,
    socket,
    on(event, listener) {
      on(event, listener);
      return client;
    },
    off(event, listener) {
      off(event, listener);
      return client;
    },
    once(event, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
          off(event, handler);
          reject(new Error(`no ${event} within ${timeoutMs} ms`));
        }, timeoutMs);
        const handler = (payload: never) => {
          clearTimeout(timer);
          off(event, handler);
          resolve(payload);
        };
        on(event, handler);
      });
    },
    connect() {
      if (socket.connected) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const done = () => {
          socket.off("connect", ok);
          socket.off("connect_error", failed);
        };
        const ok = () => {
          done();
          resolve();
        };
        const failed = (err: Error) => {
          if (socket.active) return; // socket.io retries by itself
          done();
          reject(err);
        };
        socket.on("connect", ok);
        socket.on("connect_error", failed);
        socket.connect();
      });
    },
    close() {
      socket.disconnect();
    },
    setToken(t) {
      token = t;
    },
    syncPending: (o) => syncPendingRequests(client, o),
  };
  return client;
}
