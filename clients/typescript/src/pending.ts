import type { ArtisanRequestNew, UserRightsChanged } from "./gen/events.js";
import type { ArtisanRequest, ArtisanRequestList } from "./rest.js";
import type { EventSocket } from "./events.js";

function newestFirst(a: ArtisanRequest, b: ArtisanRequest): number {
  const ta = Date.parse(a.created_at);
  const tb = Date.parse(b.created_at);
  if (ta !== tb) return tb - ta;
  return b.contact_id - a.contact_id;
}

function toRequest(r: ArtisanRequestNew | ArtisanRequest): ArtisanRequest {
  return { contact_id: r.contact_id, prenom: r.prenom, nom: r.nom, nom_complet: r.nom_complet, email: r.email, type_compte: r.type_compte, created_at: r.created_at };
}

/**
 * A PDG's pending requests, keyed by contact_id: the total count (which may exceed the listed page) and
 * the listed requests. An event is applied once however often it arrives, a decided request never comes
 * back, and a refetch (begin / commit) replaces the state without losing or double-applying the events
 * that arrived while it was in flight.
 */
export class PendingRequests {
  #byId = new Map<number, ArtisanRequest>();
  #decided = new Set<number>();
  #count = 0;
  #generation = 0;
  /** The artisan-request:new events seen since the refetch in flight began (null: none in flight). */
  #arrived: ArtisanRequest[] | null = null;

  /** The number of pending requests. */
  get count(): number {
    return this.#count;
  }

  /** The listed pending requests, newest first. */
  get requests(): ArtisanRequest[] {
    return [...this.#byId.values()].sort(newestFirst);
  }

  has(id: number): boolean {
    return this.#byId.has(id);
  }

  /** artisan-request:new. Returns whether anything changed. */
  add(r: ArtisanRequestNew | ArtisanRequest): boolean {
    this.#arrived?.push(toRequest(r));
    return this.#add(toRequest(r));
  }

  /** artisan-request:approved / rejected (or a decision of ours). Returns whether anything changed. */
  remove(id: number): boolean {
    if (this.#decided.has(id)) return false;
    this.#decided.add(id);
    if (this.#byId.delete(id)) {
      this.#count = Math.max(0, this.#count - 1);
      return true;
    }
    // Not listed: it still counts when it lies beyond the listed page.
    if (this.#count > this.#byId.size) {
      this.#count -= 1;
      return true;
    }
    return false;
  }

  /** A refetch begins: returns its ticket for commit / abort. A later begin supersedes it. */
  begin(): number {
    this.#arrived = [];
    return ++this.#generation;
  }

  /**
   * The refetch's answer replaces the state: requests decided meanwhile stay out (and uncounted), the
   * requests that arrived while it was in flight are added unless the answer has them already.
   * Returns false when a later refetch superseded this one (the answer is dropped).
   */
  commit(ticket: number, answer: ArtisanRequestList): boolean {
    if (ticket !== this.#generation || this.#arrived === null) return false;
    const arrived = this.#arrived;
    this.#arrived = null;
    const listed = answer.requests.filter((r) => !this.#decided.has(r.contact_id));
    this.#byId = new Map(listed.map((r) => [r.contact_id, toRequest(r)]));
    this.#count = Math.max(listed.length, answer.count - (answer.requests.length - listed.length));
    for (const r of arrived) this.#add(r);
    return true;
  }

  /** The refetch failed: the current state stays. */
  abort(ticket: number): void {
    if (ticket === this.#generation) this.#arrived = null;
  }

  #add(r: ArtisanRequest): boolean {
    if (this.#decided.has(r.contact_id) || this.#byId.has(r.contact_id)) return false;
    this.#byId.set(r.contact_id, r);
    this.#count += 1;
    return true;
  }
}

export interface PendingSyncOptions {
  /** The page size asked on every refetch (server default 50, at most 200). */
  limit?: number;
  /** After every change (an event applied, a refetch committed). */
  onChange?(store: PendingRequests): void;
  /** A refetch failed (an ArtisanNotifyError; e.g. 403 forbidden when the token is not a PDG's). */
  onError?(error: unknown): void;
}

export interface PendingSync {
  readonly store: PendingRequests;
  /** Refetches count and list now (also done on every connect). Resolves true once committed. */
  resync(): Promise<boolean>;
  /** Resolves after the next committed refetch. */
  synced(): Promise<void>;
  /** Stops listening to the socket. */
  stop(): void;
}

/** What syncPendingRequests needs: the typed socket and the list call (an ArtisanNotifyClient has both). */
export interface PendingSource {
  readonly socket: Pick<EventSocket, "on" | "off" | "connected">;
  listPending(options?: { limit?: number }): Promise<ArtisanRequestList>;
}

/**
 * Keeps a PendingRequests store in step with the server: the events update it at once and, since the
 * server keeps no missed events, every connect (first and re-) refetches the count and the list (one
 * GET of the list, which carries the total count from the same snapshot); events that arrive while a
 * refetch is in flight are applied once.
 */
export function syncPendingRequests(source: PendingSource, options: PendingSyncOptions = {}): PendingSync {
  const store = new PendingRequests();
  const changed = () => options.onChange?.(store);
  let waiters: Array<() => void> = [];
  const resync = async (): Promise<boolean> => {
    const ticket = store.begin();
    try {
      const answer = await source.listPending(options.limit === undefined ? undefined : { limit: options.limit });
      if (!store.commit(ticket, answer)) return false;
    } catch (e) {
      store.abort(ticket);
      options.onError?.(e);
      return false;
    }
    changed();
    const w = waiters;
    waiters = [];
    for (const f of w) f();
    return true;
  };
  const onConnect = () => void resync();
  const onNew = (r: ArtisanRequestNew) => {
    if (store.add(r)) changed();
  };
  const onDecided = (d: { contact_id: number }) => {
    if (store.remove(d.contact_id)) changed();
  };
  // Made a PDG: the socket is already in the PDG room (the server moved it), the list is refetched.
  const onRights = (r: UserRightsChanged) => {
    if (r.is_pdg) void resync();
  };
  const socket = source.socket as EventSocket;
  socket.on("connect", onConnect);
  socket.on("artisan-request:new", onNew);
  socket.on("artisan-request:approved", onDecided);
  socket.on("artisan-request:rejected", onDecided);
  socket.on("user:rights-changed", onRights);
  if (socket.connected) onConnect();
  return {
    store,
    resync,
    synced: () => new Promise<void>((resolve) => waiters.push(resolve)),
    stop() {
      socket.off("connect", onConnect);
      socket.off("artisan-request:new", onNew);
      socket.off("artisan-request:approved", onDecided);
      socket.off("artisan-request:rejected", onDecided);
      socket.off("user:rights-changed", onRights);
    },
  };
}
