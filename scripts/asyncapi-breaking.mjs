// Compares two AsyncAPI 3 documents with @asyncapi/diff and exits 1 when the second breaks
// clients of the first (0: compatible, 2: a document does not parse). Run by
// scripts/check-breaking.sh, which decides whether a raised major version allows the break:
//
//   node scripts/asyncapi-breaking.mjs base.yaml revision.yaml
//
// @asyncapi/diff classifies the document's structure (servers, channels, messages, event names)
// but leaves every change inside a payload schema unclassified; those are classified here, by
// direction. A message of a `send` operation goes from the server to the clients; one of a
// `receive` operation from a client to the server.
//
//   change in a payload                 server to client    client to server
//   field removed                       breaking            breaking
//   field added, optional               compatible          compatible
//   field made required / new required  compatible          breaking
//   field no longer required            breaking            compatible
//   enum value removed (narrowed)       breaking            breaking
//   enum value added (widened)          warning             compatible
//   type or format changed              breaking            breaking
//   description, title, examples        compatible          compatible
//   any other keyword                   warning             warning
//
// A narrowed enum of a server-sent field is breaking too: the clients' types are generated from
// the contract (clients/typescript/src/gen/events.ts), and code that names the removed value stops compiling.
//
// Before the diff, each document is reduced to what clients see: dereferenced, channels keyed
// by address and messages by event name (so renaming an event is a removed event, and renaming
// a key of the document is no change), each message tagged with its direction; `operations`
// and `components` are dropped (what they say is in the channels then).
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const require = createRequire(new URL("../tools/npm/", import.meta.url));
const { Parser, DiagnosticSeverity } = require("@asyncapi/parser");
const { diff } = require("@asyncapi/diff");

const [baseFile, revFile] = process.argv.slice(2);
if (!baseFile || !revFile) {
  console.error("usage: node scripts/asyncapi-breaking.mjs base.yaml revision.yaml");
  process.exit(2);
}

async function load(file) {
  const { document, diagnostics } = await new Parser().parse(await readFile(file, "utf8"), { source: file });
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  if (!document || errors.length > 0) {
    for (const d of errors) console.error(`${file}: ${d.code}: ${d.message} (${d.path.join(".")})`);
    throw new Error(`${file}: not a valid AsyncAPI document`);
  }
  const directions = new Map(); // event name -> Set of directions
  for (const op of document.operations().all()) {
    const dir = op.action() === "send" ? "server to client" : "client to server";
    for (const m of op.messages().all()) {
      const name = m.name() ?? m.id();
      if (!directions.has(name)) directions.set(name, new Set());
      directions.get(name).add(dir);
    }
  }
  const json = document.json();
  const channels = {};
  for (const ch of document.channels().all()) {
    const { messages: _, ...rest } = json.channels[ch.id()];
    const messages = {};
    for (const m of ch.messages().all()) {
      const name = m.name() ?? m.id();
      messages[name] = { ...m.json(), "x-direction": [...(directions.get(name) ?? [])].sort().join(" and ") || "none" };
    }
    channels[ch.address() ?? ch.id()] = { ...rest, messages };
  }
  const { operations: _o, components: _c, channels: _ch, ...top } = json;
  // A deep copy without the parser's own annotations.
  return JSON.parse(JSON.stringify({ ...top, channels }, (k, v) => (k.startsWith("x-parser-") ? undefined : v)));
}

let base, rev;
try {
  [base, rev] = await Promise.all([load(baseFile), load(revFile)]);
} catch (e) {
  console.error(e.message);
  process.exit(2);
}

const unescape = (s) => s.replaceAll("~1", "/").replaceAll("~0", "~");
const segments = (pointer) => pointer.split("/").slice(1).map(unescape);
const at = (doc, segs) => segs.reduce((v, s) => (v == null ? undefined : v[s]), doc);

// "properties/a/items/properties/b" -> "a[].b"
function fieldName(segs) {
  let out = "";
  for (let i = 0; i < segs.length; i++) {
    if (segs[i] === "properties" && i + 1 < segs.length) out += (out ? "." : "") + segs[++i];
    else if (segs[i] === "items") out += "[]";
  }
  return out || "(payload)";
}

const breaking = [];
const warnings = [];
let compatible = 0;
const seenArrays = new Set();
const descriptive = new Set(["description", "title", "summary", "examples", "example", "$comment", "deprecated", "default", "readOnly", "writeOnly"]);

