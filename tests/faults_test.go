package tests

// Fault tests against real server processes: PostgreSQL restarted under load, SIGTERM under
// load, and hostile Socket.IO handshakes (tests/cluster/hostile.test.mjs) while REST is probed.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/artisan-notify/artisan-notify/impl/localpg"
	"github.com/artisan-notify/artisan-notify/impl/proctest"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// sample is one REST answer under load.
type sample struct {
	what       string
	start, end time.Time
	status     int
	code       string // error.code of a non-2xx answer
	err        error
	email      string
	id         int64
}

func (s sample) took() time.Duration { return s.end.Sub(s.start) }

func (s sample) String() string {
	if s.err != nil {
		return fmt.Sprintf("%s at %s: %v after %v", s.what, s.start.Format("15:04:05.000"), s.err, s.took().Round(time.Millisecond))
	}
	return fmt.Sprintf("%s at %s: %d %s after %v", s.what, s.start.Format("15:04:05.000"), s.status, s.code, s.took().Round(time.Millisecond))
}

// recorder collects samples from several goroutines.
type recorder struct {
	mu      sync.Mutex
	samples []sample
}

func (r *recorder) add(s sample) {
	r.mu.Lock()
	r.samples = append(r.samples, s)
	r.mu.Unlock()
}

func (r *recorder) all() []sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.samples)
}

// measure sends one request and records its outcome.
func measure(ctx context.Context, hc *http.Client, what, method, url, token string, body any) sample {
	s := sample{what: what, start: time.Now()}
	status, b, err := call(ctx, hc, method, url, token, body)
	s.end, s.status, s.err = time.Now(), status, err
	if err == nil && status >= 300 {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			s.code = e.Error.Code
		} else {
			s.code = "(not the contract's error shape: " + strings.TrimSpace(string(b)) + ")"
		}
	}
	if err == nil && status == http.StatusCreated {
		var r struct {
			User struct {
				ID int64 `json:"id"`
			} `json:"user"`
		}
		_ = json.Unmarshal(b, &r)
		s.id = r.User.ID
	}
	return s
}

