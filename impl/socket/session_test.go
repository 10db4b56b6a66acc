package socket

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// newHeartbeatServer is a server with our websocket sessions and a fast heartbeat.
func newHeartbeatServer(t *testing.T, interval, timeout time.Duration) (*Server, string) {
	t.Helper()
	s, url := newBenchServerWith(t, Options{OwnWebsocket: true, PingInterval: interval, PingTimeout: timeout})
	return s, strings.TrimPrefix(url, "http://")
}

// waitFor polls cond until it holds, failing with what() after within.
func waitFor(t *testing.T, within time.Duration, cond func() bool, what func() string) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(what())
		}
	}
}

// held is what the server holds for sessions: its sessions, engine table entries, timers,
// sockets by contact (and the namespace's sockets and rooms), watched connections.
func held(s *Server) (sessions, engine, timers, users, watched int) {
	s.mu.Lock()
	users = len(s.byUser)
	s.mu.Unlock()
	users += s.io.Sockets().Sockets().Len() + s.io.Sockets().Adapter().Rooms().Len()
	if s.poller != nil {
		watched = pollerEntries(s.poller)
	}
	return s.Sessions(), s.io.Engine().Clients().Len(), s.timers.len(), users, watched
}

func heldNothing(s *Server) bool {
	a, b, c, d, e := held(s)
	return a+b+c+d+e == 0
}

func heldString(s *Server) string {
	a, b, c, d, e := held(s)
	return "still held: " + strings.Join([]string{itoa(a) + " sessions", itoa(b) + " engine entries", itoa(c) + " timers",
		itoa(d) + " contacts, sockets or rooms", itoa(e) + " watched connections"}, ", ")
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSilentClientClosedByHeartbeat: a client that stops answering pings is closed within
// pingInterval+pingTimeout of its last pong, and its closed session leaves no entry, timer or
// goroutine behind.
func TestSilentClientClosedByHeartbeat(t *testing.T) {
	const interval, timeout = 200 * time.Millisecond, 200 * time.Millisecond
	s, addr := newHeartbeatServer(t, interval, timeout)
	runtime.GC()
	g0 := runtime.NumGoroutine()
	c := dialRaw(t, addr)
	defer c.nc.Close()
	waitJoined(t, s, 1)
	start := time.Now()
	// The client reads but never answers: a PING, then the end of the connection.
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	p, err := readServerFrame(c.br)
	if err != nil || string(p) != "2" {
		t.Fatalf("want a PING, got %q %v", p, err)
	}
	for {
		if _, err := readServerFrame(c.br); err != nil {
			break
		}
	}
	if d := time.Since(start); d > interval+timeout+time.Second { // the slack: a loaded machine
		t.Fatalf("closed after %v, want within %v", d, interval+timeout)
	}
	waitFor(t, 5*time.Second, func() bool { return heldNothing(s) }, func() string { return heldString(s) })
	waitFor(t, 5*time.Second, func() bool { return runtime.NumGoroutine() <= g0 }, func() string {
		return "goroutines: " + itoa(runtime.NumGoroutine()-g0) + " more than before the client"
	})
}

// TestAnsweringClientStaysConnected: a client that answers every ping stays connected for many
// heartbeats, and gets a broadcast at the end.
func TestAnsweringClientStaysConnected(t *testing.T) {
	const interval, timeout = 100 * time.Millisecond, time.Second // a pong late on a loaded machine is not a failure here
	s, addr := newHeartbeatServer(t, interval, timeout)
	c := dialRaw(t, addr)
	defer c.nc.Close()
	waitJoined(t, s, 1)
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := range 8 {
		p, err := readServerFrame(c.br)
		if err != nil || string(p) != "2" {
			t.Fatalf("ping %d: got %q %v", i, p, err)
		}
		if _, err := c.nc.Write(clientFrame("3")); err != nil {
			t.Fatal(err)
		}
	}
	if pdg, _ := s.CountSockets(); pdg != 1 {
		t.Fatalf("%d PDG sockets after 8 heartbeats, want 1", pdg)
	}
	// A connected socket has two timers: its heartbeat and its token's expiry (the connect
	// timeout stopped at its CONNECT); the heartbeat is out of the heap for the moment it fires.
	waitFor(t, time.Second, func() bool { return s.timers.len() == 2 }, func() string {
		return itoa(s.timers.len()) + " timers for one connected socket, want 2"
	})
	sess, ok := s.socketsOf(1)[0].Conn().(*wsSession)
	if !ok {
		t.Fatal("a websocket handshake is not our session")
	}
	if sess.Request() != nil {
		t.Fatal("the handshake request is still held after the socket connected")
	}
}

// TestHostileClientPingClosesSession: Engine.IO v4 clients never ping; one that does is closed.
// So is one that sends a packet that does not decode.
func TestHostileClientPingClosesSession(t *testing.T) {
	for name, msg := range map[string]string{"ping": "2", "unknown packet type": "9x", "empty": ""} {
		t.Run(name, func(t *testing.T) {
			s, addr := newHeartbeatServer(t, time.Minute, time.Minute)
			c := dialRaw(t, addr)
			defer c.nc.Close()
			waitJoined(t, s, 1)
			if _, err := c.nc.Write(clientFrame(msg)); err != nil {
				t.Fatal(err)
			}
			_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				if _, err := readServerFrame(c.br); err != nil {
					break
				}
			}
			waitFor(t, 5*time.Second, func() bool { return heldNothing(s) }, func() string { return heldString(s) })
		})
	}
}

