package main

import (
	"bytes"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// base is a small valid document; the tests edit it with strings.Replace.
const base = `asyncapi: 3.0.0
info: {title: t, version: "1"}
channels:
  root:
    address: /
    messages:
      ping: {$ref: "#/components/messages/ping"}
      gone: {$ref: "#/components/messages/gone"}
    x-rooms:
      all: {description: Everyone.}
      "user:{id}":
        parameters: {id: {type: integer, format: int64}}
components:
  schemas:
    Ping:
      type: object
      required: [user_id, at]
      properties:
        user_id: {type: integer, format: int64}
        at: {type: string, format: date-time}
        note: {type: string}
  messages:
    ping:
      name: "ping:now"
      x-rooms: [all, "user:{user_id}"]
      payload: {$ref: "#/components/schemas/Ping"}
    gone:
      name: gone
      x-rooms: [all]
      payload:
        type: object
        properties: {}
`

func edit(t testing.TB, old, new string) string {
	t.Helper()
	if !strings.Contains(base, old) {
		t.Fatalf("base has no %q", old)
	}
	return strings.Replace(base, old, new, 1)
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"not yaml", "a: [", "x.yaml: yaml:"},
		{"not a mapping", "- 1", "x.yaml:1:1: document is not a mapping"},
		{"version 2", edit(t, "asyncapi: 3.0.0", "asyncapi: 2.6.0"), `x.yaml:1:11: asyncapi "2.6.0": only version 3`},
		{"no channels", edit(t, "channels:\n  root:", "channelz:\n  root:"), "x.yaml:1:1: channels is missing"},
		{"unknown payload type", edit(t, "note: {type: string}", "note: {type: array}"),
			`x.yaml:21:15: unsupported payload type "array" (format ""): use string, string/date-time, integer, number or boolean (event ping:now, property note)`},
		{"unknown integer format", edit(t, "format: int64}\n        at", "format: uint8}\n        at"), `x.yaml:19:18: unsupported payload type "integer" (format "uint8")`},
		{"property without type", edit(t, "note: {type: string}", "note: {description: x}"), `x.yaml:21:15: unsupported payload type ""`},
		{"payload not an object", edit(t, "      payload:\n        type: object", "      payload:\n        type: string"), "x.yaml:31:9: event gone: payload must be a schema of type object"},
		{"placeholder names no field", edit(t, `"user:{user_id}"]`, `"user:{uid}"]`),
			`x.yaml:25:22: event ping:now: room "user:{uid}": placeholder {uid} names no payload field`},
		{"placeholder names optional field", edit(t, "required: [user_id, at]", "required: [at]"), "field user_id must be a required int64"},
		{"placeholder names field of other type", edit(t, "user_id: {type: integer, format: int64}", "user_id: {type: string}"), "field user_id must be a required int64"},
		{"room not declared", edit(t, "x-rooms: [all]", "x-rooms: [nobody]"), `x.yaml:29:17: event gone: room "nobody" is not declared`},
		{"bad room pattern", edit(t, "x-rooms: [all]", `x-rooms: ["a{b"]`), `room "a{b": unclosed {`},
		{"room parameter without schema", edit(t, "parameters: {id: {type: integer, format: int64}}", "description: x"), `x.yaml:11:7: room "user:{id}": placeholder {id} has no schema`},
		{"room declared twice", edit(t, `all: {description: Everyone.}`, `all: {}
      "user:{uid}": {parameters: {uid: {type: string}}}`), `room "user:{id}" is declared twice`},
		{"no x-rooms", edit(t, "      x-rooms: [all]\n", ""), "x.yaml:28:7: event gone: x-rooms must list the rooms"},
		{"message without name", edit(t, "name: gone", "title: gone"), `x.yaml:28:7: message "gone" has no name`},
		{"message without payload", edit(t, "      payload:\n        type: object\n        properties: {}\n", ""), `x.yaml:28:7: message "gone" (gone) has no payload`},
		{"null payload", edit(t, "      payload:\n        type: object\n        properties: {}\n", "      payload: ~\n"), `message "gone" (gone) has no payload`},
		{"duplicate event names", edit(t, "name: gone", `name: "ping:now"`), `x.yaml:28:13: duplicate event name "ping:now" (first at line 24)`},
		{"names that collide", edit(t, "name: gone", `name: "ping-now"`), `event "ping-now" and event "ping:now" both generate the name PingNow`},
		{"name that collides with Message", edit(t, "name: gone", "name: message"), `type Message and event "message" both generate the name Message`},
		{"name without letters", edit(t, "name: gone", `name: "1:2"`), `event name "1:2" gives no identifier`},
		{"remote ref", edit(t, `{$ref: "#/components/messages/gone"}`, `{$ref: "other.yaml#/gone"}`), `x.yaml:8:20: $ref "other.yaml#/gone": only local references`},
		{"dangling ref", edit(t, `{$ref: "#/components/messages/gone"}`, `{$ref: "#/components/messages/nope"}`), `$ref "#/components/messages/nope": not found`},
		{"ref cycle", edit(t, `{$ref: "#/components/messages/gone"}`, `{$ref: "#/channels/root/messages/gone"}`), "more than 32 hops"},
		{"enum on integer", edit(t, "format: int64}\n        at", "enum: [1]}\n        at"), "enum must be a non-empty list, on a string"},
		{"required names no property", edit(t, "required: [user_id, at]", "required: [user_id, at, nope]"), `x.yaml:17:31: event ping:now: required names no property: "nope"`},
		{"property name", edit(t, "note: {type: string}", `"no te": {type: string}`), `property "no te": names must match`},
		{"fields that collide", edit(t, "note: {type: string}", "note: {type: string}\n        Note: {type: string}"), `properties "note" and "Note" both give Go field Note`},
		{"object in an object", edit(t, "note: {type: string}", "note: {type: object, properties: {inner: {type: object, properties: {}}}}"),
			`unsupported payload type "object" (format ""): use string, string/date-time, integer, number or boolean (event ping:now note, property inner)`},
		{"object type that collides", strings.NewReplacer("note: {type: string}", "note: {type: object, properties: {}}", "name: gone", `name: "ping-now-note"`).Replace(base),
			`event "ping-now-note" and event "ping:now" property "note" both generate the name PingNowNote`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := generate("x.yaml", []byte(tt.doc))
			if err == nil {
				t.Fatalf("generate succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestGenerateOutput(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		goWant   []string
		goAbsent []string
		tsWant   []string
	}{
		{"base", base,
			[]string{
				`EventPingNow = "ping:now"`, `EventGone = "gone"`, `const RoomAll = "all"`,
				"func UserRoom(id int64) string {\n\treturn \"user:\" + strconv.FormatInt(id, 10)\n}",
				"UserID int64     `json:\"user_id\"`", "At     time.Time `json:\"at\"`", "Note   string    `json:\"note,omitzero\"`",
				"type Gone struct {\n}",
				"p.At = p.At.UTC()\n\treturn newMessage(EventPingNow, []string{RoomAll, UserRoom(p.UserID)}, p)",
				"return newMessage(EventGone, []string{RoomAll}, p)",
			},
			nil,
			[]string{`export const EventPingNow = "ping:now";`, `export const RoomAll = "all";`,
				"export function userRoom(id: number): string {\n  return \"user:\" + String(id);\n}",
				"  user_id: number;\n  at: string;\n  note?: string;\n",
				`"ping:now": (payload: PingNow) => void;`, `"gone": (payload: Gone) => void;`,
				"export type ClientToServerEvents = Record<string, never>;"}},
		{"no time, string room parameter, keyword placeholder",
			strings.NewReplacer(
				"at: {type: string, format: date-time}", "at: {type: boolean}",
				`"user:{id}":`, `"team-{type}/x":`,
				"parameters: {id: {type: integer, format: int64}}", "parameters: {type: {type: string}}",
				`"user:{user_id}"`, `"team-{note}/x"`,
				"required: [user_id, at]", "required: [user_id, at, note]").Replace(base),
			[]string{"func TeamXRoom(type_ string) string {\n\treturn \"team-\" + type_ + \"/x\"\n}", "TeamXRoom(p.Note)", "At     bool   `json:\"at\"`"},
			[]string{`"time"`, `"strconv"`},
			[]string{"export function teamXRoom(type: string): string {\n  return \"team-\" + String(type) + \"/x\";\n}", "  at: boolean;"}},
		{"comments that could break out",
			edit(t, "all: {description: Everyone.}", "all: {description: \"a */ b\\n\\nc\\u0000\\u2028 // d\"}"),
			[]string{"// a */ b\n//\n// c   // d\nconst RoomAll"},
			nil,
			[]string{"/**\n * The room all. a *\\/ b\n *\n * c   // d\n */"}},
		{"enum, number, inline payload, message listed twice",
			edit(t, "      gone: {$ref: \"#/components/messages/gone\"}\n", `      gone: {$ref: "#/components/messages/gone"}
      again: {$ref: "#/components/messages/gone"}
      kind:
        name: kind
        x-rooms: [all]
        payload:
          type: object
          required: [k]
          properties:
            k: {type: string, enum: [a, "b\"c"]}
            n: {type: number}
`),
			[]string{"K string  `json:\"k\"`", "N float64 `json:\"n,omitzero\"`"},
			nil,
			[]string{`  k: "a" | "b\"c";`, "  n?: number;"}},
		{"object property",
			edit(t, "note: {type: string}", "note:\n          type: object\n          description: Who.\n          required: [id]\n          properties:\n            id: {type: integer, format: int64}\n            when: {type: string, format: date-time}"),
			[]string{"Note PingNowNote `json:\"note,omitzero\"`", "// PingNowNote is the note property of PingNow.\n//\n// Who.\ntype PingNowNote struct {",
				"ID   int64     `json:\"id\"`", "When time.Time `json:\"when,omitzero\"`", "p.Note.When = p.Note.When.UTC()"},
			nil,
			[]string{"  note?: { id: number; when?: string };"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			goSrc, tsSrc, err := generate("x.yaml", []byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			typeCheck(t, goSrc)
			for _, w := range tt.goWant {
				if !bytes.Contains(goSrc, []byte(w)) {
					t.Errorf("Go output lacks %q:\n%s", w, goSrc)
				}
			}
			for _, w := range tt.goAbsent {
				if bytes.Contains(goSrc, []byte(w)) {
					t.Errorf("Go output has %q", w)
				}
			}
			for _, w := range tt.tsWant {
				if !bytes.Contains(tsSrc, []byte(w)) {
					t.Errorf("TypeScript output lacks %q:\n%s", w, tsSrc)
				}
			}
			if n := bytes.Count(goSrc, []byte("\nfunc NewGone(")); n > 1 {
				t.Errorf("message listed twice generated %d times", n)
			}
		})
	}
}

// typeCheck fails t unless src is a Go package that compiles.
func typeCheck(t testing.TB, src []byte) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "events_gen.go", src, parser.ParseComments)
	if err != nil {
		t.Fatalf("generated Go does not parse: %v\n%s", err, src)
	}
	conf := types.Config{Importer: importer.Default()}
	if _, err := conf.Check("events", fset, []*ast.File{f}, nil); err != nil {
		t.Fatalf("generated Go does not compile: %v\n%s", err, src)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	// The same messages and rooms in another order give the same bytes.
	swapped := strings.NewReplacer(
		"      ping: {$ref: \"#/components/messages/ping\"}\n      gone: {$ref: \"#/components/messages/gone\"}\n",
		"      gone: {$ref: \"#/components/messages/gone\"}\n      ping: {$ref: \"#/components/messages/ping\"}\n",
	).Replace(base)
	if swapped == base {
		t.Fatal("replacement did nothing")
	}
	g1, t1, err1 := generate("x.yaml", []byte(base))
	g2, t2, err2 := generate("x.yaml", []byte(swapped))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !bytes.Equal(g1, g2) || !bytes.Equal(t1, t2) {
		t.Error("output depends on the order of messages")
	}
}

// TestGeneratedFilesAreUpToDate is the golden test: the committed outputs are what the committed spec gives.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	src, err := os.ReadFile("../../asyncapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	goSrc, tsSrc, err := generate("asyncapi.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][]byte{"../../gen/events/events_gen.go": goSrc, "../../clients/typescript/src/gen/events.ts": tsSrc} {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./... (go run ./cmd/asyncgen -in asyncapi.yaml -go gen/events/events_gen.go -ts clients/typescript/src/gen/events.ts)", path)
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(in, []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	goOut, tsOut := filepath.Join(dir, "a", "events_gen.go"), filepath.Join(dir, "b", "events.ts")
	if err := run([]string{"-in", in, "-go", goOut, "-ts", tsOut}); err != nil {
		t.Fatal(err)
	}
	wantGo, wantTS, err := generate("spec.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][]byte{goOut: wantGo, tsOut: wantTS} {
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: got other bytes than generate (err %v)", path, err)
		}
	}
	if err := run([]string{"-in", filepath.Join(dir, "missing.yaml"), "-go", goOut}); err == nil {
		t.Error("run with a missing input succeeded")
	}
	if err := run([]string{"-in", in}); err == nil || !strings.Contains(err.Error(), "nothing to do") {
		t.Errorf("run without outputs: %v", err)
	}
}

func FuzzGenerate(f *testing.F) {
	if spec, err := os.ReadFile("../../asyncapi.yaml"); err == nil {
		f.Add(spec)
	}
	f.Add([]byte(base))
	f.Add([]byte(edit(f, `"user:{user_id}"]`, `"user:{uid}"]`)))
	f.Add([]byte(edit(f, `all: {description: Everyone.}`, "all: &a {description: *a}")))
	f.Add([]byte(edit(f, "name: gone", "name: message")))
	f.Add([]byte("asyncapi: 3.0.0\nchannels: {c: {messages: {m: {name: x, payload: {$ref: '#/channels/c/messages/m'}}}}}"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		goSrc, _, err := generate("fuzz.yaml", doc)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		if _, err := parser.ParseFile(token.NewFileSet(), "events_gen.go", goSrc, parser.ParseComments); err != nil {
			t.Fatalf("generated Go does not parse: %v\n%s", err, goSrc)
		}
	})
}
