package socket

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/artisan-notify/artisan-notify/gen/events"
	"github.com/artisan-notify/artisan-notify/impl/auth"
	"github.com/artisan-notify/artisan-notify/impl/domain"
)

// fakeAuth accepts every token: "pdg" is contact 1 (a PDG), anything else contact 2.
type fakeAuth struct{}

func (fakeAuth) Verify(token string) (auth.Claims, error) {
	id := int64(2)
	if token == "pdg" {
		id = 1
	}
	return auth.Claims{UserID: id, ExpiresAt: time.Now().Add(time.Hour)}, nil
}

func (fakeAuth) User(_ context.Context, id int64) (domain.User, error) {
	return domain.User{ID: id, IsPDG: id == 1}, nil
}

// benchClient is a raw Engine.IO v4 websocket client (no socket.io client library: its own
// CPU would dominate the measurement) that counts the event packets it receives.
type benchClient struct {
	conn *websocket.Conn
}

// dialPDG connects n PDG sockets to srv and returns them with a counter of received events.
// waitJoined waits until n sockets are in the PDG room: the CONNECT answer can reach a client
// before the connection handler has joined its rooms.
func waitJoined(tb testing.TB, s *Server, n int) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if pdg, _ := s.CountSockets(); pdg == n {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d sockets did not join the PDG room", n)
		}
	}
}

func dialPDG(tb testing.TB, url string, n int, got *atomic.Int64, signal chan<- struct{}) []*benchClient {
	tb.Helper()
	wsURL := "ws" + strings.TrimPrefix(url, "http") + "/socket.io/?EIO=4&transport=websocket"
	d := websocket.Dialer{ReadBufferSize: 512, WriteBufferSize: 512}
	clients := make([]*benchClient, n)
	for i := range clients {
		c, _, err := d.Dial(wsURL, nil)
		if err != nil {
			tb.Fatalf("dial socket %d: %v", i, err)
		}
		if _, open, err := c.ReadMessage(); err != nil || !bytes.HasPrefix(open, []byte("0{")) {
			tb.Fatalf("engine.io open: %q %v", open, err)
		}
		if err := c.WriteMessage(websocket.TextMessage, []byte(`40{"token":"pdg"}`)); err != nil {
			tb.Fatal(err)
		}
		if _, ack, err := c.ReadMessage(); err != nil || !bytes.HasPrefix(ack, []byte("40{")) {
			tb.Fatalf("socket.io connect: %q %v", ack, err)
		}
		clients[i] = &benchClient{conn: c}
		go func() {
			for {
				_, r, err := c.NextReader()
				if err != nil {
					return
				}
				var head [2]byte
				k, _ := io.ReadFull(r, head[:])
				switch {
				case k == 2 && head == [2]byte{'4', '2'}:
					if got.Add(1)%int64(n) == 0 {
						signal <- struct{}{}
					}
				case k >= 1 && head[0] == '2': // engine.io ping
					_ = c.WriteMessage(websocket.TextMessage, []byte("3"))
				}
			}
		}()
	}
	return clients
}

func newBenchServer(tb testing.TB) (*Server, string) {
	tb.Helper()
	return newBenchServerWith(tb, Options{})
}

// newBenchServerWith is newBenchServer with opts (FrontendURL set).
func newBenchServerWith(tb testing.TB, opts Options) (*Server, string) {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.FrontendURL = "http://localhost:5173"
	s := New(opts, fakeAuth{}, fakeAuth{}, log)
	hs := httptest.NewServer(s.Handler())
	tb.Cleanup(func() { s.Close(); hs.Close() })
	return s, hs.URL
}

// BenchmarkDeliver measures one event delivered to n PDG sockets over loopback websockets, until
// the last socket has read it (server and clients share the CPU: the ns/delivery figure is an
// upper bound of the server's cost).
func BenchmarkDeliver(b *testing.B) {
	for _, tr := range transportVariants {
		for _, n := range []int{100, 1000} {
			b.Run(fmt.Sprintf("transport=%s/sockets=%d", tr.name, n), func(b *testing.B) {
				benchDeliver(b, tr.opts, n)
			})
		}
	}
}

