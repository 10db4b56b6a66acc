import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { afterEach, describe, expect, it } from "vitest";
import { decidedBy } from "../test/fixtures";
import type { ArtisanRequestNew, ServerToClientEvents } from "./events";
import { SocketService, type ConnectionStatus, type SocketCallbacks, type SocketServiceOptions } from "./socketService";

/** A real Socket.IO server that behaves like ours: token in auth, rooms user:{id} and pdg-notifications. */
class TestServer {
  http!: HttpServer;
  io!: Server<Record<string, never>, ServerToClientEvents>;
  port = 0;
  handshakes: unknown[] = [];
  tokens: Record<string, { id: number; pdg: boolean }> = {
    "pdg-token": { id: 1, pdg: true },
    "applicant-token": { id: 2, pdg: false },
  };

  async start(port = 0): Promise<void> {
    this.http = createServer();
    this.io = new Server(this.http, { path: "/socket.io/" });
    this.io.use((socket, next) => {
      this.handshakes.push(socket.handshake.auth);
      const who = this.tokens[(socket.handshake.auth as { token?: string }).token ?? ""];
      if (!who) return next(new Error("unauthorized"));
      socket.data.who = who;
      next();
    });
    this.io.on("connection", (socket) => {
      socket.join(`user:${socket.data.who.id}`);
      if (socket.data.who.pdg) socket.join("pdg-notifications");
    });
    await new Promise<void>((resolve) => this.http.listen(port, "127.0.0.1", resolve));
    this.port = (this.http.address() as AddressInfo).port;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
    this.http.closeAllConnections?.();
  }
}

function until(cond: () => boolean, timeout = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() - started > timeout) return reject(new Error("timed out"));
      setTimeout(tick, 10);
    };
    tick();
  });
}

function recorder() {
  const statuses: ConnectionStatus[] = [];
  const connects: { reconnect: boolean }[] = [];
  let unauthorized = 0;
  const callbacks: SocketCallbacks = {
    onStatus: (s) => statuses.push(s),
    onConnected: (i) => connects.push(i),
    onUnauthorized: () => void unauthorized++,
  };
  return { statuses, connects, callbacks, unauthorized: () => unauthorized };
}

function listener(service: SocketService) {
  const events: [string, unknown][] = [];
  const stop = service.listen({
    "artisan-request:new": (p) => events.push(["new", p]),
    "artisan-request:approved": (p) => events.push(["approved", p]),
    "artisan-request:rejected": (p) => events.push(["rejected", p]),
    "user:rights-changed": (p) => events.push(["rights", p]),
  });
  return { events, stop };
}

const fast = { reconnectionDelay: 50, reconnectionDelayMax: 200, randomizationFactor: 0 };

let server: TestServer;
let service: SocketService;

/** A fresh server, a service pointed at it (fast backoff), and a recorder of its callbacks. */
async function setup(opts: Partial<SocketServiceOptions> = {}) {
  server = new TestServer();
  await server.start();
  service = new SocketService({ url: server.url, ...fast, ...opts });
  return recorder();
}

afterEach(async () => {
  service?.disconnect();
  await server?.stop();
});