// TestHostilePollingWithWebsocketSessionId: a websocket session's id names no polling session,
// and a second websocket cannot take it over; the session goes on.
func TestHostilePollingWithWebsocketSessionId(t *testing.T) {
	s, addr := newHeartbeatServer(t, time.Minute, time.Minute)
	c := dialRaw(t, addr)
	defer c.nc.Close()
	waitJoined(t, s, 1)
	sid := s.socketsOf(1)[0].Conn().Id()
	status, body, _ := pollGet(t, "http://"+addr+"/socket.io/?EIO=4&transport=polling&sid="+sid)
	if status != 400 {
		t.Fatalf("polling with a websocket session's id: %d %s, want 400", status, body)
	}
	if pdg, _ := s.CountSockets(); pdg != 1 {
		t.Fatalf("%d PDG sockets, want 1", pdg)
	}
}

// TestTimersFireInOrderAndStop: the process's timers run each func once at its time, in the
// order of their deadlines; a stopped or rescheduled timer does not fire at its old time.
func TestTimersFireInOrderAndStop(t *testing.T) {
	ts := newTimers()
	defer ts.close()
	var mu sync.Mutex
	var got []string
	done := make(chan struct{})
	mk := func(name string) *timer {
		return &timer{i: -1, f: func() {
			mu.Lock()
			got = append(got, name)
			n := len(got)
			mu.Unlock()
			if n == 3 {
				close(done)
			}
		}}
	}
	a, b, c, d := mk("a"), mk("b"), mk("c"), mk("d")
	ts.schedule(c, 60*time.Millisecond)
	ts.schedule(a, 20*time.Millisecond)
	ts.schedule(d, 30*time.Millisecond)
	ts.schedule(b, 500*time.Millisecond)
	ts.schedule(b, 40*time.Millisecond) // rescheduled earlier
	if !ts.stop(d) || ts.stop(d) {
		t.Fatal("stop: want true then false")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("timers did not fire")
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, "") != "abc" {
		t.Fatalf("fired %v, want a b c", got)
	}
	if ts.len() != 0 {
		t.Fatalf("%d timers left", ts.len())
	}
}

func pollGet(t *testing.T, url string) (int, string, error) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), nil
}

// TestHostileHandshakeCannotMakeSessionHoldMore: what a session keeps for its life from its
// handshake is bounded: a long query is refused (400, the contract's error), a padded
// X-Forwarded-For is not kept, and the auth payload (token and anything else) is not kept.
func TestHostileHandshakeCannotMakeSessionHoldMore(t *testing.T) {
	s, addr := newHeartbeatServer(t, time.Minute, time.Minute)
	long := strings.Repeat("x", 2000)
	for _, transport := range []string{"polling", "websocket"} {
		status, body, _ := pollGet(t, "http://"+addr+"/socket.io/?EIO=4&transport="+transport+"&junk="+long)
		if status != http.StatusBadRequest || !strings.Contains(body, `"invalid_request"`) {
			t.Fatalf("%s handshake with a 2 KB query: %d %s, want 400 invalid_request", transport, status, body)
		}
	}
	c := dialRawWith(t, addr, "X-Forwarded-For: "+strings.Repeat("1.2.3.4, ", 100)+"5.6.7.8\r\n", `40{"token":"pdg","junk":"`+long+`"}`)
	defer c.nc.Close()
	waitJoined(t, s, 1)
	hs := s.socketsOf(1)[0].Handshake()
	if _, ok := hs.Headers["X-Forwarded-For"]; ok {
		t.Fatalf("a 900-byte X-Forwarded-For is kept: %v", hs.Headers)
	}
	if hs.Auth != nil {
		t.Fatalf("the auth payload is kept: %d keys", len(hs.Auth))
	}
	if s.Sessions() != 1 {
		t.Fatalf("%d sessions, want 1 (the refused handshakes hold none)", s.Sessions())
	}
}

// TestCloseEndsEverySession: closing the server ends every websocket session (the engine's
// Close reaches ours through its table), and leaves no goroutine behind: not the poller's, not
// the timers'.
func TestCloseEndsEverySession(t *testing.T) {
	runtime.GC()
	g0 := runtime.NumGoroutine()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := New(Options{FrontendURL: "http://localhost:5173", OwnWebsocket: true}, fakeAuth{}, fakeAuth{}, log)
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	clients := dialRawJoined(t, s, hs.URL, 5)
	s.Close()
	for i, c := range clients {
		_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, err := readServerFrame(c.br); err != nil {
				if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
					t.Fatalf("client %d: still connected 5 s after the server closed", i)
				}
				break
			}
		}
		_ = c.nc.Close()
	}
	if n := s.io.Engine().Clients().Len(); n != 0 {
		t.Fatalf("%d sessions in the engine's table after Close", n)
	}
	hs.Close()
	waitFor(t, 5*time.Second, func() bool { return runtime.NumGoroutine() <= g0 }, func() string {
		return "goroutines: " + itoa(runtime.NumGoroutine()-g0) + " more than before the server"
	})
}
