package socket

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/gen/events"
	"github.com/artisan-notify/artisan-notify/impl/auth"
)

// dialOpen upgrades a raw websocket and reads the Engine.IO OPEN packet; no CONNECT yet.
func dialOpen(t *testing.T, addr string) *rawClient {
	t.Helper()
	c := openRaw(t, addr, "")
	t.Cleanup(func() { c.nc.Close() })
	return c
}

// TestHostilePipelinedConnectsMakeOneSocket: an Engine.IO session is one socket. A client that
// sends many CONNECT packets at once (before the first is answered) gets one socket at most, not
// one per packet (each would cost an authentication, room memberships and a timer, and get every
// event once more, past the per-address session cap): its session is closed, and holds nothing.
func TestHostilePipelinedConnectsMakeOneSocket(t *testing.T) {
	const n = 50
	mostSockets := func(s *Server) int {
		most := 0
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
			pdg, _ := s.CountSockets()
			most = max(most, pdg)
		}
		return most
	}
	for _, tr := range []struct {
		name string
		opts Options
	}{{"own websocket", Options{OwnWebsocket: true}}, {"library websocket", Options{}}} {
		t.Run(tr.name, func(t *testing.T) {
			s, url := newBenchServerWith(t, tr.opts)
			c := dialOpen(t, strings.TrimPrefix(url, "http://"))
			var burst []byte
			for range n {
				burst = append(burst, maskedFrame(true, opText, []byte(`40{"token":"pdg"}`))...)
			}
			if _, err := c.nc.Write(burst); err != nil {
				t.Fatal(err)
			}
			if most := mostSockets(s); most > 1 {
				t.Fatalf("%d sockets from one connection's CONNECTs, want 1", most)
			}
			waitFor(t, 5*time.Second, func() bool { return heldNothing(s) }, func() string { return heldString(s) })
		})
	}
	t.Run("polling", func(t *testing.T) {
		s, url := newBenchServerWith(t, Options{OwnWebsocket: true})
		_, sid, _ := pollHandshake(t, http.DefaultClient, url)
		body := strings.Repeat(`40{"token":"pdg"}`+"\x1e", n-1) + `40{"token":"pdg"}`
		r, err := http.Post(url+"/socket.io/?EIO=4&transport=polling&sid="+sid, "text/plain;charset=UTF-8", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if most := mostSockets(s); most > 1 {
			t.Fatalf("%d sockets from one session's CONNECTs, want 1", most)
		}
		waitFor(t, 5*time.Second, func() bool { return heldNothing(s) }, func() string { return heldString(s) })
	})
}

// readUntilClosed reads server frames until the connection ends; it fails when it is still
// open after within.
func readUntilClosed(t *testing.T, c *rawClient, within time.Duration) {
	t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(within))
	for {
		if _, err := readServerFrame(c.br); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatalf("still connected %v later", within)
			}
			return
		}
	}
}

// TestHostileClientsOffScriptLeaveNothing: whatever a client sends out of order, its session
// ends (at once, or at the connect timeout when it never connects) and the server holds nothing
// for it afterwards: no session, engine entry, timer, contact, watched connection or goroutine.
func TestHostileClientsOffScriptLeaveNothing(t *testing.T) {
	cases := []struct {
		name    string
		connect bool     // a CONNECT first
		frames  [][]byte // then these
		leaves  bool     // then the client closes its end (else the server must)
	}{
		{"event before connect", false, [][]byte{maskedFrame(true, opText, []byte(`42["x"]`))}, false},
		{"connect to another namespace", false, [][]byte{maskedFrame(true, opText, []byte(`40/admin,{"token":"pdg"}`))}, false},
		{"connect without token", false, [][]byte{maskedFrame(true, opText, []byte(`40`))}, false},
		{"binary before connect", false, [][]byte{maskedFrame(true, opBinary, []byte{1, 2, 3})}, false},
		{"binary after connect", true, [][]byte{maskedFrame(true, opBinary, []byte{1, 2, 3})}, false},
		{"second connect", true, [][]byte{maskedFrame(true, opText, []byte(`40{"token":"pdg"}`))}, false},
		{"event after connect", true, [][]byte{maskedFrame(true, opText, []byte(`42["x"]`))}, false},
		{"binary event without its attachment", true, [][]byte{maskedFrame(true, opText, []byte(`451-["x",{"_placeholder":true,"num":0}]`))}, true},
		{"disconnect then more", true, [][]byte{maskedFrame(true, opText, []byte(`41`)), maskedFrame(true, opText, []byte(`42["x"]`))}, false},
		{"pong flood", true, func() (fs [][]byte) {
			for range 500 {
				fs = append(fs, maskedFrame(true, opText, []byte("3")))
			}
			return append(fs, maskedFrame(true, opText, []byte("2")))
		}(), false},
		{"close mid-frame", true, [][]byte{maskedFrame(true, opText, []byte(`42["xxxxxxxxxx"]`))[:8]}, true},
		{"fragment then close frame", true, [][]byte{maskedFrame(false, opText, []byte(`42`)), maskedFrame(true, opClose, []byte{3, 232})}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, url := newBenchServerWith(t, Options{OwnWebsocket: true, PingInterval: time.Minute, PingTimeout: time.Minute,
				Limits: Limits{ConnectTimeout: 500 * time.Millisecond}})
			runtime.GC()
			g0 := runtime.NumGoroutine()
			c := dialOpen(t, strings.TrimPrefix(url, "http://"))
			if tc.connect {
				if _, err := c.nc.Write(maskedFrame(true, opText, []byte(`40{"token":"pdg"}`))); err != nil {
					t.Fatal(err)
				}
				waitJoined(t, s, 1)
			}
			for _, f := range tc.frames {
				if _, err := c.nc.Write(f); err != nil {
					break
				}
			}
			if tc.leaves {
				_ = c.nc.Close()
			} else {
				readUntilClosed(t, c, 5*time.Second)
				_ = c.nc.Close()
			}
			waitFor(t, 5*time.Second, func() bool { return heldNothing(s) }, func() string { return heldString(s) })
			waitFor(t, 5*time.Second, func() bool { return runtime.NumGoroutine() <= g0 }, func() string {
				return "goroutines: " + itoa(runtime.NumGoroutine()-g0) + " more than before the client"
			})
		})
	}
}

