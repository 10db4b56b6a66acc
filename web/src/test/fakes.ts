// In-memory stand-ins for the store's tests: the REST API (fetch) and the tab's socket.
import { vi } from "vitest";
import type { ArtisanRequest, User } from "../api/client";
import type { EventHandlers, SocketCallbacks, SocketService } from "../socket/socketService";
import type { ServerToClientEvents } from "../socket/events";
import { makeStore, type Deps } from "../store/index";
import { decidedBy, pdg, user } from "./fixtures";

const applicant = user();

/** The REST API, in memory: what the server holds, the calls it got, and a way to hold an answer back. */
export function fakeServer(init: { pending?: ArtisanRequest[]; users?: Record<string, User> } = {}) {
  const server = {
    pending: init.pending ?? [],
    users: init.users ?? { "t-pdg": pdg, "t-app": applicant },
    calls: [] as string[],
    bodies: [] as unknown[],
    /** Answers of these paths wait for release(). */
    hold: new Set<string>(),
    release: () => {},
    decideStatus: 200,
  };
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  const fetch = vi.fn(async (input: RequestInfo | URL) => {
    const request = input as Request;
    const path = new URL(request.url).pathname;
    server.calls.push(`${request.method} ${path}`);
    if (request.method === "POST") server.bodies.push(await request.clone().json().catch(() => null));
    const token = request.headers.get("Authorization")?.replace("Bearer ", "") ?? "";
    const me = server.users[token];
    const snapshot = [...server.pending];
    if (server.hold.has(path)) {
      server.hold.delete(path);
      await new Promise<void>((r) => (server.release = r));
    }
    if (!me) return json(401, { error: { code: "unauthorized", message: "Jeton invalide." } });
    if (path === "/api/users/me") return json(200, me);
    if (path === "/api/notifications/artisan-requests/count") return json(200, { count: snapshot.length });
    if (path === "/api/notifications/artisan-requests") return json(200, { requests: snapshot, count: snapshot.length });
    const decided = /\/artisan-requests\/(\d+)\/(approve|reject)$/.exec(path);
    if (decided) {
      if (server.decideStatus !== 200) return json(server.decideStatus, {
          error: { code: "conflict", message: "Déjà traitée par un autre PDG.", decision: { contact_id: Number(decided[1]), status: "approved", ...decidedBy } },
        });
      const id = Number(decided[1]);
      server.pending = server.pending.filter((r) => r.contact_id !== id);
      return json(200, { contact_id: id, status: decided[2] === "approve" ? "approved" : "rejected" });
    }
    return json(404, { error: { code: "not_found", message: "?" } });
  });
  return { server, fetch: fetch as unknown as typeof globalThis.fetch };
}

/** The tab's socket, faked: the callbacks given at connect, and events pushed to the listeners. */
export function fakeSockets() {
  const calls: string[] = [];
  let callbacks: SocketCallbacks = {};
  const listeners = new Set<EventHandlers>();
  return {
    calls,
    listeners,
    cb: () => callbacks,
    connect(token: string, cb: SocketCallbacks) {
      calls.push(`connect:${token}`);
      callbacks = cb;
      return {} as ReturnType<SocketService["connect"]>;
    },
    disconnect() {
      calls.push("disconnect");
    },
    listen(h: EventHandlers) {
      listeners.add(h);
      return () => void listeners.delete(h);
    },
    emit<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>) {
      for (const l of listeners) (l[event] as ((...a: typeof args) => void) | undefined)?.(...args);
    },
  };
}

export function memoryStorage() {
  const map = new Map<string, string>();
  return { map, getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v), removeItem: (k: string) => void map.delete(k) };
}

export function setup(init?: Parameters<typeof fakeServer>[0], storage = memoryStorage(), more: Partial<Deps> = {}) {
  const { server, fetch } = fakeServer(init);
  const sockets = fakeSockets();
  const store = makeStore({ baseUrl: "http://api.test", fetch, sockets, storage, ...more });
  return { server, sockets, storage, store };
}

