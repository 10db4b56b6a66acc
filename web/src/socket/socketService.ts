import { io as defaultIo, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "./events";

export type AppSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * connecting: first handshake in progress; connected; reconnecting: lost, retrying with backoff;
 * offline: not connected and either not trying (logged out, token refused) or after many failed retries
 * (it still retries in the background).
 */
export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "offline";

export interface SocketCallbacks {
  onStatus?(status: ConnectionStatus): void;
  /** Every successful (re)connection: the caller resyncs what it may have missed. */
  onConnected?(info: { reconnect: boolean; recovered: boolean }): void;
  /** The server refused the token (connect_error "unauthorized"); no retry follows. */
  onUnauthorized?(): void;
}

/** Handlers for some of the server's events. */
export type EventHandlers = Partial<ServerToClientEvents>;

/** Subscribing to the server's events, whichever socket is current. */
export interface SocketEvents {
  /** Delivers the events to `handlers` until the returned function is called; survives reconnections and a new token. */
  listen(handlers: EventHandlers): () => void;
}

export interface SocketServiceOptions {
  url: string;
  /** socket.io-client's io(), replaceable in tests. */
  io?: (url: string, opts: Partial<ManagerOptions & SocketOptions>) => AppSocket;
  /** Backoff: first delay, cap, jitter (socket.io's exponential backoff). */
  reconnectionDelay?: number;
  reconnectionDelayMax?: number;
  randomizationFactor?: number;
  /** Failed reconnection attempts after which the status reads "offline" (retries go on). */
  offlineAfterAttempts?: number;
}

/**
 * Owns the tab's one Socket.IO connection. connect() with the token already in use returns the same
 * socket, so re-renders and repeated calls never open a second one; a new token replaces it.
 */
export class SocketService implements SocketEvents {
  private socket: AppSocket | null = null;
  private token: string | null = null;
  private callbacks: SocketCallbacks = {};
  private readonly listeners = new Set<EventHandlers>();
  private currentStatus: ConnectionStatus = "offline";
  private everConnected = false;
  private failedAttempts = 0;
  private manualRetry: ReturnType<typeof setTimeout> | null = null;
  private readonly opts: Required<Omit<SocketServiceOptions, "io">> & Pick<SocketServiceOptions, "io">;

  constructor(opts: SocketServiceOptions) {
    this.opts = {
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
      offlineAfterAttempts: 6,
      ...opts,
    };
  }

  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  /** The live socket, or null when disconnected by disconnect(). */
  get current(): AppSocket | null {
    return this.socket;
  }

  connect(token: string, callbacks: SocketCallbacks): AppSocket {
    this.callbacks = callbacks;
    if (this.socket && this.token === token) return this.socket;
    this.disconnect();

    const io = this.opts.io ?? (defaultIo as unknown as NonNullable<SocketServiceOptions["io"]>);
    const socket = io(this.opts.url, {
      auth: { token },
      transports: ["websocket", "polling"],
      reconnection: true,
      reconnectionAttempts: Infinity,
      reconnectionDelay: this.opts.reconnectionDelay,
      reconnectionDelayMax: this.opts.reconnectionDelayMax,
      randomizationFactor: this.opts.randomizationFactor,
      forceNew: true,
    });
    this.socket = socket;
    this.token = token;
    this.everConnected = false;
    this.failedAttempts = 0;
    this.setStatus("connecting");

    socket.on("connect", () => {
      const reconnect = this.everConnected;
      this.everConnected = true;
      this.failedAttempts = 0;
      this.setStatus("connected");
      this.callbacks.onConnected?.({ reconnect, recovered: socket.recovered === true });
    });
    socket.on("disconnect", (reason) => {
      if (this.socket !== socket) return;
      if (reason === "io client disconnect") {
        this.setStatus("offline");
        return;
      }
      this.setStatus("reconnecting");
      if (reason === "io server disconnect") {
        // The server closed this socket on purpose (e.g. while shutting down): socket.io does not retry
        // by itself then, so retry once after the first backoff delay (a refused token stops there).
        this.scheduleManualRetry(socket);
      }
    });
    socket.on("connect_error", (err) => {
      if (this.socket !== socket) return;
      if (err.message === "unauthorized" || !socket.active) {
        this.setStatus("offline");
        if (err.message === "unauthorized") this.callbacks.onUnauthorized?.();
        return;
      }
      this.failedAttempts += 1;
      this.setStatus(this.failedAttempts >= this.opts.offlineAfterAttempts ? "offline" : this.everConnected ? "reconnecting" : "connecting");
    });
    socket.io.on("reconnect_attempt", () => {
      if (this.socket !== socket) return;
      if (this.failedAttempts < this.opts.offlineAfterAttempts) this.setStatus(this.everConnected ? "reconnecting" : "connecting");
    });

    socket.on("artisan-request:new", (p) => this.deliver("artisan-request:new", p));
    socket.on("artisan-request:approved", (p) => this.deliver("artisan-request:approved", p));
    socket.on("artisan-request:rejected", (p) => this.deliver("artisan-request:rejected", p));
    socket.on("user:rights-changed", (p) => this.deliver("user:rights-changed", p));
    return socket;
  }

  listen(handlers: EventHandlers): () => void {
    const entry = { ...handlers };
    this.listeners.add(entry);
    return () => void this.listeners.delete(entry);
  }

  /** Closes the socket (logout); no reconnection follows. */
  disconnect(): void {
    if (this.manualRetry) clearTimeout(this.manualRetry);
    this.manualRetry = null;
    const socket = this.socket;
    this.socket = null;
    this.token = null;
    if (socket) {
      socket.disconnect();
      socket.removeAllListeners();
      socket.io.removeAllListeners();
    }
    this.setStatus("offline");
  }

  private deliver<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): void {
    for (const l of [...this.listeners]) (l[event] as ((...a: typeof args) => void) | undefined)?.(...args);
  }

  private scheduleManualRetry(socket: AppSocket): void {
    if (this.manualRetry) clearTimeout(this.manualRetry);
    this.manualRetry = setTimeout(() => {
      this.manualRetry = null;
      if (this.socket === socket && !socket.connected) socket.connect();
    }, this.opts.reconnectionDelay);
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    this.callbacks.onStatus?.(status);
  }
}
