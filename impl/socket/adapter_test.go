package socket

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/artisan-notify/artisan-notify/gen/events"
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

// TestHostileRecoveryReplaysNothing: a socket that dropped and comes back with its old session
// id and offset, without a token, gets no event before its connect_error; with a token it is a
// new socket that gets nothing emitted while it was away. Events carry exactly one argument.
func TestHostileRecoveryReplaysNothing(t *testing.T) {
	s, url := newBenchServer(t)
	c, ack, _ := rawConnect(t, url, map[string]any{"token": "pdg"})
	if _, ok := ack["pid"]; ok {
		t.Fatalf("the CONNECT answer offers a recovery session: %v", ack)
	}
	deliver := func(id int64) {
		t.Helper()
		m, err := events.NewArtisanRequestRejected(events.ArtisanRequestRejected{ContactID: id})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Deliver(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	waitJoined(t, s, 1)
	deliver(1)
	ev := readEvent(t, c)
	if len(ev) != 2 || ev[0] != events.EventArtisanRequestRejected {
		t.Fatalf("event: %v, want [name, payload] and nothing else", ev)
	}
	_ = c.UnderlyingConn().Close() // transport close: what recovery would have recovered from
	waitJoined(t, s, 0)
	deliver(2)
	deliver(3)

	// no token: the first answer is the connect_error, nothing before it
	d, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, _, err := d.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteMessage(websocket.TextMessage, []byte(`40{"pid":"`+fmt.Sprint(ack["sid"])+`","offset":"0"}`)); err != nil {
		t.Fatal(err)
	}
	if _, p := readPacket(t, d); !strings.HasPrefix(p, "44") {
		t.Fatalf("first packet to a socket without a token: %q, want a connect_error", p)
	}

	// a token: a new socket, nothing replayed
	c2, ack2, early := rawConnect(t, url, map[string]any{"token": "pdg", "pid": ack["sid"], "offset": "0"})
	defer c2.Close()
	if ack2["sid"] == ack["sid"] || len(early) > 0 {
		t.Fatalf("reconnected socket: %v, replayed %q", ack2, early)
	}
	waitJoined(t, s, 1)
	deliver(4)
	if ev := readEvent(t, c2); len(ev) != 2 || ev[1].(map[string]any)["contact_id"] != float64(4) {
		t.Fatalf("after reconnecting: %v, want contact 4 only", ev)
	}
}

// TestBigRoomFollowsItsMembers: a room big enough for the adapter to cache its sockets still gets
// each event once per socket (here every PDG socket is also in the approved contact's room), and
// a socket that left gets nothing more.
func TestBigRoomFollowsItsMembers(t *testing.T) {
	for _, tr := range transportVariants {
		t.Run("transport="+tr.name, func(t *testing.T) { testBigRoom(t, tr.opts) })
	}
}

func testBigRoom(t *testing.T, opts Options) {
	s, url := newBenchServerWith(t, opts)
	const n, gone = bigRoom + 44, 10
	var got atomic.Int64
	signal := make(chan struct{}, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // this test counts; the signal must not block a client
		for {
			select {
			case <-signal:
			case <-stop:
				return
			}
		}
	}()
	clients := dialPDG(t, url, n, &got, signal)
	waitJoined(t, s, n)
	defer func() {
		for _, c := range clients {
			_ = c.conn.Close()
		}
	}()
	// Contact 1 is the PDG of every socket: the event's two rooms hold the same sockets.
	m, err := events.NewArtisanRequestApproved(events.ArtisanRequestApproved{ContactID: 1, NomComplet: "Amina Diallo", Email: "amina@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	waitDeliveries := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for got.Load() < want && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		if g := got.Load(); g != want {
			t.Fatalf("got %d deliveries, want %d", g, want)
		}
	}
	for i := range 2 {
		if err := s.Deliver(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		waitDeliveries(int64((i + 1) * n))
	}
	for _, c := range clients[:gone] {
		_ = c.conn.Close()
	}
	waitJoined(t, s, n-gone)
	if err := s.Deliver(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	waitDeliveries(int64(3*n - gone))
}

// TestShardedBroadcastKeepsEachSocketsOrder: a broadcast to a room big enough to be split among
// goroutines reaches every socket once per event, and each socket gets the events in the order
// they were emitted.
func TestShardedBroadcastKeepsEachSocketsOrder(t *testing.T) {
	s, url := newBenchServerWith(t, Options{OwnWebsocket: true})
	a, ok := s.io.Sockets().Adapter().(*fanoutAdapter)
	if !ok {
		t.Fatal("not the fan-out adapter")
	}
	a.workers = 3
	const n, k = 3*minShard + 10, 5
	clients := dialRawJoined(t, s, url, n)
	// Events 1 to k, then k+1: the last tells that nothing came twice before it.
	for id := range int64(k + 1) {
		m, err := events.NewArtisanRequestApproved(events.ArtisanRequestApproved{ContactID: id + 1, NomComplet: "Amina Diallo", Email: "amina@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Deliver(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range clients {
		_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		for want := 1; want <= k+1; want++ {
			p, err := readServerFrame(c.br)
			if err != nil {
				t.Fatalf("socket %d, event %d: %v", i, want, err)
			}
			if prefix := fmt.Sprintf(`42["artisan-request:approved",{"contact_id":%d,`, want); !strings.HasPrefix(string(p), prefix) {
				t.Fatalf("socket %d: got %s, want event %d", i, p, want)
			}
		}
	}
}