describe("SocketService", () => {
  it("connects with the token in the handshake auth and reports connected", async () => {
    const r = await setup();
    service.connect("pdg-token", r.callbacks);
    await until(() => service.status === "connected");
    expect(server.handshakes).toEqual([{ token: "pdg-token" }]);
    expect(r.statuses).toEqual(["connecting", "connected"]);
    expect(r.connects).toEqual([{ reconnect: false, recovered: false }]);
  });

  it("keeps one socket per tab: connecting again with the same token reuses it", async () => {
    const r = await setup();
    const a = service.connect("pdg-token", r.callbacks);
    const b = service.connect("pdg-token", r.callbacks);
    expect(b).toBe(a);
    await until(() => service.status === "connected");
    expect(server.io.engine.clientsCount).toBe(1);
    expect(server.handshakes).toHaveLength(1);
  });

  it("a new token replaces the socket (the old one is closed)", async () => {
    const r = await setup();
    const a = service.connect("pdg-token", r.callbacks);
    await until(() => service.status === "connected");
    const b = service.connect("applicant-token", r.callbacks);
    expect(b).not.toBe(a);
    expect(a.connected).toBe(false);
    await until(() => service.status === "connected");
    await until(() => server.io.engine.clientsCount === 1);
  });

  it("delivers the four events to the listeners, PDG room and user room", async () => {
    const r = await setup();
    const l = listener(service);
    service.connect("pdg-token", r.callbacks);
    await until(() => service.status === "connected");
    const req: ArtisanRequestNew = {
      contact_id: 5,
      prenom: "A",
      nom: "B",
      nom_complet: "A B",
      email: "a@b.c",
      type_compte: "Artisan/Promoteur",
      created_at: "2026-01-01T00:00:00Z",
    };
    server.io.to("pdg-notifications").emit("artisan-request:new", req);
    server.io.to("pdg-notifications").emit("artisan-request:approved", { ...decidedBy, contact_id: 5, nom_complet: "A B", email: "a@b.c" });
    server.io.to("user:1").emit("artisan-request:rejected", { ...decidedBy, contact_id: 1 });
    server.io.to("user:1").emit("user:rights-changed", { contact_id: 1, is_pdg: false });
    await until(() => l.events.length === 4);
    expect(l.events).toEqual([
      ["new", req],
      ["approved", { ...decidedBy, contact_id: 5, nom_complet: "A B", email: "a@b.c" }],
      ["rejected", { ...decidedBy, contact_id: 1 }],
      ["rights", { contact_id: 1, is_pdg: false }],
    ]);
  });

  it("listeners follow a new socket (new token) and hear nothing once stopped", async () => {
    const r = await setup();
    const l = listener(service);
    service.connect("pdg-token", r.callbacks);
    await until(() => service.status === "connected");
    service.connect("applicant-token", r.callbacks);
    await until(() => service.status === "connected" && server.io.engine.clientsCount === 1);
    server.io.to("user:2").emit("artisan-request:rejected", { ...decidedBy, contact_id: 2 });
    await until(() => l.events.length === 1);
    l.stop();
    server.io.to("user:2").emit("artisan-request:approved", { ...decidedBy, contact_id: 2, nom_complet: "", email: "" });
    await new Promise((res) => setTimeout(res, 200));
    expect(l.events).toEqual([["rejected", { ...decidedBy, contact_id: 2 }]]);
  });

  it("a refused token reports offline and unauthorized, without retrying", async () => {
    const r = await setup();
    service.connect("bad-token", r.callbacks);
    await until(() => r.unauthorized() === 1);
    expect(service.status).toBe("offline");
    await new Promise((res) => setTimeout(res, 400));
    expect(server.handshakes).toHaveLength(1);
    expect(r.connects).toHaveLength(0);
  });

  it("server restart: reconnecting, then connected again, and onConnected fires for the resync", async () => {
    const r = await setup();
    const port = server.port;
    service.connect("pdg-token", r.callbacks);
    await until(() => service.status === "connected");

    await server.stop();
    await until(() => service.status === "reconnecting");
    await new Promise((res) => setTimeout(res, 300)); // a few failed attempts with backoff
    expect(service.status).not.toBe("connected");

    server = new TestServer();
    await server.start(port);
    await until(() => service.status === "connected", 5000);
    expect(r.connects).toEqual([
      { reconnect: false, recovered: false },
      { reconnect: true, recovered: false },
    ]);
    expect(r.statuses.slice(0, 3)).toEqual(["connecting", "connected", "reconnecting"]);
    expect(r.statuses.at(-1)).toBe("connected");
    // still one socket after the reconnection
    expect(server.io.engine.clientsCount).toBe(1);
  });

  it("reads offline after many failed attempts, and keeps retrying", async () => {
    const r = await setup({ offlineAfterAttempts: 2 });
    const port = server.port;
    service.connect("pdg-token", r.callbacks);
    await until(() => service.status === "connected");
    await server.stop();
    await until(() => service.status === "offline", 5000);
    server = new TestServer();
    await server.start(port);
    await until(() => service.status === "connected", 5000);
    expect(r.statuses).toContain("reconnecting");
  });

  it("a server-side disconnect of the socket is retried", async () => {
    const r = await setup();
    service.connect("pdg-token", r.callbacks);
    await until(() => service.status === "connected");
    server.io.disconnectSockets(true);
    await until(() => r.connects.length === 2, 5000);
    expect(service.status).toBe("connected");
  });

  it("disconnect (logout) closes the socket: offline, and no reconnection", async () => {
    const r = await setup();
    const s = service.connect("pdg-token", r.callbacks);
    await until(() => service.status === "connected");
    service.disconnect();
    expect(service.status).toBe("offline");
    expect(service.current).toBeNull();
    expect(s.connected).toBe(false);
    await until(() => server.io.engine.clientsCount === 0);
    await new Promise((res) => setTimeout(res, 300));
    expect(server.handshakes).toHaveLength(1);
  });
});
