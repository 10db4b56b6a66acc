// Starts the real server binary (bin/server, from `make build`) for the SDK's tests, with a fresh database:
// a new database on TEST_DATABASE_URL's PostgreSQL (psql), or without it a private PostgreSQL in a temporary
// DATA_DIR (started by the server itself: slower).
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const execFileP = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
export const SDK_DIR = resolve(here, "..");
export const REPO = resolve(SDK_DIR, "../..");
export const SERVER_BIN = process.env.SDK_SERVER_BIN || join(REPO, "bin/server");
export const TMP = join(here, ".tmp");

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const uniq = (p = "sdk") => `${p}${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;

async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

async function psql(url, sql) {
  await execFileP("psql", [url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], { timeout: 30000 });
}

function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Starts bin/server on a free port (extra: environment overrides) -> {baseUrl, env, grantPdg(email), stop()}. */
export async function startServer(extra = {}) {
  if (!existsSync(SERVER_BIN)) throw new Error(`${SERVER_BIN} is missing: run make build at the repository root`);
  mkdirSync(TMP, { recursive: true });
  const port = await freePort();
  const env = {
    ...process.env,
    PORT: String(port),
    JWT_SECRET: randomBytes(32).toString("hex"),
    RATE_LIMIT_AUTH_PER_MINUTE: "0",
    SOCKET_SESSIONS_PER_IP: "0",
    SOCKET_HANDSHAKES_PER_IP_PER_MINUTE: "0",
    LOG_LEVEL: process.env.LOG_LEVEL || "warn",
    ...extra,
  };
  delete env.APP_ENV;
  let cleanup = async () => {};
  const admin = process.env.TEST_DATABASE_URL;
  if (admin) {
    const db = `sdk_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
    await psql(admin, `CREATE DATABASE ${db}`);
    env.DATABASE_URL = withDatabase(admin, db);
    cleanup = () => psql(admin, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
  } else {
    delete env.DATABASE_URL;
    // Not created here: the server creates it for PostgreSQL's user (as root, postgres must be able to enter it).
    const dir = join(tmpdir(), `artisan-notify-sdk-pg-${Date.now().toString(36)}${randomBytes(3).toString("hex")}`);
    env.DATA_DIR = dir;
    cleanup = async () => {
      for (const p of [dir, `${dir}.lock`, `${dir}.log`]) rmSync(p, { recursive: true, force: true });
    };
  }

  const log = join(TMP, `server-${port}.log`);
  const out = createWriteStream(log);
  const child = spawn(SERVER_BIN, [], { env, stdio: ["ignore", "pipe", "pipe"] });
  let tail = "";
  const keep = (d) => {
    out.write(d);
    tail = (tail + d).slice(-2000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((r) => child.once("exit", r));
  const baseUrl = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + 180000;
  for (;;) {
    if (child.exitCode !== null) {
      await cleanup();
      throw new Error(`the server exited with ${child.exitCode} (log: ${log}):\n${tail}`);
    }
    try {
      const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      await cleanup();
      throw new Error(`the server did not become ready (log: ${log}):\n${tail}`);
    }
    await sleep(100);
  }

  return {
    baseUrl,
    env,
    log,
    async grantPdg(email) {
      await execFileP(SERVER_BIN, ["grant-pdg", email], { env, timeout: 60000 });
    },
    async revokePdg(email) {
      await execFileP(SERVER_BIN, ["revoke-pdg", email], { env, timeout: 60000 });
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 20000);
        await exited;
        clearTimeout(t);
      }
      await cleanup();
    },
  };
}

/** A fresh account's registration body. */
export function account(type = "Client") {
  const id = uniq();
  const password = `pw-${randomBytes(6).toString("hex")}`;
  return { prenom: `P${id.slice(-5)}`, nom: `N${id.slice(-4)}`, email: `${id}@example.test`, password, confirm_password: password, type_compte: type };
}

/** Registers a Client, makes it a PDG with `bin/server grant-pdg`, logs in again -> its token. */
export async function makePdg(server, rest) {
  return (await makePdgAccount(server, rest)).token;
}

/** makePdg, with the PDG's user -> {token, user}. */
export async function makePdgAccount(server, rest) {
  const a = account("Client");
  await rest.register(a);
  await server.grantPdg(a.email);
  const { token, user } = await rest.login({ email: a.email, password: a.password });
  if (!user.is_pdg) throw new Error("grant-pdg: not a PDG after login");
  return { token, user };
}
