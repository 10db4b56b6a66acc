package socket

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/gen/events"
)

// rawClient is an authenticated PDG socket held with nothing but its TCP connection: no
// goroutine, no buffer, so that what a benchmark measures in this process is the server's side.
type rawClient struct {
	nc net.Conn
	br *bufio.Reader
}

// clientFrame is a masked (zero key) client-to-server text frame.
func clientFrame(payload string) []byte {
	b := []byte{0x81, 0x80 | byte(len(payload)), 0, 0, 0, 0}
	return append(b, payload...)
}

// readServerFrame reads one unmasked server frame's payload.
func readServerFrame(br *bufio.Reader) ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, err
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return nil, err
		}
		n = int(l[0])<<8 | int(l[1])
	case 127:
		return nil, fmt.Errorf("frame too long")
	}
	p := make([]byte, n)
	_, err := io.ReadFull(br, p)
	return p, err
}

func dialRaw(tb testing.TB, addr string) *rawClient {
	tb.Helper()
	return dialRawWith(tb, addr, "", `40{"token":"pdg"}`)
}

// upgradeRequest is a websocket upgrade request for an Engine.IO session at addr: query follows
// "EIO=4&transport=websocket" (e.g. "&sid=..."), headers are extra lines, each ending in CRLF.
func upgradeRequest(addr, query, headers string) string {
	return "GET /socket.io/?EIO=4&transport=websocket" + query + " HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		headers + "\r\n"
}

// openRaw upgrades a raw websocket, with extra request headers, and reads the Engine.IO OPEN
// packet; no CONNECT yet.
func openRaw(tb testing.TB, addr, headers string) *rawClient {
	tb.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.WriteString(nc, upgradeRequest(addr, "", headers)); err != nil {
		tb.Fatal(err)
	}
	br := bufio.NewReaderSize(nc, 512)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		tb.Fatalf("upgrade: %v %v", resp, err)
	}
	if open, err := readServerFrame(br); err != nil || !bytes.HasPrefix(open, []byte("0{")) {
		tb.Fatalf("engine.io open: %q %v", open, err)
	}
	return &rawClient{nc: nc, br: br}
}

// dialRawWith is dialRaw with extra request headers (each line ending in CRLF) and CONNECT packet.
func dialRawWith(tb testing.TB, addr, headers, connect string) *rawClient {
	tb.Helper()
	c := openRaw(tb, addr, headers)
	if _, err := c.nc.Write(maskedFrame(true, opText, []byte(connect))); err != nil {
		tb.Fatal(err)
	}
	if ack, err := readServerFrame(c.br); err != nil || !bytes.HasPrefix(ack, []byte("40{")) {
		tb.Fatalf("socket.io connect: %q %v", ack, err)
	}
	return c
}

// BenchmarkIdleSocket measures what an idle authenticated websocket socket holds on the server:
// heap and goroutine stacks after a GC (B/socket is their sum), and goroutines, per socket (the
// clients hold only their TCP connection in this process; their share, ~1 KB, is in the figure).
// IDLE_HEAP_PROFILE=file writes a heap profile of every allocation (go tool pprof
// -sample_index=inuse_space), IDLE_GOROUTINE_PROFILE=file the goroutines' stacks.
func BenchmarkIdleSocket(b *testing.B) {
	for _, tr := range transportVariants {
		b.Run("transport="+tr.name, func(b *testing.B) { benchIdle(b, tr.opts) })
	}
}

