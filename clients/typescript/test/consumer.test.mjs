// "A consumer outside the repository can npm install the packed SDK and receive typed events from a running
// server in ten lines": npm pack, npm install of the tarball in a temporary folder (socket.io-client and
// openapi-fetch come from the registry), the ten-line script below type-checked against the installed
// package and run against the real server while an artisan registers.
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRestClient } from "../dist/index.js";
import { SDK_DIR, account, makePdg, startServer } from "./lib.mjs";

export const CONSUMER = `import { createClient } from "@artisan-notify/client";

const client = createClient({ baseUrl: process.env.BASE_URL ?? "http://localhost:3001", token: process.env.TOKEN });
client.socket.on("connect_error", (err) => console.error("connect_error", err.message));
client.on("artisan-request:new", (r) => {
  console.log("new", r.contact_id, r.nom_complet, r.email);
  client.close();
});
await client.connect();
console.log("connected");
`;

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
let dir;
let server;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "artisan-notify-sdk-consumer-"));
  server = await startServer();
});

after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it("npm install of the packed SDK, then ten lines receive artisan-request:new", { timeout: 240000 }, async () => {
  assert.equal(CONSUMER.trimEnd().split("\n").length, 10);
  const quiet = ["--no-audit", "--no-fund", "--loglevel=error"];
  const [packed] = JSON.parse(execFileSync(npm, ["pack", "--json", "--pack-destination", dir, ...quiet], { cwd: SDK_DIR, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }));
  const files = packed.files.map((f) => f.path);
  for (const f of ["dist/index.js", "dist/index.d.ts", "dist/gen/events.d.ts", "README.md", "package.json"]) assert.ok(files.includes(f), `${f} in the tarball`);
  assert.ok(!files.some((f) => f.startsWith("test/") || f.startsWith("node_modules/")), "no tests or node_modules in the tarball");

  const app = join(dir, "app");
  execFileSync("mkdir", ["-p", app]);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  execFileSync(npm, ["install", ...quiet, join(dir, packed.filename)], { cwd: app, stdio: ["ignore", "inherit", "inherit"] });
  writeFileSync(join(app, "consumer.mjs"), CONSUMER);

  // Typed: the installed package's declarations check the script (checkJs), and a wrong property fails.
  const tsc = (file) =>
    spawn(process.execPath, [join(SDK_DIR, "node_modules/typescript/bin/tsc"), "--noEmit", "--allowJs", "--checkJs", "--strict", "--skipLibCheck",
      "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--lib", "es2022,dom",
      "--typeRoots", join(SDK_DIR, "node_modules/@types"), "--types", "node", file], { cwd: app });
  const status = (child) => new Promise((resolve) => {
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) => resolve({ code, out }));
  });
  const ok = await status(tsc("consumer.mjs"));
  assert.equal(ok.code, 0, ok.out);
  writeFileSync(join(app, "wrong.mjs"), CONSUMER.replace("r.nom_complet", "r.nom_compelt"));
  const wrong = await status(tsc("wrong.mjs"));
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.out, /nom_compelt/);

  const anon = createRestClient({ baseUrl: server.baseUrl });
  const token = await makePdg(server, anon);
  const child = spawn(process.execPath, ["consumer.mjs"], { cwd: app, env: { ...process.env, BASE_URL: server.baseUrl, TOKEN: token } });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const connected = new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("connected\n")) resolve();
    });
    child.on("exit", () => reject(new Error(`consumer exited: ${out} ${err}`)));
  });
  const timer = setTimeout(() => child.kill(), 30000);
  await connected;
  const a = account("Artisan/Promoteur");
  const { user } = await anon.register(a);
  assert.equal(await exited, 0, err);
  clearTimeout(timer);
  assert.match(out, new RegExp(`^new ${user.id} ${a.prenom} ${a.nom} ${a.email.replace(/\./g, "\\.")}$`, "m"));
});
