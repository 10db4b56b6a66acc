package socket

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"artisan-notify/gen/events"
)

// rawConnect opens an Engine.IO websocket and sends the Socket.IO connect packet with auth; it
// returns the connection, the connect acknowledgement's payload and the events received before
// it (a recovered socket's missed events come first; socket.io-client buffers them).
func rawConnect(t *testing.T, url string, auth map[string]any) (*websocket.Conn, map[string]any, []string) {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadMessage(); err != nil { // engine.io open
		t.Fatal(err)
	}
	b, _ := json.Marshal(auth)
	if err := c.WriteMessage(websocket.TextMessage, append([]byte("40"), b...)); err != nil {
		t.Fatal(err)
	}
	var early []string
	for {
		_, p := readPacket(t, c)
		if strings.HasPrefix(p, "42") {
			early = append(early, p)
			continue
		}
		if !strings.HasPrefix(p, "40") {
			t.Fatalf("connect ack: %q", p)
		}
		var data map[string]any
		if err := json.Unmarshal([]byte(p[2:]), &data); err != nil {
			t.Fatal(err)
		}
		return c, data, early
	}
}

// readPacket returns the next non-ping packet.
func readPacket(t *testing.T, c *websocket.Conn) (int, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		mt, p, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if string(p) == "2" {
			_ = c.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		}
		return mt, string(p)
	}
}

// readEvent returns the next event's array: [name, payload, offset].
func readEvent(t *testing.T, c *websocket.Conn) []any {
	t.Helper()
	_, p := readPacket(t, c)
	return parseEvent(t, p)
}

func parseEvent(t *testing.T, p string) []any {
	t.Helper()
	if !strings.HasPrefix(p, "42") {
		t.Fatalf("want an event packet, got %q", p)
	}
	var ev []any
	if err := json.Unmarshal([]byte(p[2:]), &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestRecovery: a socket that lost its connection gets, on reconnecting with its pid and last
// offset, the events of its rooms sent meanwhile (and only those), in order, in the same rooms.
func TestRecovery(t *testing.T) {
	s, url := newBenchServer(t)
	c, ack, _ := rawConnect(t, url, map[string]any{"token": "pdg"})
	pid, _ := ack["pid"].(string)
	if pid == "" {
		t.Fatalf("no pid in %v", ack)
	}
	deliver := func(id int64) {
		m, err := events.NewArtisanRequestRejected(events.ArtisanRequestRejected{ContactID: id})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Deliver(m); err != nil {
			t.Fatal(err)
		}
	}
	waitJoined(t, s, 1)
	deliver(1)
	ev := readEvent(t, c)
	if len(ev) != 3 || ev[0] != events.EventArtisanRequestRejected {
		t.Fatalf("event: %v", ev)
	}
	offset, _ := ev[2].(string)
	_ = c.UnderlyingConn().Close() // transport close: recoverable
	time.Sleep(200 * time.Millisecond)

	deliver(2)
	deliver(3)
	// not for this socket: another contact's room only
	other, err := events.NewArtisanRequestApproved(events.ArtisanRequestApproved{ContactID: 9})
	if err != nil {
		t.Fatal(err)
	}
	other.Rooms = []string{events.UserRoom(9)}
	if err := s.Deliver(other); err != nil {
		t.Fatal(err)
	}

	c2, ack2, missed := rawConnect(t, url, map[string]any{"token": "pdg", "pid": pid, "offset": offset})
	defer c2.Close()
	if ack2["sid"] != ack["sid"] {
		t.Fatalf("not recovered: sid %v, was %v", ack2["sid"], ack["sid"])
	}
	if len(missed) != 2 {
		t.Fatalf("missed events: %q, want contact_id 2 and 3", missed)
	}
	for i, want := range []float64{2, 3} {
		ev := parseEvent(t, missed[i])
		if p, _ := ev[1].(map[string]any); p["contact_id"] != want {
			t.Fatalf("missed event: %v, want contact_id %v", ev, want)
		}
	}
	// still in its rooms: a new event arrives
	deliver(4)
	if ev := readEvent(t, c2); ev[1].(map[string]any)["contact_id"] != float64(4) {
		t.Fatalf("after recovery: %v", ev)
	}

	// an unknown offset: a fresh session
	c3, ack3, _ := rawConnect(t, url, map[string]any{"token": "pdg", "pid": pid, "offset": "nope"})
	defer c3.Close()
	if ack3["sid"] == ack["sid"] {
		t.Fatalf("recovered with an unknown offset: %v", ack3)
	}
}