func benchIdle(b *testing.B, opts Options) {
	const n = 1000
	if os.Getenv("IDLE_HEAP_PROFILE") != "" {
		old := runtime.MemProfileRate
		runtime.MemProfileRate = 1 // every allocation: the profile adds up to the socket's bytes
		defer func() { runtime.MemProfileRate = old }()
	}
	for b.Loop() {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		opts.FrontendURL = "http://localhost:5173"
		s := New(opts, fakeAuth{}, fakeAuth{}, log)
		hs := httptest.NewServer(s.Handler())
		url := hs.URL
		addr := strings.TrimPrefix(url, "http://")
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		clients := make([]*rawClient, n)
		for i := range clients {
			clients[i] = dialRaw(b, addr)
			clients[i].br = nil // the client keeps nothing but its connection
		}
		waitJoined(b, s, n)
		time.Sleep(100 * time.Millisecond)
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&after)
		g1 := runtime.NumGoroutine()
		if path := os.Getenv("IDLE_HEAP_PROFILE"); path != "" { // what the sockets hold: go tool pprof -sample_index=inuse_space
			if f, err := os.Create(path); err == nil {
				_ = pprof.WriteHeapProfile(f)
				_ = f.Close()
			}
		}
		if path := os.Getenv("IDLE_GOROUTINE_PROFILE"); path != "" {
			if f, err := os.Create(path); err == nil {
				_ = pprof.Lookup("goroutine").WriteTo(f, 1)
				_ = f.Close()
			}
		}
		heap := float64(after.HeapInuse) - float64(before.HeapInuse)
		stack := float64(after.StackInuse) - float64(before.StackInuse)
		b.ReportMetric((heap+stack)/n, "B/socket")
		b.ReportMetric(heap/n, "heap-B/socket")
		b.ReportMetric(stack/n, "stack-B/socket")
		b.ReportMetric(float64(g1-g0)/n, "goroutines/socket")
		for _, c := range clients {
			_ = c.nc.Close()
		}
		s.Close()
		hs.Close()
		time.Sleep(200 * time.Millisecond)
	}
}

// BenchmarkWriteFrame measures writing one broadcast frame to one socket through wsTransport's
// direct path: one non-blocking write(2), nothing allocated.
func BenchmarkWriteFrame(b *testing.B) {
	s, url := newBenchServerWith(b, Options{OwnWebsocket: true})
	c := dialRaw(b, strings.TrimPrefix(url, "http://"))
	waitJoined(b, s, 1)
	socks := s.socketsOf(1)
	if len(socks) != 1 {
		b.Fatalf("%d sockets", len(socks))
	}
	go func() { _, _ = io.Copy(io.Discard, c.nc) }()
	defer c.nc.Close()
	frame := newTextFrame([]byte(`42["artisan-request:approved",{"contact_id":42,"nom_complet":"Amina Diallo","email":"amina@example.com"}]`))
	b.ReportAllocs()
	for b.Loop() {
		if !writeDirect(socks[0], frame) {
			b.Fatal("socket not on the direct path")
		}
	}
}

// TestSlowReaderIsCut: a client that never reads gets at most maxPendingBytes queued, then its
// connection is closed.
func TestSlowReaderIsCut(t *testing.T) {
	s, url := newBenchServerWith(t, Options{OwnWebsocket: true})
	c := dialRaw(t, strings.TrimPrefix(url, "http://"))
	defer c.nc.Close()
	waitJoined(t, s, 1)
	socks := s.socketsOf(1)
	frame := newTextFrame(bytes.Repeat([]byte("x"), 64<<10))
	deadline := time.Now().Add(10 * time.Second)
	for writeDirect(socks[0], frame) {
		if time.Now().After(deadline) {
			t.Fatal("the socket of a client that does not read still takes writes")
		}
	}
	// Its connection is closed: the client reads what the kernel holds, then EOF.
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c.nc); err != nil {
		t.Fatalf("connection not closed: %v", err)
	}
}

// BenchmarkBroadcast measures the server's side of one broadcast to the PDG room of n sockets
// on wsTransport: the clients hold only their TCP connections and read nothing during the run
// (the kernel's buffers take the frames), so that every allocation counted is the server's.
// allocs/op must not grow with n: a broadcast allocates per event, never per socket.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{300, 600} {
		b.Run(fmt.Sprintf("sockets=%d", n), func(b *testing.B) { benchBroadcast(b, n) })
	}
}

func benchBroadcast(b *testing.B, n int) {
	s, url := newBenchServerWith(b, Options{OwnWebsocket: true})
	dialRawJoined(b, s, url, n)
	m, err := events.NewArtisanRequestApproved(events.ArtisanRequestApproved{ContactID: 42, NomComplet: "Amina Diallo", Email: "amina@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Deliver(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
}

// dialRawJoined dials n raw websocket clients to url, closed at the end of the test, and waits
// until s has them all in the PDG room.
func dialRawJoined(tb testing.TB, s *Server, url string, n int) []*rawClient {
	tb.Helper()
	clients := make([]*rawClient, n)
	for i := range clients {
		clients[i] = dialRaw(tb, strings.TrimPrefix(url, "http://"))
	}
	tb.Cleanup(func() {
		for _, c := range clients {
			_ = c.nc.Close()
		}
	})
	waitJoined(tb, s, n)
	return clients
}
