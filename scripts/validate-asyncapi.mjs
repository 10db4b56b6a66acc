// Validates asyncapi.yaml (or the file given as first argument) with @asyncapi/parser 3.x and
// exits 1 on any error-severity diagnostic. The parser is loaded from the current directory's
// node_modules: `make lint-contracts` runs it from tools/npm, whose package.json pins the parser
// (installed by `make deps`, i.e. npm ci in tools/npm):
//
//   cd tools/npm && node ../../scripts/validate-asyncapi.mjs ../../asyncapi.yaml
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const { Parser, DiagnosticSeverity } = createRequire(`${process.cwd()}/`)("@asyncapi/parser");

const file = process.argv[2] ?? new URL("../asyncapi.yaml", import.meta.url).pathname;
const parser = new Parser();
const { document, diagnostics } = await parser.parse(await readFile(file, "utf8"), { source: file });
const severity = ["error", "warning", "info", "hint"];
for (const d of diagnostics) {
  const line = (d.range?.start?.line ?? -1) + 1;
  console.log(`${file}:${line}: ${severity[d.severity]}: ${d.code}: ${d.message} (${d.path.join(".")})`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
if (!document || errors.length > 0) {
  console.error(`${file}: invalid (${errors.length} errors)`);
  process.exit(1);
}
console.log(`${file}: valid AsyncAPI ${document.version()}, ${document.allMessages().length} messages`);