// TestFaultPostgresRestart: PostgreSQL stops for ~5 s under a trickle of REST requests and starts
// again on the same port. Meanwhile every answer is a quick 503 in the contract's shape and
// /readyz says 503; then the node recovers by itself, REST and socket events alike, and every
// registration that got 201 reaches the PDG socket exactly once.
func TestFaultPostgresRestart(t *testing.T) {
	root, err := os.MkdirTemp("", "artisan-pgfault-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil { // PostgreSQL runs as another user when we are root
		t.Fatal(err)
	}
	dataDir := filepath.Join(root, "data")
	startCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		pgMu sync.Mutex
		pg   *localpg.Server
	)
	pg, err = localpg.Start(startCtx, localpg.Options{DataDir: dataDir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // registered before the node's, so it runs after the node stopped
		pgMu.Lock()
		defer pgMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := pg.Stop(ctx); err != nil {
			t.Errorf("stop postgres: %v", err)
		}
	})
	u, _ := url.Parse(pg.URL())
	pgPort, _ := strconv.Atoi(u.Port())

	srv := proctest.Start(t, nodeEnv(pg.URL(), "pg-restart"))
	pdg := makePDG(t, srv)
	c := newClients(t)
	c.open("pdg", pdg.Token, srv.URL)
	c.waitConnected(1, "pdg")

	// The load: 2 goroutines counting, 2 registering, 1 polling /readyz.
	hc := &http.Client{Timeout: 15 * time.Second}
	loadCtx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	var rest, ready recorder
	var wg sync.WaitGroup
	pause := func() bool {
		select {
		case <-loadCtx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
			return true
		}
	}
	for range 2 {
		wg.Go(func() {
			for pause() {
				s := measure(loadCtx, hc, "count", "GET", srv.URL+"/api/notifications/artisan-requests/count", pdg.Token, nil)
				if loadCtx.Err() == nil { // not cut by the end of the load
					rest.add(s)
				}
			}
		})
		wg.Go(func() {
			for pause() {
				email := uniqueEmail("load")
				s := measure(loadCtx, hc, "register", "POST", srv.URL+"/api/users/auth/register", "", registerBody(email, typeArtisan))
				s.email = email
				if loadCtx.Err() == nil {
					rest.add(s)
				}
			}
		})
	}
	wg.Go(func() {
		for pause() {
			s := measure(loadCtx, hc, "readyz", "GET", srv.URL+"/readyz", "", nil)
			if loadCtx.Err() == nil {
				ready.add(s)
			}
		}
	})

	waitFor(t, waitLong, "a few successful registrations before the outage", func() bool {
		n := 0
		for _, s := range rest.all() {
			if s.what == "register" && s.status == http.StatusCreated {
				n++
			}
		}
		return n >= 3
	})
	stopBegin := time.Now()
	pgMu.Lock()
	stopCtx, cancelStop := context.WithTimeout(context.Background(), time.Minute)
	err = pg.Stop(stopCtx)
	cancelStop()
	pgMu.Unlock()
	if err != nil {
		t.Fatalf("stop postgres: %v", err)
	}
	down := time.Now()
	waitFor(t, waitLong, "/readyz to say 503", func() bool {
		for _, s := range ready.all() {
			if s.start.After(down) && s.status == http.StatusServiceUnavailable {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Until(down.Add(5 * time.Second))) // the outage itself lasts 5 s: nothing to wait for
	upBegin := time.Now()
	pgMu.Lock()
	pg, err = localpg.Start(startCtx, localpg.Options{DataDir: dataDir, Port: pgPort, Fast: true})
	pgMu.Unlock()
	if err != nil {
		t.Fatalf("restart postgres on port %d: %v", pgPort, err)
	}
	up := time.Now()

	var restBack, readyBack time.Time
	waitFor(t, waitLong, "REST and /readyz to recover", func() bool {
		for _, s := range rest.all() {
			if s.start.After(up) && s.what == "count" && s.status == http.StatusOK && restBack.IsZero() {
				restBack = s.end
			}
		}
		for _, s := range ready.all() {
			if s.start.After(up) && s.status == http.StatusOK && readyBack.IsZero() {
				readyBack = s.end
			}
		}
		return !restBack.IsZero() && !readyBack.IsZero()
	})
	// Keep the load on a little after recovery, then stop it.
	steady := time.Now().Add(2 * time.Second)
	waitFor(t, waitLong, "2 s of load after recovery", func() bool { return time.Now().After(steady) })
	stopLoad()
	wg.Wait()

	// Socket events flow again: a registration after recovery reaches the PDG socket.
	after := register(t, srv.URL, typeArtisan)
	afterAt := time.Now()
	got := c.waitEvent("pdg", evNew, after.ID)

	// Judge every answer.
	var during, failed []sample
	var created []int64
	counts := map[string]int{}
	var slowest time.Duration
	for _, s := range append(rest.all(), ready.all()...) {
		counts[fmt.Sprintf("%s %d %s", s.what, s.status, s.code)]++
		slowest = max(slowest, s.took())
		if s.status == http.StatusCreated {
			created = append(created, s.id)
		}
		inOutage := !s.start.Before(down) && !s.end.After(upBegin)
		switch {
		case s.err != nil:
			failed = append(failed, s)
			t.Errorf("no answer: %v", s)
		case s.took() > 4*time.Second:
			t.Errorf("slow answer: %v", s)
		case s.status >= 500 && s.status != http.StatusServiceUnavailable:
			t.Errorf("5xx other than 503: %v", s)
		case s.status == http.StatusUnauthorized:
			t.Errorf("401 for a valid token: %v", s)
		case s.status == http.StatusServiceUnavailable && s.what != "readyz" && s.code != "unavailable":
			t.Errorf("503 not in the contract's shape: %v", s)
		}
		if inOutage {
			during = append(during, s)
			// The count may come from the node's read cache: nothing can change it while the
			// database is down, so a 200 is right too. Writes and readiness must say 503.
			if s.status != http.StatusServiceUnavailable && !(s.what == "count" && s.status == http.StatusOK) {
				t.Errorf("during the outage: %v (want 503)", s)
			}
		}
	}
	if len(during) < 10 {
		t.Errorf("only %d answers during the outage", len(during))
	}
	// After restart, how long until the last failure.
	var lastFail time.Time
	for _, s := range rest.all() {
		if s.start.After(up) && s.status != http.StatusOK && s.status != http.StatusCreated {
			lastFail = s.end
		}
	}
	if !lastFail.IsZero() && lastFail.Sub(up) > 8*time.Second {
		t.Errorf("REST still failing %v after PostgreSQL came back", lastFail.Sub(up))
	}

	// Every registration answered 201 is delivered once (none lost across the restart).
	want := map[key]int{{evNew, after.ID}: 1}
	for _, id := range created {
		want[key{evNew, id}] = 1
	}
	c.waitAll(map[string]map[key]int{"pdg": want})
	quiet(c, quietWindow)
	d := delivery{expected: len(want)}
	for k, n := range c.tally("pdg") {
		d.received += n
		if n > 1 {
			d.duplicated += n - 1
			t.Errorf("pdg got %v %d times", k, n)
		}
		if want[k] == 0 {
			d.unexpected++ // a registration answered 503 whose commit went through: allowed once
		}
	}
	// How soon the relay delivered again: the first event of a registration sent after the
	// restart, and the worst commit-to-socket lag of those registrations.
	eventAt := map[int64]time.Time{}
	for _, r := range c.log("pdg").events {
		eventAt[r.contact] = r.time()
	}
	var relayBack time.Time
	var lag time.Duration
	for _, s := range rest.all() {
		if at, ok := eventAt[s.id]; ok && s.status == http.StatusCreated && s.start.After(up) {
			if relayBack.IsZero() || at.Before(relayBack) {
				relayBack = at
			}
			lag = max(lag, at.Sub(s.end))
		}
	}
	t.Logf("answers: %v", counts)
	t.Logf("postgres stop took %v, down %v, start took %v; %d answers during the outage, all 503 (or a count from the read cache), slowest answer %v",
		down.Sub(stopBegin).Round(time.Millisecond), upBegin.Sub(down).Round(time.Millisecond), up.Sub(upBegin).Round(time.Millisecond),
		len(during), slowest.Round(time.Millisecond))
	t.Logf("after postgres was up: REST 200 in %v, /readyz 200 in %v, last REST failure at +%v; first event of a new registration "+
		"on the socket at +%v, worst answer-to-event lag after the restart %v (last check: event %v after its answer)",
		restBack.Sub(up).Round(time.Millisecond), readyBack.Sub(up).Round(time.Millisecond),
		max(0, lastFail.Sub(up)).Round(time.Millisecond), relayBack.Sub(up).Round(time.Millisecond), lag.Round(time.Millisecond),
		got.time().Sub(afterAt).Round(time.Millisecond))
	t.Logf("events: %v (the unexpected ones are registrations answered 503 that committed)", d)
}

// waitFor polls cond every 20 ms until it is true, or fails the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestShutdownUnderLoad: SIGTERM while registrations run: the requests in flight finish, the
// process exits 0, every registration answered 201 is in the database with its event, and none
// is half-written.
func TestShutdownUnderLoad(t *testing.T) {
	dbURL := testdb.New(t)
	port := proctest.FreePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	env := envWith(nil, nodeEnv(dbURL, "sigterm"))
	env = append(env, "PORT="+strconv.Itoa(port))
	node := launch(t, proctest.Binary(t), env, base)

	// No keep-alive: a request on a new connection is either refused (never sent: the listener
	// is closed) or accepted and answered.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var rec recorder
	var wg sync.WaitGroup
	var refusedMu sync.Mutex
	refused := 0
	for range 6 {
		wg.Go(func() {
			for {
				email := uniqueEmail("term")
				s := measure(context.Background(), hc, "register", "POST", base+"/api/users/auth/register", "", registerBody(email, typeArtisan))
				s.email = email
				if s.err != nil && errors.Is(s.err, syscall.ECONNREFUSED) {
					refusedMu.Lock()
					refused++
					refusedMu.Unlock()
					return // the listener is closed: the load balancer would go elsewhere
				}
				rec.add(s)
			}
		})
	}
	waitFor(t, waitLong, "10 registrations", func() bool { return len(rec.all()) >= 10 })
	sigAt := time.Now()
	if err := node.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := node.wait(t, 30*time.Second)
	exitedAt := time.Now()
	wg.Wait()
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0; log tail:\n%s", code, tail(node.logs(), 20))
	}

	var ok, inFlight, resets int
	for _, s := range rec.all() {
		switch {
		case s.err == nil && s.status == http.StatusCreated:
			ok++
			if s.start.Before(sigAt) && s.end.After(sigAt) {
				inFlight++
			}
		case s.err != nil:
			resets++
			t.Logf("unanswered, sent %v before SIGTERM: %v", sigAt.Sub(s.start).Round(time.Millisecond), s.err)
			if s.start.Before(sigAt.Add(-100 * time.Millisecond)) {
				t.Errorf("a request sent well before SIGTERM got no answer: %v", s)
			}
		default:
			t.Errorf("unexpected answer: %v", s)
		}
	}
	if inFlight == 0 {
		t.Errorf("no registration was in flight at SIGTERM: the test proves nothing")
	}

	// The database: 201 => contact and its event; anything else => both or neither.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var committedAnyway int
	for _, s := range rec.all() {
		var contacts, events int
		err := conn.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM contacts WHERE email = $1),
			(SELECT count(*) FROM outbox WHERE event = $2 AND payload->>'email' = $1)`, s.email, evNew).Scan(&contacts, &events)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case contacts != events || contacts > 1:
			t.Errorf("half-written registration %s: %d contacts, %d events (%v)", s.email, contacts, events, s)
		case s.status == http.StatusCreated && contacts != 1:
			t.Errorf("registration answered 201 is not in the database: %v", s)
		case s.status != http.StatusCreated && contacts == 1:
			committedAnyway++
		}
	}
	t.Logf("SIGTERM under load: %d registrations answered 201 (%d of them in flight at SIGTERM), %d unanswered "+
		"(sent within 100 ms of SIGTERM), %d committed without an answer, %d refused after the listener closed; "+
		"exit %d, %v after SIGTERM", ok, inFlight, resets, committedAnyway, refused, code, exitedAt.Sub(sigAt).Round(time.Millisecond))
}

// TestHostileHandshakes runs tests/cluster/hostile.test.mjs (garbage auth payloads, raw
// malformed CONNECT packets, foreign vs no Origin, 2,000 connects without auth, then a valid
// client that gets an event) while REST is probed: no 5xx, no slow answer, no crash.
func TestHostileHandshakes(t *testing.T) {
	if _, err := os.Stat(filepath.Join("cluster", "node_modules", "socket.io-client")); err != nil {
		t.Fatal("tests/cluster has no node_modules: run `npm ci --prefix tests/cluster` (make test does)")
	}
	srv := proctest.Start(t, nodeEnv(testdb.New(t), "hostile"))
	pdg := makePDG(t, srv)
	client := register(t, srv.URL, typeClient)

	ctx, stopProbes := context.WithCancel(context.Background())
	defer stopProbes()
	var rec recorder
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 15 * time.Second}
	probes := []struct {
		what, method, path, token string
		body                      any
		want                      int
	}{
		{"readyz", "GET", "/readyz", "", nil, 200},
		{"count", "GET", "/api/notifications/artisan-requests/count", pdg.Token, nil, 200},
		{"me", "GET", "/api/users/me", client.Token, nil, 200},
		{"bad login", "POST", "/api/users/auth/login", "", map[string]string{"email": client.Email, "password": "wrong-password"}, 401},
	}
	for _, p := range probes {
		wg.Go(func() {
			for ctx.Err() == nil {
				s := measure(ctx, hc, p.what, p.method, srv.URL+p.path, p.token, p.body)
				if ctx.Err() != nil {
					return
				}
				if s.err == nil && s.status != p.want {
					s.code = fmt.Sprintf("%s (want %d)", s.code, p.want)
				}
				rec.add(s)
				time.Sleep(50 * time.Millisecond)
			}
		})
	}

	nodeCtx, cancelNode := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancelNode()
	cmd := exec.CommandContext(nodeCtx, "node", "--test", "--test-concurrency=1", "--test-timeout=60000",
		"--test-force-exit", "--test-reporter=spec", "hostile.test.mjs")
	cmd.WaitDelay = 10 * time.Second
	cmd.Dir = "cluster"
	cmd.Env = append(os.Environ(),
		"BASE_URL="+srv.URL,
		"FRONTEND_URL="+nodeEnv("", "")["FRONTEND_URL"],
		"PDG_TOKEN="+pdg.Token,
		"CLIENT_TOKEN="+client.Token,
	)
	began := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(began)
	stopProbes()
	wg.Wait()
	t.Logf("hostile.test.mjs (%v):\n%s", took.Round(time.Millisecond), out)
	if err != nil {
		t.Errorf("hostile.test.mjs failed: %v", err)
	}

	var slowest time.Duration
	for _, s := range rec.all() {
		slowest = max(slowest, s.took())
		switch {
		case s.err != nil:
			t.Errorf("REST probe without answer: %v", s)
		case s.status >= 500:
			t.Errorf("REST probe got a 5xx: %v", s)
		case strings.Contains(s.code, "want"):
			t.Errorf("REST probe: %v", s)
		case s.took() > 3*time.Second:
			t.Errorf("REST probe slow: %v", s)
		}
	}
	mustCall(t, "GET", srv.URL+"/readyz", "", nil, 200)
	if logs := srv.Logs(); strings.Contains(logs, "panic") || strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("the server logged a panic or an error:\n%s", grepLines(logs, "panic", `"level":"ERROR"`))
	}
	t.Logf("%d REST probes during the hostile handshakes, none 5xx, slowest %v", len(rec.all()), slowest.Round(time.Millisecond))
}

func grepLines(s string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(l, sub) {
				out = append(out, l)
				break
			}
		}
	}
	return tail(strings.Join(out, "\n"), 20)
}
