// Processes and helpers for the end-to-end tests: the backend under test, `vite preview`, Chromium.
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const webDir = resolve(here, "..");
const env = process.env;

const apiPort = Number(env.E2E_API_PORT || 3291);
const webPort = Number(env.E2E_WEB_PORT || 4291);

export const config = {
  apiPort,
  webPort,
  /** What the built app calls (the browser's view of the backend). */
  apiBaseForBrowser: `http://localhost:${apiPort}`,
  /** What the test process calls directly. */
  apiBase: `http://127.0.0.1:${apiPort}`,
  webOrigin: `http://localhost:${webPort}`,
  distDir: join(here, ".dist"),
  tmpDir: join(here, ".tmp"),
  /** Not the committed e2e/screenshots (the READMEs' pictures): a run leaves the worktree clean; refresh those with E2E_SCREENSHOT_DIR=e2e/screenshots. */
  screenshotDir: env.E2E_SCREENSHOT_DIR ? resolve(env.E2E_SCREENSHOT_DIR) : join(here, ".tmp", "screenshots"),
  serverCmd: env.E2E_SERVER_CMD || "go run ./cmd/server",
  grantCmd: env.E2E_GRANT_CMD || "go run ./cmd/server grant-pdg {email}",
  /** Default: the grant command with grant-pdg replaced by revoke-pdg. */
  revokeCmd: env.E2E_REVOKE_CMD || (env.E2E_GRANT_CMD || "go run ./cmd/server grant-pdg {email}").replace("grant-pdg", "revoke-pdg"),
  serverCwd: resolve(webDir, env.E2E_SERVER_CWD || ".."),
  serverStartTimeoutMs: Number(env.E2E_SERVER_START_TIMEOUT_MS || 240_000),
  chromium: env.CHROMIUM_PATH || "/usr/bin/chromium",
  headless: env.E2E_HEADED !== "1",
};

const log = (...a) => console.log("[e2e]", ...a);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Environment of the backend: the caller's, plus the port, the CORS origin and test-friendly defaults. */
function serverEnv() {
  return {
    ...env,
    PORT: String(apiPort),
    FRONTEND_URL: config.webOrigin,
    JWT_SECRET: env.JWT_SECRET || "e2e-jwt-secret-not-for-production",
    RATE_LIMIT_AUTH_PER_MINUTE: env.RATE_LIMIT_AUTH_PER_MINUTE ?? "0",
  };
}

/** A command run through sh in its own process group, so that stopping it stops `go run`'s child too. */
class Proc {
  constructor(name, cmd, opts) {
    this.name = name;
    this.cmd = cmd;
    this.opts = opts;
    this.child = null;
    this.exited = null;
    this.logFile = join(config.tmpDir, `${name}.log`);
  }

  start() {
    mkdirSync(config.tmpDir, { recursive: true });
    const out = createWriteStream(this.logFile, { flags: "a" });
    out.write(`\n===== ${new Date().toISOString()} $ ${this.cmd}\n`);
    const child = spawn("sh", ["-c", this.cmd], { ...this.opts, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    this.child = child;
    this.exited = new Promise((res) => child.on("exit", (code, sig) => res({ code, sig })));
    log(`started ${this.name} (pgid ${child.pid}): ${this.cmd}`);
  }

  get running() {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(timeoutMs = 15_000) {
    if (!this.child) return;
    const child = this.child;
    this.child = null;
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
      const done = await Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
      if (!done) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {}
        await this.exited;
      }
    }
    // the group may outlive sh (go run's child): make sure it is gone
    for (let i = 0; i < 50; i++) {
      try {
        process.kill(-child.pid, 0);
      } catch {
        break;
      }
      if (i === 30) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {}
      }
      await sleep(100);
    }
    log(`stopped ${this.name}`);
  }

  tail(lines = 40) {
    if (!existsSync(this.logFile)) return "";
    return readFileSync(this.logFile, "utf8").split("\n").slice(-lines).join("\n");
  }
}