// @asyncapi/diff calls any edit of info.version breaking; the version is what allows a break
// (scripts/check-breaking.sh reads it), not a break itself.
const override = { "/info/version": { add: "non-breaking", remove: "breaking", edit: "non-breaking" } };
for (const c of diff(base, rev, { override }).getOutput().changes) {
  const segs = segments(c.path);
  const where = `${c.action} ${c.path}`;
  if (segs.length > 4 && segs[0] === "channels" && segs[2] === "messages" && segs[4] === "payload" && segs.length > 5) {
    const event = segs[3];
    const msg = at(rev, segs.slice(0, 4)) ?? at(base, segs.slice(0, 4));
    const toClient = msg["x-direction"].includes("server to client");
    const fromClient = msg["x-direction"].includes("client to server");
    const rel = segs.slice(5);
    const label = `event "${event}" (${msg["x-direction"]})`;
    // required and enum are sets: compare them whole, once, whatever the index-wise patch says.
    const ai = rel.findIndex((s, i) => (s === "required" || s === "enum") && rel[i - 1] !== "properties");
    if (ai >= 0) {
      const arrSegs = [...segs.slice(0, 5), ...rel.slice(0, ai + 1)];
      const key = arrSegs.join("/");
      if (seenArrays.has(key)) continue;
      seenArrays.add(key);
      const before = at(base, arrSegs);
      const after = at(rev, arrSegs);
      const b = new Set(before ?? []);
      const a = new Set(after ?? []);
      const added = [...a].filter((v) => !b.has(v));
      const removed = [...b].filter((v) => !a.has(v));
      const schema = rel.slice(0, ai);
      if (rel[ai] === "required") {
        for (const f of added) {
          const field = fieldName([...schema, "properties", f]);
          if (fromClient) breaking.push(`${label}: new required field ${field}: clients that do not send it are refused`);
          else compatible++;
        }
        for (const f of removed) {
          const field = fieldName([...schema, "properties", f]);
          if (at(rev, [...segs.slice(0, 5), ...schema, "properties", f]) === undefined) continue; // reported as removed
          if (toClient) breaking.push(`${label}: field ${field} is no longer required: clients may not get it`);
          else compatible++;
        }
      } else {
        const field = fieldName(schema);
        if (before === undefined && after !== undefined) {
          const msgText = `${label}: field ${field} is now limited to ${JSON.stringify(after)}`;
          if (fromClient) breaking.push(msgText);
          else warnings.push(msgText);
        } else if (before !== undefined && after === undefined) {
          const msgText = `${label}: field ${field} is no longer limited to ${JSON.stringify(before)}`;
          if (toClient) warnings.push(`${msgText}: clients may get values they do not know`);
          else compatible++;
        } else {
          if (removed.length) breaking.push(`${label}: field ${field} lost the enum value(s) ${removed.map((v) => JSON.stringify(v)).join(", ")}`);
          if (added.length) {
            const msgText = `${label}: field ${field} has new enum value(s) ${added.map((v) => JSON.stringify(v)).join(", ")}`;
            if (toClient) warnings.push(`${msgText}: clients may get values they do not know`);
            else compatible++;
          }
        }
      }
      continue;
    }
    const last = rel[rel.length - 1];
    const isProperty = rel.length >= 2 && rel[rel.length - 2] === "properties";
    if (isProperty && c.action === "remove") {
      breaking.push(`${label}: field ${fieldName(rel)} removed`);
    } else if (isProperty && c.action === "add") {
      compatible++; // optional unless also added to required, which is handled above
    } else if (rel.some((s) => descriptive.has(s) || s.startsWith("x-"))) {
      compatible++;
    } else if (last === "type" || last === "format" || (isProperty && c.action === "edit")) {
      breaking.push(`${label}: field ${fieldName(rel)}: ${last === "type" || last === "format" ? last : "schema"} changed from ${JSON.stringify(c.before)} to ${JSON.stringify(c.after)}`);
    } else {
      warnings.push(`${label}: field ${fieldName(rel)}: ${where} (${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}); check it by hand`);
    }
    continue;
  }
  if (segs.length === 4 && segs[0] === "channels" && segs[2] === "messages" && c.action === "remove") {
    breaking.push(`event "${segs[3]}" removed or renamed (on namespace ${segs[1]})`);
    continue;
  }
  if (segs[segs.length - 1] === "x-direction") {
    breaking.push(`event "${segs[3]}" changed direction: ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}`);
    continue;
  }
  if (segs.length === 2 && segs[0] === "channels" && c.action === "remove") {
    breaking.push(`namespace ${segs[1]} removed, with its events`);
    continue;
  }
  if (c.type === "breaking") breaking.push(`${where}${"before" in c ? ` (was ${JSON.stringify(c.before)})` : ""}`);
  else if (c.type === "unclassified") warnings.push(`${where}: unclassified by @asyncapi/diff; check it by hand`);
  else compatible++;
}

for (const w of warnings) console.log(`warning: ${w}`);
for (const b of breaking) console.log(`breaking: ${b}`);
console.log(`${revFile} against ${baseFile}: ${breaking.length} breaking, ${warnings.length} warnings, ${compatible} compatible changes`);
process.exit(breaking.length > 0 ? 1 : 0);