// dialConnect upgrades a raw websocket and sends CONNECT without waiting for anything.
func dialConnect(addr, connect string) (net.Conn, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	req := upgradeRequest(addr, "", "") + string(maskedFrame(true, opText, []byte(connect)))
	if _, err := io.WriteString(nc, req); err != nil {
		nc.Close()
		return nil, err
	}
	return nc, nil
}

// expiringAuth is fakeAuth with tokens that expire: "pdg:N" is contact 1's token, valid N ms.
type expiringAuth struct{ fakeAuth }

func (expiringAuth) Verify(token string) (auth.Claims, error) {
	ms, _ := strconv.Atoi(strings.TrimPrefix(token, "pdg:"))
	return auth.Claims{UserID: 1, ExpiresAt: time.Now().Add(time.Duration(ms) * time.Millisecond)}, nil
}

// TestSessionsEndingEveryWayAtOnceLeaveNothing: sessions end at the same moment every way they
// can (the heartbeat's timeout on the timers goroutine, the token's expiry, the client leaving,
// the server closing them, twice) while events are broadcast to them; afterwards the server
// holds nothing for them and the timers goroutine still serves new sessions.
func TestSessionsEndingEveryWayAtOnceLeaveNothing(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := New(Options{FrontendURL: "http://localhost:5173", OwnWebsocket: true, PingInterval: 20 * time.Millisecond, PingTimeout: 20 * time.Millisecond},
		expiringAuth{}, expiringAuth{}, log)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { s.Close(); hs.Close() })
	addr := strings.TrimPrefix(hs.URL, "http://")
	runtime.GC()
	g0 := runtime.NumGoroutine()
	m, err := events.NewArtisanRequestApproved(events.ArtisanRequestApproved{ContactID: 42, NomComplet: "Amina Diallo", Email: "amina@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // broadcasts all along
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = s.Deliver(context.Background(), m)
			time.Sleep(time.Millisecond)
		}
	}()
	for round := range 3 {
		var clients sync.WaitGroup
		for i := range 30 {
			clients.Add(1)
			go func() {
				defer clients.Done()
				nc, err := dialConnect(addr, `40{"token":"pdg:`+strconv.Itoa(10+(i*7+round)%60)+`"}`)
				if err != nil {
					t.Error(err)
					return
				}
				defer nc.Close()
				switch i % 3 {
				case 0: // leaves after a while
					time.Sleep(time.Duration(i) * time.Millisecond)
				case 1: // closed by the server, twice at once
					for _, sock := range s.socketsOf(1) {
						go sock.Conn().Close(false)
						go sock.Conn().Close(true)
					}
				}
				// case 2, and the others until they leave: silent, the heartbeat ends them
				_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := io.Copy(io.Discard, nc); err != nil {
					t.Errorf("client %d: not closed by the server: %v", i, err)
				}
			}()
		}
		clients.Wait()
	}
	close(stop)
	wg.Wait()
	waitFor(t, 5*time.Second, func() bool { return heldNothing(s) }, func() string { return heldString(s) })
	waitFor(t, 5*time.Second, func() bool { return runtime.NumGoroutine() <= g0 }, func() string {
		return "goroutines: " + itoa(runtime.NumGoroutine()-g0) + " more than before the clients"
	})
	// The timers goroutine is not stuck: a new session still gets its heartbeat.
	c := dialRawWith(t, addr, "", `40{"token":"pdg:60000"}`)
	defer c.nc.Close()
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if p, err := readServerFrame(c.br); err != nil || string(p) != "2" {
		t.Fatalf("want a PING, got %q %v", p, err)
	}
}

