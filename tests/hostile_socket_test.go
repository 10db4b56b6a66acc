package tests

// The adversarial suite, Socket.IO and HTTP side: each test names the attack it replays against
// the real server binary, and fails if the door it closes opens again.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/artisan-notify/artisan-notify/impl/apptest"
	"github.com/artisan-notify/artisan-notify/impl/proctest"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// hostileServer starts the binary with the server's own defaults for every limit.
func hostileServer(t *testing.T, extra map[string]string) *proctest.Server {
	t.Helper()
	env := apptest.LimitedEnv(testdb.New(t), "info")
	for k, v := range extra {
		env[k] = v
	}
	return proctest.Start(t, env)
}

// goroutines reads go_goroutines from the server's /metrics.
func goroutines(t *testing.T, base string) int {
	t.Helper()
	r, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	m := regexp.MustCompile(`(?m)^go_goroutines (\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no go_goroutines in /metrics")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// wsDial opens an Engine.IO websocket and reads its open packet.
func wsDial(t *testing.T, base string, h http.Header) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/socket.io/?EIO=4&transport=websocket", h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, p, err := c.ReadMessage(); err != nil || !strings.HasPrefix(string(p), "0{") {
		t.Fatalf("engine.io open: %q %v", p, err)
	}
	return c
}

// wsNext returns the next packet that is not a ping (answered), or "" and the error.
func wsNext(c *websocket.Conn, within time.Duration) (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(within))
	for {
		_, p, err := c.ReadMessage()
		if err != nil {
			return "", err
		}
		if string(p) == "2" {
			_ = c.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		}
		return string(p), nil
	}
}

func TestHostileHandshakeFloodWithoutConnect(t *testing.T) {
	srv := hostileServer(t, nil)
	base := goroutines(t, srv.URL)
	// 2,000 Engine.IO handshakes over keep-alive from one address, never a CONNECT.
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			c := &http.Client{}
			for range 200 {
				r, err := c.Get(srv.URL + "/socket.io/?EIO=4&transport=polling")
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, r.Body)
				r.Body.Close()
				mu.Lock()
				codes[r.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	during := goroutines(t, srv.URL)
	t.Logf("answers %v; goroutines: %d before, %d after the flood", codes, base, during)
	if codes[http.StatusOK] > 100 || codes[http.StatusTooManyRequests] < 1800 {
		t.Fatalf("answers %v: want at most 100 sessions (SOCKET_SESSIONS_PER_IP) and the rest refused with 429", codes)
	}
	// The sessions that never sent CONNECT are closed at the connect timeout (10 s): 15 s after
	// the flood the goroutines are back near the baseline, and the address may connect again.
	// (The library's ping timer of a closed session ends at its next tick, up to 25 s later: one
	// goroutine per session, so the cap bounds them too.)
	time.Sleep(15 * time.Second)
	after := goroutines(t, srv.URL)
	t.Logf("goroutines 15 s after the flood: %d", after)
	if after > base+200 {
		t.Fatalf("goroutines 15 s after the flood: %d, baseline %d: want within 200", after, base)
	}
	pdg := makePDG(t, srv)
	c := wsDial(t, srv.URL, nil)
	if err := c.WriteMessage(websocket.TextMessage, []byte(`40{"token":"`+pdg.Token+`"}`)); err != nil {
		t.Fatal(err)
	}
	if p, err := wsNext(c, 5*time.Second); err != nil || !strings.HasPrefix(p, "40{") {
		t.Fatalf("a PDG after the flood: %q %v", p, err)
	}
}

func TestHostileSessionWithoutConnectClosedAtConnectTimeout(t *testing.T) {
	srv := hostileServer(t, map[string]string{"SOCKET_CONNECT_TIMEOUT": "1s"})
	open := pollingSession(t, http.DefaultClient, srv.URL)
	ws := wsDial(t, srv.URL, nil)
	time.Sleep(2 * time.Second)
	r, err := http.Get(srv.URL + "/socket.io/?EIO=4&transport=polling&sid=" + open.Sid)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusBadRequest {
		t.Fatalf("polling session without CONNECT, 2 s after a 1 s connect timeout: poll answered %d, want 400 (session gone)", r.StatusCode)
	}
	if p, err := wsNext(ws, 2*time.Second); err == nil {
		t.Fatalf("websocket session without CONNECT still open after the connect timeout: got %q", p)
	}
}

func TestHostileReconnectWithOldSessionGetsNothing(t *testing.T) {
	srv := hostileServer(t, nil)
	pdg := makePDG(t, srv)
	c := wsDial(t, srv.URL, nil)
	_ = c.WriteMessage(websocket.TextMessage, []byte(`40{"token":"`+pdg.Token+`"}`))
	ack, err := wsNext(c, 5*time.Second)
	if err != nil || !strings.HasPrefix(ack, "40{") {
		t.Fatalf("connect: %q %v", ack, err)
	}
	var a map[string]any
	_ = json.Unmarshal([]byte(ack[2:]), &a)
	if _, ok := a["pid"]; ok {
		t.Fatalf("CONNECT answer offers connection state recovery: %s", ack)
	}
	c.Close()
	time.Sleep(300 * time.Millisecond)
	applicant := register(t, srv.URL, typeArtisan) // artisan-request:new while the PDG is away

	for _, auth := range []string{
		`{"pid":"` + fmt.Sprint(a["sid"]) + `","offset":"0"}`,                                   // no token
		`{"token":"` + applicant.Token + `","pid":"` + fmt.Sprint(a["sid"]) + `","offset":"0"}`, // someone else's token
	} {
		c := wsDial(t, srv.URL, nil)
		_ = c.WriteMessage(websocket.TextMessage, []byte("40"+auth))
		p, err := wsNext(c, 5*time.Second)
		if err != nil || strings.HasPrefix(p, "42") {
			t.Fatalf("reconnect with %s: first packet %q (%v), want no event", auth, p, err)
		}
		if p2, err := wsNext(c, 500*time.Millisecond); err == nil && strings.HasPrefix(p2, "42") {
			t.Fatalf("reconnect with %s: event %q replayed", auth, p2)
		}
	}
}

func TestHostileLogoutKillsTokenAndSockets(t *testing.T) {
	srv := hostileServer(t, nil)
	pdg := makePDG(t, srv)
	c := wsDial(t, srv.URL, nil)
	_ = c.WriteMessage(websocket.TextMessage, []byte(`40{"token":"`+pdg.Token+`"}`))
	if p, err := wsNext(c, 5*time.Second); err != nil || !strings.HasPrefix(p, "40{") {
		t.Fatalf("connect: %q %v", p, err)
	}
	mustCall(t, "GET", srv.URL+"/api/users/me", pdg.Token, nil, http.StatusOK)
	mustCall(t, "POST", srv.URL+"/api/users/auth/logout", pdg.Token, nil, http.StatusNoContent)
	b := mustCall(t, "GET", srv.URL+"/api/users/me", pdg.Token, nil, http.StatusUnauthorized)
	assertErrorShape(t, b, "unauthorized")
	// its socket: a DISCONNECT, then the connection closes (it does not linger, pinging)
	p, err := wsNext(c, 5*time.Second)
	if err != nil || p != "41" {
		t.Fatalf("socket after logout: %q %v, want 41 (io server disconnect)", p, err)
	}
	if p, err := wsNext(c, 3*time.Second); err == nil {
		t.Fatalf("connection still open after its socket was disconnected: %q", p)
	}
	// a new handshake with the old token is refused
	c2 := wsDial(t, srv.URL, nil)
	_ = c2.WriteMessage(websocket.TextMessage, []byte(`40{"token":"`+pdg.Token+`"}`))
	if p, err := wsNext(c2, 5*time.Second); err != nil || !strings.HasPrefix(p, "44") {
		t.Fatalf("handshake with a logged-out token: %q %v, want connect_error", p, err)
	}
	mustCall(t, "POST", srv.URL+"/api/users/auth/logout", pdg.Token, nil, http.StatusUnauthorized)
}

func TestHostileTrickledBodyIsCut(t *testing.T) {
	srv := hostileServer(t, map[string]string{"BODY_READ_TIMEOUT": "2s"})
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_, _ = fmt.Fprintf(conn, "POST /api/users/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
	done := make(chan struct{})
	go func() { // one byte every 500 ms
		defer close(done)
		for range 40 {
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, _ = io.Copy(io.Discard, conn) // until the server answers and closes
	took := time.Since(start)
	if took > 6*time.Second {
		t.Fatalf("a body trickled at one byte per 500 ms held the connection %v; BODY_READ_TIMEOUT is 2 s", took)
	}
	t.Logf("trickled body cut after %v", took.Round(time.Millisecond))

	// A long-polling GET outlives the body timeout.
	pdg := makePDG(t, srv)
	hc := &http.Client{}
	pu := pollingConnect(t, hc, srv.URL, pdg.Token)
	start = time.Now()
	got := make(chan string, 1)
	go func() {
		r, err := hc.Get(pu) // waits for the next packet
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		got <- string(b)
	}()
	time.Sleep(3 * time.Second)
	applicant := register(t, srv.URL, typeArtisan)
	select {
	case p := <-got:
		if !strings.Contains(p, "artisan-request:new") || time.Since(start) < 3*time.Second {
			t.Fatalf("long poll: %q after %v", p, time.Since(start))
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("long poll: no event for contact %d", applicant.ID)
	}
}

// pythonClient is Debian's python3 with python-socketio (python3-socketio), a common choice for
// back-office scripts: its handler takes exactly the declared payload.
const pythonClient = `
import json, sys, socketio
url, token, transport = sys.argv[1], sys.argv[2], sys.argv[3]
sio = socketio.Client(reconnection=False)
@sio.event
def connect():
    print("connected " + sio.transport(), flush=True)
@sio.event
def connect_error(data):
    print("connect_error " + json.dumps(data), flush=True)
    sys.exit(1)
@sio.on("artisan-request:new")
def on_new(data):
    print("event " + json.dumps(data), flush=True)
    sio.disconnect()
sio.connect(url, auth={"token": token}, transports=[transport], wait_timeout=10)
sio.wait()
`

func TestHostilePythonClientSameOriginBothTransports(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import socketio, websocket").Run(); err != nil {
		t.Fatalf("python3-socketio and python3-websocket are needed (apt-get install python3-socketio python3-websocket; .ci/run installs them): %v", err)
	}
	srv := hostileServer(t, nil)
	pdg := makePDG(t, srv)
	script := t.TempDir() + "/client.py"
	if err := os.WriteFile(script, []byte(pythonClient), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, py, script, srv.URL, pdg.Token, transport)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewScanner(out)
			if !lines.Scan() || lines.Text() != "connected "+transport {
				_ = cmd.Wait()
				t.Fatalf("python client: %q, want connected over %s\n%s\nserver:\n%s", lines.Text(), transport, stderr.String(), grepLines(srv.Logs(), "socket"))
			}
			applicant := register(t, srv.URL, typeArtisan)
			if !lines.Scan() || !strings.HasPrefix(lines.Text(), "event ") {
				_ = cmd.Wait()
				t.Fatalf("python client: %q, want the event\n%s", lines.Text(), stderr.String())
			}
			var payload map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(lines.Text(), "event ")), &payload); err != nil || payload["contact_id"] != float64(applicant.ID) {
				t.Fatalf("python client got %q (%v), want contact %d", lines.Text(), err, applicant.ID)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("python client: %v\n%s", err, stderr.String())
			}
		})
	}
}

func TestHostileMetricsNotOnThePublicPort(t *testing.T) {
	addr := "127.0.0.1:" + strconv.Itoa(proctest.FreePort(t))
	srv := hostileServer(t, map[string]string{"METRICS_ADDR": addr})
	if code := status(t, srv.URL+"/metrics"); code != http.StatusNotFound {
		t.Fatalf("GET /metrics on the public port with METRICS_ADDR set: %d, want 404", code)
	}
	if code := status(t, "http://"+addr+"/metrics"); code != http.StatusOK {
		t.Fatalf("GET /metrics on METRICS_ADDR: %d, want 200", code)
	}
}

// pollingConnect opens a long-polling session on the server at base through hc, connects its
// socket with token and reads the CONNECT answer; it returns the session's polling URL.
func pollingConnect(t *testing.T, hc *http.Client, base, token string) string {
	t.Helper()
	pu := base + "/socket.io/?EIO=4&transport=polling&sid=" + pollingSession(t, hc, base).Sid
	r, err := hc.Post(pu, "text/plain;charset=UTF-8", strings.NewReader(`40{"token":"`+token+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	r, err = hc.Get(pu) // the CONNECT answer
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if !strings.HasPrefix(string(b), "40{") {
		t.Fatalf("polling connect: %q", b)
	}
	return pu
}

// polling is the Engine.IO open packet of a long-polling session.
type polling struct {
	Sid string `json:"sid"`
}

// pollingSession opens an Engine.IO long-polling session on the server at base through hc.
func pollingSession(t *testing.T, hc *http.Client, base string) polling {
	t.Helper()
	r, err := hc.Get(base + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	var open polling
	if len(b) < 2 || json.Unmarshal(b[1:], &open) != nil {
		t.Fatalf("open: %q", b)
	}
	return open
}
