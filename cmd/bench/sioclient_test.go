package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name, in        string
		wantName, wantA string
		ok              bool
	}{
		{"event with object", `["artisan-request:approved",{"contact_id":12,"email":"a@b.c"}]`,
			"artisan-request:approved", `{"contact_id":12,"email":"a@b.c"}`, true},
		{"no argument", `["ping-me"]`, "ping-me", "", true},
		{"spaces", ` [ "e" , {"a":1} ] `, "e", `{"a":1}`, true},
		{"ack id", `7["e",1]`, "e", "1", true},
		{"namespace and ack id", `/admin,7["e",{"x":[1,2]}]`, "e", `{"x":[1,2]}`, true},
		{"escaped name", `["a\"b",{"c":1}]`, `a"b`, `{"c":1}`, true},
		{"two arguments: arg is the rest", `["e",1,2]`, "e", "1,2", true},
		{"not an array", `{"e":1}`, "", "", false},
		{"name not a string", `[1,2]`, "", "", false},
		{"empty", ``, "", "", false},
		{"garbage after name", `["e"x]`, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, arg, ok := parseEvent([]byte(tt.in))
			if ok != tt.ok || string(name) != tt.wantName || string(arg) != tt.wantA {
				t.Errorf("parseEvent(%q) = %q, %q, %v; want %q, %q, %v", tt.in, name, arg, ok, tt.wantName, tt.wantA, tt.ok)
			}
		})
	}
}

func TestJSONInt(t *testing.T) {
	tests := []struct {
		obj, key string
		want     int64
		ok       bool
	}{
		{`{"contact_id":12,"nom_complet":"A B"}`, "contact_id", 12, true},
		{`{ "contact_id" : 9007199254740993 }`, "contact_id", 9007199254740993, true},
		{`{"email":"contact_id","contact_id":5}`, "contact_id", 5, true}, // key text first seen as a value
		{`{"contact_id":-3}`, "contact_id", -3, true},
		{`{"contact_id":"12"}`, "contact_id", 0, false},
		{`{"id":12}`, "contact_id", 0, false},
	}
	for _, tt := range tests {
		got, ok := jsonInt([]byte(tt.obj), tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("jsonInt(%s, %q) = %d, %v; want %d, %v", tt.obj, tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPackets(t *testing.T) {
	if got := string(connectPacket(`a"b`)); got != `40{"token":"a\"b"}` {
		t.Errorf("connectPacket = %s", got)
	}
	if got := connectErrorMessage([]byte(`{"message":"unauthorized","data":{"x":1}}`)); got != "unauthorized" {
		t.Errorf("connectErrorMessage = %q", got)
	}
	if got := connectErrorMessage([]byte(`"boom"`)); got != `"boom"` {
		t.Errorf("connectErrorMessage(raw) = %q", got)
	}
	if typ, data := packetType([]byte("42[]")); typ != eioMessage || string(data) != "2[]" {
		t.Errorf("packetType = %c %q", typ, data)
	}
}

// fakeSIOServer speaks just enough Engine.IO v4 / Socket.IO v5 over websocket: open packet, auth by token "good",
// a ping that must be answered, then one event.
func fakeSIOServer(t *testing.T) *httptest.Server {
	up := websocket.Upgrader{}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/socket.io/" || r.URL.Query().Get("EIO") != "4" || r.URL.Query().Get("transport") != "websocket" {
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		send := func(s string) { _ = ws.WriteMessage(websocket.TextMessage, []byte(s)) }
		recv := func() string { _, b, _ := ws.ReadMessage(); return string(b) }
		send(`0{"sid":"e1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
		if recv() != `40{"token":"good"}` {
			send(`44{"message":"unauthorized"}`)
			return
		}
		send(`40{"sid":"s1"}`)
		send("2")
		if got := recv(); got != "3" {
			t.Errorf("server got %q, want pong 3", got)
		}
		send(`42["artisan-request:approved",{"contact_id":42,"nom_complet":"A B","email":"a@b.c"}]`)
		send("41")
	}))
}

func TestSIOClient(t *testing.T) {
	srv := fakeSIOServer(t)
	defer srv.Close()
	d, err := newSIODialer(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(d.url, "/socket.io/?EIO=4&transport=websocket") || !strings.HasPrefix(d.url, "ws://") {
		t.Errorf("dial URL %s", d.url)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if _, err := d.dial(ctx, "bad"); !errors.Is(err, errUnauthorized) {
		t.Errorf("dial with a bad token: %v, want errUnauthorized", err)
	}

	c, err := d.dial(ctx, "good")
	if err != nil {
		t.Fatal(err)
	}
	defer c.ws.Close()
	var events []string
	err = c.serve(func(name, arg []byte) {
		id, _ := jsonInt(arg, "contact_id")
		events = append(events, string(name)+"/"+string(rune('0'+id%10)))
	})
	if !errors.Is(err, errServerClosed) {
		t.Errorf("serve ended with %v, want errServerClosed", err)
	}
	if len(events) != 1 || events[0] != "artisan-request:approved/2" {
		t.Errorf("events = %v", events)
	}
}

func TestOpenSockets(t *testing.T) {
	srv := fakeSIOServer(t)
	defer srv.Close()
	d, _ := newSIODialer(srv.URL)
	got := make(chan int, 10)
	set := openSockets(context.Background(), d, 5, 2, "good", func(i int, name, arg []byte) { got <- i })
	for range 5 {
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("an event did not arrive")
		}
	}
	set.close()
	if set.connected.Load() != 5 || set.failed.Load() != 0 {
		t.Errorf("connected %d failed %d", set.connected.Load(), set.failed.Load())
	}
	bad := openSockets(context.Background(), d, 3, 2, "bad", nil)
	bad.close()
	if bad.failed.Load() != 3 || !errors.Is(bad.err(), errUnauthorized) {
		t.Errorf("bad token: failed %d, err %v", bad.failed.Load(), bad.err())
	}
}
