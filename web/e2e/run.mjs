#!/usr/bin/env node
// End-to-end tests: builds the app for the test API port, then runs the browser tests with node:test.
// The tests start the backend (E2E_SERVER_CMD), `vite preview` and Debian's Chromium themselves.
// See ../README.md for the environment variables.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { config } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const web = join(here, "..");
mkdirSync(join(here, ".tmp"), { recursive: true });

if (process.env.E2E_SKIP_BUILD !== "1") {
  console.log(`[e2e] building the app for VITE_API_BASE_URL=${config.apiBaseForBrowser}`);
  const build = spawnSync(
    process.execPath,
    [join(web, "node_modules/vite/bin/vite.js"), "build", "--outDir", config.distDir, "--emptyOutDir", "--logLevel", "warn"],
    { cwd: web, stdio: "inherit", env: { ...process.env, VITE_API_BASE_URL: config.apiBaseForBrowser } },
  );
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const args = ["--test", "--test-concurrency=1", "--test-reporter=spec"];
if (process.env.E2E_ONLY) args.push(`--test-name-pattern=${process.env.E2E_ONLY}`);
args.push(join(here, "notifications.e2e.mjs"), join(here, "pdg-day.e2e.mjs"));
const res = spawnSync(process.execPath, args, { cwd: web, stdio: "inherit", env: process.env });
process.exit(res.status ?? 1);