// BenchmarkDeliverShards measures one event delivered to 2,000 PDG sockets by one goroutine
// and by GOMAXPROCS of them (inShards), until the last socket has read it.
func BenchmarkDeliverShards(b *testing.B) {
	for _, w := range []int{1, 0} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			benchDeliverWith(b, Options{OwnWebsocket: true}, 2000, w)
		})
	}
}

// transportVariants are the websocket transports a benchmark compares: ours and the library's.
var transportVariants = []struct {
	name string
	opts Options
}{{"ours", Options{OwnWebsocket: true}}, {"library", Options{}}}

func benchDeliver(b *testing.B, opts Options, n int) { benchDeliverWith(b, opts, n, 0) }

// benchDeliverWith is benchDeliver with workers goroutines per broadcast (0: GOMAXPROCS).
func benchDeliverWith(b *testing.B, opts Options, n, workers int) {
	{
		{
			s, url := newBenchServerWith(b, opts)
			if a, ok := s.io.Sockets().Adapter().(*fanoutAdapter); ok {
				a.workers = workers
			}
			var got atomic.Int64
			signal := make(chan struct{}, 1)
			clients := dialPDG(b, url, n, &got, signal)
			waitJoined(b, s, n)
			defer func() {
				for _, c := range clients {
					_ = c.conn.Close()
				}
			}()
			m, err := events.NewArtisanRequestApproved(events.ArtisanRequestApproved{ContactID: 42, NomComplet: "Amina Diallo", Email: "amina@example.com"})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Deliver(context.Background(), m); err != nil {
					b.Fatal(err)
				}
				select {
				case <-signal:
				case <-time.After(10 * time.Second):
					b.Fatalf("only %d deliveries of %d", got.Load()%int64(n), n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
		}
	}
}

// BenchmarkEncodeEvent measures building an event's Message (payload marshalled once per event).
func BenchmarkEncodeEvent(b *testing.B) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := events.NewArtisanRequestNew(events.ArtisanRequestNew{ContactID: 42, Prenom: "Amina", Nom: "Diallo",
				NomComplet: "Amina Diallo", Email: "amina@example.com", TypeCompte: "Artisan/Promoteur", CreatedAt: created}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("approved", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := events.NewArtisanRequestApproved(events.ArtisanRequestApproved{ContactID: 42, NomComplet: "Amina Diallo", Email: "amina@example.com"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rejected", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := events.NewArtisanRequestRejected(events.ArtisanRequestRejected{ContactID: 42}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestDeliverReachesEverySocket is the correctness side of BenchmarkDeliver: every PDG socket
// gets each event exactly once.
func TestDeliverReachesEverySocket(t *testing.T) {
	for _, tr := range transportVariants {
		t.Run("transport="+tr.name, func(t *testing.T) { testDeliverReachesEverySocket(t, tr.opts) })
	}
}

func testDeliverReachesEverySocket(t *testing.T, opts Options) {
	s, url := newBenchServerWith(t, opts)
	const n, events_ = 20, 3
	var got atomic.Int64
	signal := make(chan struct{}, 1)
	clients := dialPDG(t, url, n, &got, signal)
	waitJoined(t, s, n)
	defer func() {
		for _, c := range clients {
			_ = c.conn.Close()
		}
	}()
	m, err := events.NewArtisanRequestRejected(events.ArtisanRequestRejected{ContactID: 7})
	if err != nil {
		t.Fatal(err)
	}
	for i := range events_ {
		if err := s.Deliver(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		select {
		case <-signal:
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d: %d deliveries of %d", i, got.Load()-int64(i*n), n)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if g := got.Load(); g != n*events_ {
		t.Fatalf("got %d deliveries, want %d", g, n*events_)
	}
}
