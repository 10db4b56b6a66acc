package main

import (
	"bytes"
	"strings"
	"testing"
)

// internalDoc is base with an internal message, marked on the message.
var internalDoc = strings.Replace(base, "      gone: {$ref: \"#/components/messages/gone\"}\n",
	"      gone: {$ref: \"#/components/messages/gone\"}\n      changed: {$ref: \"#/components/messages/changed\"}\n", 1) + `    changed:
      name: "internal:changed"
      summary: Something changed.
      x-internal: true
      x-rooms: ["user:{user_id}"]
      payload:
        type: object
        required: [user_id]
        properties:
          user_id: {type: integer, format: int64}
`

func TestGenerateInternalEvents(t *testing.T) {
	// The same message in a channel marked x-internal, instead of marked itself.
	inChannel := strings.Replace(internalDoc, "      x-internal: true\n", "", 1)
	inChannel = strings.Replace(inChannel, "      changed: {$ref: \"#/components/messages/changed\"}\n", "", 1)
	inChannel = strings.Replace(inChannel, "components:\n", `  relay:
    address: null
    x-internal: true
    messages:
      changed: {$ref: "#/components/messages/changed"}
components:
`, 1)
	for name, doc := range map[string]string{"message marked": internalDoc, "channel marked": inChannel} {
		t.Run(name, func(t *testing.T) {
			goSrc, tsSrc, err := generate("x.yaml", []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			typeCheck(t, goSrc)
			for _, want := range []string{
				`EventInternalChanged = "internal:changed"`,
				"func IsInternal(event string) bool {\n\tswitch event {\n\tcase EventInternalChanged:\n\t\treturn true\n\t}\n\treturn false\n}",
				"type InternalChanged struct {",
				"return newMessage(EventInternalChanged, []string{UserRoom(p.UserID)}, p)",
				"func DecodeInternalChanged(m Message) (InternalChanged, error) {",
				"func DecodePingNow(m Message) (PingNow, error) {",
				"It is internal: relayed between the server's nodes, never sent to clients.",
			} {
				if !bytes.Contains(goSrc, []byte(want)) {
					t.Errorf("Go output lacks %q:\n%s", want, goSrc)
				}
			}
			if bytes.Contains(tsSrc, []byte("internal:changed")) || bytes.Contains(tsSrc, []byte("InternalChanged")) {
				t.Errorf("the TypeScript client has the internal event:\n%s", tsSrc)
			}
			page, err := renderHTML("x.yaml", []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(page, []byte("internal:changed")) {
				t.Error("the events page lists the internal event among the client events")
			}
			if !bytes.Contains(page, []byte("ping:now")) {
				t.Error("the events page lost a client event")
			}
		})
	}
	t.Run("no internal event", func(t *testing.T) {
		goSrc, _, err := generate("x.yaml", []byte(base))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(goSrc, []byte("func IsInternal(event string) bool {\n\treturn false\n}")) {
			t.Errorf("IsInternal without internal events:\n%s", goSrc)
		}
	})
}

func TestGenerateInternalErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"x-internal not a boolean", strings.Replace(internalDoc, "x-internal: true", "x-internal: yes please", 1), "x-internal must be true or false"},
		{"channel x-internal not a boolean", strings.Replace(base, "    address: /\n", "    address: /\n    x-internal: [true]\n", 1), "x.yaml:6:17: x-internal must be true or false"},
		{"internal name that collides", strings.Replace(internalDoc, `name: "internal:changed"`, `name: "ping-now"`, 1), "both generate the name PingNow"},
		{"internal name that collides with IsInternal", strings.Replace(internalDoc, `name: "internal:changed"`, `name: "is-internal"`, 1), "both generate the name IsInternal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := generate("x.yaml", []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}
