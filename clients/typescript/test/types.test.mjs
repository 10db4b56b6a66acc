// Type-level test: tsc over fixtures that import the built package by its name (dist/*.d.ts).
// good.ts must compile; bad.ts (a wrong event name, a wrong payload property, ...) must fail, with an
// error on every line marked "error:" and on no other line.
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SDK_DIR } from "./lib.mjs";

const tsc = (project) =>
  spawnSync(process.execPath, [join(SDK_DIR, "node_modules/typescript/bin/tsc"), "-p", join(SDK_DIR, "test/types", project), "--pretty", "false"], { cwd: SDK_DIR, encoding: "utf8" });

it("a consumer's correct use type-checks", () => {
  const r = tsc("tsconfig.good.json");
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

it("a wrong event name or payload property fails to type-check, on exactly the marked lines", () => {
  const r = tsc("tsconfig.bad.json");
  assert.notEqual(r.status, 0, "tsc accepted bad.ts");
  const errorLines = new Set([...r.stdout.matchAll(/bad\.ts\((\d+),\d+\): error TS\d+/g)].map((m) => Number(m[1])));
  const marked = new Set(
    readFileSync(join(SDK_DIR, "test/types/bad.ts"), "utf8")
      .split("\n")
      .flatMap((line, i) => (/\/\/ error:/.test(line) ? [i + 1] : [])),
  );
  assert.ok(marked.size >= 5);
  assert.deepEqual([...errorLines].sort((a, b) => a - b), [...marked].sort((a, b) => a - b), r.stdout);
  assert.match(r.stdout, /"artisan-request:aproved"/);
  assert.match(r.stdout, /Property 'nom_complet' does not exist on type 'ArtisanRequestRejected'/);
  assert.match(r.stdout, /Property 'full_name' does not exist on type 'ArtisanRequestNew'/);
});
