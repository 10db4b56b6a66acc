package socket

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/artisan-notify/artisan-notify/gen/events"
	"github.com/artisan-notify/artisan-notify/impl/domain"
)

func newGuardedServer(t *testing.T, l Limits) (*Server, string) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := New(Options{FrontendURL: "http://localhost:5173", Limits: l}, fakeAuth{}, fakeAuth{}, log)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { s.Close(); hs.Close() })
	return s, hs.URL
}

// pollHandshake opens an Engine.IO polling session and returns its status and sid.
func pollHandshake(t *testing.T, c *http.Client, url string) (int, string, http.Header) {
	t.Helper()
	r, err := c.Get(url + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" {
			t.Fatalf("refused handshake: %d %q, want the contract's error shape", r.StatusCode, b)
		}
		return r.StatusCode, "", r.Header
	}
	var open struct {
		Sid string `json:"sid"`
	}
	if err := json.Unmarshal(b[1:], &open); err != nil {
		t.Fatalf("open packet %q: %v", b, err)
	}
	return r.StatusCode, open.Sid, r.Header
}

func waitSessions(t *testing.T, s *Server, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for s.Sessions() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d engine sessions open, want %d", s.Sessions(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHostileHandshakeFloodCappedPerAddress(t *testing.T) {
	s, url := newGuardedServer(t, Limits{SessionsPerIP: 5})
	c := &http.Client{}
	ok, refused := 0, 0
	for range 40 {
		code, _, h := pollHandshake(t, c, url)
		switch code {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			refused++
			if h.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		default:
			t.Fatalf("handshake: %d", code)
		}
	}
	if ok != 5 || refused != 35 || s.Sessions() != 5 {
		t.Fatalf("%d admitted, %d refused, %d open; want 5, 35, 5", ok, refused, s.Sessions())
	}
}

func TestHostileHandshakeRateLimitedPerAddress(t *testing.T) {
	_, url := newGuardedServer(t, Limits{Handshakes: &countLimiter{n: 3}})
	c := &http.Client{}
	var codes []int
	for range 5 {
		code, _, _ := pollHandshake(t, c, url)
		codes = append(codes, code)
	}
	if codes[2] != 200 || codes[3] != 429 || codes[4] != 429 {
		t.Fatalf("handshake answers %v, want 3 admitted then 429", codes)
	}
}

// countLimiter allows n events per key.
type countLimiter struct {
	n    int
	seen map[string]int
}

func (l *countLimiter) Allow(key string) (bool, time.Duration) {
	if l.seen == nil {
		l.seen = map[string]int{}
	}
	l.seen[key]++
	return l.seen[key] <= l.n, time.Second
}

func TestHostileSessionsWithoutConnectClosedAtConnectTimeout(t *testing.T) {
	s, url := newGuardedServer(t, Limits{ConnectTimeout: 300 * time.Millisecond})
	c := &http.Client{}
	_, sid, _ := pollHandshake(t, c, url)
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	// an authenticated one stays
	ok, _, _ := rawConnect(t, url, map[string]any{"token": "pdg"})
	defer ok.Close()
	waitSessions(t, s, 3, time.Second)
	waitSessions(t, s, 1, 2*time.Second)
	r, err := c.Get(url + "/socket.io/?EIO=4&transport=polling&sid=" + sid)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusBadRequest {
		t.Fatalf("poll of a timed-out session: %d, want 400 (unknown session)", r.StatusCode)
	}
	_ = ws.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			break // closed by the server
		}
	}
}

func TestHostileNamespaceDisconnectEndsConnection(t *testing.T) {
	s, url := newGuardedServer(t, Limits{})
	c, _, _ := rawConnect(t, url, map[string]any{"token": "pdg"})
	defer c.Close()
	waitSessions(t, s, 1, time.Second)
	if err := c.WriteMessage(websocket.TextMessage, []byte("41")); err != nil {
		t.Fatal(err)
	}
	waitSessions(t, s, 0, 2*time.Second)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatal("the connection is still open after its only socket left")
			}
			return
		}
	}
}

// flakyUsers is fakeAuth whose user loads fail once broken is set.
type flakyUsers struct {
	fakeAuth
	broken atomic.Bool
}

func (f *flakyUsers) User(ctx context.Context, id int64) (domain.User, error) {
	if f.broken.Load() {
		return domain.User{}, errors.New("database unreachable")
	}
	return f.fakeAuth.User(ctx, id)
}

func TestHostileRevocationFailsClosedWhenUserCannotBeLoaded(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	users := &flakyUsers{}
	s := New(Options{FrontendURL: "http://localhost:5173"}, fakeAuth{}, users, log)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { s.Close(); hs.Close() })
	c, _, _ := rawConnect(t, hs.URL, map[string]any{"token": "pdg"})
	defer c.Close()
	waitJoined(t, s, 1)
	users.broken.Store(true)
	// the relay's message that contact 1 changed (it may be a revocation): its user cannot be loaded
	if err := s.Deliver(context.Background(), mustMessage(events.NewInternalUserChanged(events.InternalUserChanged{ContactID: 1}))); err == nil {
		t.Fatal("Deliver: no error although the user could not be loaded")
	}
	if _, p := readPacket(t, c); p != "41" {
		t.Fatalf("socket of a contact that could not be reloaded: %q, want 41 (disconnected)", p)
	}
	waitJoined(t, s, 0)
}

func TestHostileClientEventFloodEndsSocket(t *testing.T) {
	s, url := newGuardedServer(t, Limits{})
	c, _, _ := rawConnect(t, url, map[string]any{"token": "pdg"})
	defer c.Close()
	waitJoined(t, s, 1)
	for range 100 {
		if err := c.WriteMessage(websocket.TextMessage, []byte(`42["artisan-request:approved",{"contact_id":1}]`)); err != nil {
			break // already closed
		}
	}
	waitSessions(t, s, 0, 2*time.Second)
	waitJoined(t, s, 0)
}

func mustMessage(m events.Message, err error) events.Message {
	if err != nil {
		panic(err)
	}
	return m
}