async function waitHttp(url, proc, timeoutMs, ok = () => true) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && !proc.running) throw new Error(`${proc.name} exited before answering ${url}:\n${proc.tail()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (ok(res)) return;
    } catch {}
    await sleep(100);
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms${proc ? `:\n${proc.tail()}` : ""}`);
}

export const backend = new Proc("server", config.serverCmd, { cwd: config.serverCwd, env: serverEnv() });

/** Starts the backend and waits until it answers HTTP (GET /api/users/me without a token: 401). */
export async function startBackend() {
  backend.start();
  const t0 = Date.now();
  await waitHttp(`${config.apiBase}/api/users/me`, backend, config.serverStartTimeoutMs, (r) => r.status === 401);
  log(`server ready in ${Date.now() - t0} ms`);
}

export const preview = new Proc(
  "preview",
  `"${process.execPath}" "${join(webDir, "node_modules/vite/bin/vite.js")}" preview --outDir "${config.distDir}" --host localhost --port ${webPort} --strictPort`,
  { cwd: webDir, env: { ...env } },
);

export async function startPreview() {
  if (!existsSync(join(config.distDir, "index.html"))) throw new Error(`no build in ${config.distDir}: run npm run e2e`);
  preview.start();
  await waitHttp(`${config.webOrigin}/`, preview, 30_000, (r) => r.ok);
}

/** Makes an existing contact a PDG with E2E_GRANT_CMD ({email} replaced). */
export async function grantPdg(email) {
  return runForEmail(config.grantCmd, email);
}

/** Removes a contact's PDG right with E2E_REVOKE_CMD ({email} replaced). */
export async function revokePdg(email) {
  return runForEmail(config.revokeCmd, email);
}

async function runForEmail(template, email) {
  const cmd = template.replaceAll("{email}", `'${email.replaceAll("'", "'\\''")}'`);
  const p = spawn("sh", ["-c", cmd], { cwd: config.serverCwd, env: serverEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout.on("data", (d) => (out += d));
  p.stderr.on("data", (d) => (out += d));
  const code = await new Promise((res) => p.on("exit", res));
  if (code !== 0) throw new Error(`command failed (${code}): ${cmd}\n${out}`);
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: config.chromium,
    headless: config.headless,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}

/** Calls the API directly (as a script would), returning {status, body}. */
export async function api(method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(config.apiBase + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

let seq = 0;
const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
export const PASSWORD = "motdepasse-e2e-2026";

/** Registers a new account through the API; emails are unique per run. */
export async function register(prenom, nom, typeCompte) {
  const email = `${prenom}.${nom}.${runId}.${++seq}@example.com`
    .toLowerCase()
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "");
  const res = await api("POST", "/api/users/auth/register", {
    body: { prenom, nom, email, password: PASSWORD, confirm_password: PASSWORD, type_compte: typeCompte },
  });
  if (res.status !== 201) throw new Error(`register ${email}: ${res.status} ${JSON.stringify(res.body)}`);
  return { email, token: res.body.token, user: res.body.user };
}

/** Polls `probe` until it returns true; fails after `ms` with `what` and the last value seen. */
export async function within(ms, what, probe) {
  const t0 = Date.now();
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last === true) return Date.now() - t0;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(20);
  }
}

/** axe-core's source (pinned in package-lock.json), injected into the page under test. */
const axeSource = readFileSync(join(webDir, "node_modules/axe-core/axe.min.js"), "utf8");

/**
 * Runs axe-core's default rules (WCAG 2.0/2.1/2.2 A and AA, best practices) on the page as it is; returns the violations
 * as short lines ("rule (impact): target"), none when the page is clean.
 */
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe !== "undefined"))) await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(" | ")} — ${v.nodes[0]?.failureSummary?.split("\n").slice(0, 2).join(" ")}`);
  });
  return result;
}