// TestHostileConnectAgainAfterServerDisconnect: after the server disconnected a socket (its token
// expired) its connection stays open a moment (closeGrace) for the DISCONNECT packet; a CONNECT
// sent in that moment ends the connection at once. A session has one socket: a second would be
// built from the handshake request the session dropped once its first socket connected.
func TestHostileConnectAgainAfterServerDisconnect(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := New(Options{FrontendURL: "http://localhost:5173", OwnWebsocket: true, PingInterval: time.Minute, PingTimeout: time.Minute},
		expiringAuth{}, expiringAuth{}, log)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { s.Close(); hs.Close() })
	c := dialRawWith(t, strings.TrimPrefix(hs.URL, "http://"), "", `40{"token":"pdg:300"}`)
	defer c.nc.Close()
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if p, err := readServerFrame(c.br); err != nil || string(p) != "41" {
		t.Fatalf("want the DISCONNECT of the expired token, got %q %v", p, err)
	}
	disconnected := time.Now()
	if _, err := c.nc.Write(maskedFrame(true, opText, []byte(`40{"token":"pdg:60000"}`))); err != nil {
		t.Fatal(err)
	}
	_ = c.nc.SetReadDeadline(disconnected.Add(closeGrace / 2))
	for {
		p, err := readServerFrame(c.br)
		if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
			t.Fatal("the connection is still open after a CONNECT on a disconnected session")
		}
		if err != nil {
			break
		}
		if bytes.HasPrefix(p, []byte("40{")) {
			t.Fatalf("a second socket connected on the connection: %q", p)
		}
	}
	waitFor(t, 5*time.Second, func() bool { return heldNothing(s) }, func() string { return heldString(s) })
}

// TestSlowReaderDoesNotStallOtherHeartbeats: while the server's writes to a client that does not
// read wait (its kernel buffers full, frames queued for it), the other sessions' heartbeats, on
// the same timers goroutine, go on.
func TestSlowReaderDoesNotStallOtherHeartbeats(t *testing.T) {
	s, addr := newHeartbeatServer(t, 50*time.Millisecond, 2*time.Second)
	slow := dialRaw(t, addr)
	defer slow.nc.Close()
	waitJoined(t, s, 1)
	sess, ok := s.socketsOf(1)[0].Conn().(*wsSession)
	if !ok {
		t.Fatal("a websocket handshake is not our session")
	}
	frame := newTextFrame(bytes.Repeat([]byte("x"), 32<<10))
	for deadline := time.Now().Add(10 * time.Second); ; {
		sess.writeFrame(frame.frame)
		sess.wsConn.mu.Lock()
		waiting := sess.writing && sess.pendingBytes > 0
		sess.wsConn.mu.Unlock()
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the writes to a client that does not read never waited")
		}
	}
	other := dialRawWith(t, addr, "", `40{"token":"other"}`)
	defer other.nc.Close()
	_ = other.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := range 10 {
		p, err := readServerFrame(other.br)
		if err != nil || string(p) != "2" {
			t.Fatalf("ping %d of the other session: %q %v", i, p, err)
		}
		if _, err := other.nc.Write(clientFrame("3")); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHostileWebsocketWithWebsocketSessionId: a second websocket that names a websocket
// session's id does not take it over (the engine's upgrade refuses an upgraded session); the
// session goes on and still gets its events.
func TestHostileWebsocketWithWebsocketSessionId(t *testing.T) {
	s, addr := newHeartbeatServer(t, time.Minute, time.Minute)
	c := dialRaw(t, addr)
	defer c.nc.Close()
	waitJoined(t, s, 1)
	sid := s.socketsOf(1)[0].Conn().Id()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := upgradeRequest(addr, "&sid="+sid, "") + string(maskedFrame(true, opText, []byte("2probe")))
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(nc)
	if resp, err := http.ReadResponse(br, nil); err == nil && resp.StatusCode == http.StatusSwitchingProtocols {
		if p, err := readServerFrame(br); err == nil && string(p) == "3probe" {
			t.Fatal("a second websocket took over the session")
		}
	}
	if pdg, _ := s.CountSockets(); pdg != 1 {
		t.Fatalf("%d PDG sockets, want 1", pdg)
	}
	m, err := events.NewArtisanRequestApproved(events.ArtisanRequestApproved{ContactID: 42, NomComplet: "Amina Diallo", Email: "amina@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if p, err := readServerFrame(c.br); err != nil || !bytes.HasPrefix(p, []byte(`42["`)) {
		t.Fatalf("the session's event: %q %v", p, err)
	}
}
