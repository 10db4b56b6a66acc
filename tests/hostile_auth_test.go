package tests

// Attacks on the authentication endpoints, against the real server binary: memory exhaustion by
// concurrent password hashing, locking another person out of their account, IPv6 clients
// rotating addresses inside their /64, and a Redis outage under load.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/impl/apptest"
	"github.com/artisan-notify/artisan-notify/impl/proctest"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
	"github.com/artisan-notify/artisan-notify/impl/testredis"
)

// hostileEnv is the environment of a node with the default auth limits.
func hostileEnv(dbURL string) map[string]string { return apptest.LimitedEnv(dbURL, "warn") }

// from returns an HTTP client whose connections leave from the loopback address 127.0.0.n, so
// that the server sees a distinct client address per n.
func from(n int) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, byte(n/250), byte(1+n%250))}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

// answer is an HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// send posts body as JSON to url with hc, adding the headers in hdr.
func send(t testing.TB, hc *http.Client, url string, body any, hdr map[string]string) answer {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := hc.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", url, err)
		return answer{}
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: out}
}

func login(email, password string) map[string]string {
	return map[string]string{"email": email, "password": password}
}

// memKiB reads a field of /proc/pid/status (VmRSS, VmHWM) in KiB.
func memKiB(t testing.TB, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatalf("%s: %q", field, line)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// TestHostileAuthConcurrentLoginFloodBoundsMemory: 60 logins at once with unknown emails, from
// 60 addresses (so that no per-address limit applies), each costing an argon2id hash of 19 MiB.
// The server's peak memory must stay within 300 MB of its baseline, and the logins it cannot
// serve in time get 503 unavailable with Retry-After.
func TestHostileAuthConcurrentLoginFloodBoundsMemory(t *testing.T) {
	srv := proctest.Start(t, hostileEnv(testdb.New(t)))
	pid := serverPID(srv)
	if pid == 0 {
		t.Fatal("server process not found")
	}
	// Warm up: one login, so the baseline includes a hasher's working set.
	send(t, from(0), srv.URL+"/api/users/auth/login", login(uniqueEmail("warm"), "motdepasse1"), nil)
	base := memKiB(t, pid, "VmRSS")

	const n = 60
	answers := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		hc := from(1 + i)
		wg.Go(func() {
			<-start
			answers[i] = send(t, hc, srv.URL+"/api/users/auth/login", login(uniqueEmail("flood"), "motdepasse1"), nil)
		})
	}
	close(start)
	wg.Wait()
	peak := memKiB(t, pid, "VmHWM")
	counts := map[int]int{}
	for _, a := range answers {
		counts[a.status]++
		switch a.status {
		case http.StatusUnauthorized:
		case http.StatusServiceUnavailable:
			assertErrorShape(t, a.body, "unavailable")
			if s, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("503 with Retry-After %q, want a positive number of seconds", a.header.Get("Retry-After"))
			}
		default:
			t.Errorf("login: HTTP %d %s, want 401 or 503", a.status, a.body)
		}
	}
	t.Logf("%d concurrent logins: %v; RSS %d MB before, peak %d MB", n, counts, base/1024, peak/1024)
	if counts[http.StatusUnauthorized] == 0 {
		t.Error("no login was served")
	}
	if grew := (peak - base) / 1024; grew > 300 {
		t.Errorf("peak RSS grew by %d MB over the baseline of %d MB, want at most 300 MB", grew, base/1024)
	}
	// The node serves normally once the burst is over.
	mustCall(t, "POST", srv.URL+"/api/users/auth/register", "", registerBody(uniqueEmail("after"), typeClient), http.StatusCreated)
}

// TestHostileAuthLockoutOfAnotherAccount: an attacker sends wrong passwords for a PDG's email
// from ten addresses; the PDG, from an address that has not failed, still logs in, and
// registering with that email still answers 409 (not 429).
func TestHostileAuthLockoutOfAnotherAccount(t *testing.T) {
	srv := proctest.Start(t, hostileEnv(testdb.New(t)))
	pdg := makePDG(t, srv)
	url := srv.URL + "/api/users/auth/login"
	for i := range 10 {
		if a := send(t, from(1+i), url, login(pdg.Email, "wrong-password"), nil); a.status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: HTTP %d %s, want 401", i+1, a.status, a.body)
		}
	}
	fresh := from(100)
	if a := send(t, fresh, url, login(pdg.Email, pdg.Password), nil); a.status != http.StatusOK {
		t.Fatalf("right password from a fresh address after 10 failures from others: HTTP %d %s, want 200", a.status, a.body)
	}
	if a := send(t, from(101), srv.URL+"/api/users/auth/register", registerBody(pdg.Email, typeClient), nil); a.status != http.StatusConflict {
		t.Fatalf("register with the attacked email: HTTP %d %s, want 409", a.status, a.body)
	}
	// The attacker's addresses are still limited on that account: the per-(account, address)
	// limit counts their failures.
	attacker := from(1)
	for range 20 {
		a := send(t, attacker, url, login(pdg.Email, "wrong-password"), nil)
		if a.status == http.StatusTooManyRequests {
			assertErrorShape(t, a.body, "rate_limited")
			return
		}
	}
	t.Fatal("an address kept guessing one account's password without ever being limited")
}

// TestHostileAuthIPv6Slash64SharesOneBucket: an IPv6 client rotating through the addresses of
// its /64 (behind a trusted proxy that forwards them) gets one per-address budget, not one per
// address.
func TestHostileAuthIPv6Slash64SharesOneBucket(t *testing.T) {
	env := hostileEnv(testdb.New(t))
	env["TRUSTED_PROXIES"] = "127.0.0.1/32"
	srv := proctest.Start(t, env)
	url := srv.URL + "/api/users/auth/login"
	hc := from(0)
	xff := func(a string) map[string]string { return map[string]string{"X-Forwarded-For": a} }
	for i := range 10 { // the default 10 attempts a minute
		if a := send(t, hc, url, login(uniqueEmail("v6"), "motdepasse1"), xff(fmt.Sprintf("2001:db8:42:7:%x::%x", i, i+1))); a.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: HTTP %d %s, want 401", i+1, a.status, a.body)
		}
	}
	a := send(t, hc, url, login(uniqueEmail("v6"), "motdepasse1"), xff("2001:db8:42:7:ffff:ffff:ffff:fffe"))
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
		t.Fatalf("11th attempt from the same /64: HTTP %d %s, want 429 with Retry-After", a.status, a.body)
	}
	assertErrorShape(t, a.body, "rate_limited")
	if a := send(t, hc, url, login(uniqueEmail("v6"), "motdepasse1"), xff("2001:db8:42:8::1")); a.status != http.StatusUnauthorized {
		t.Fatalf("the next /64: HTTP %d %s, want 401", a.status, a.body)
	}
}

// startRedisOn runs redis-server again on port (after testredis.Server.Stop), until the test ends.
func startRedisOn(t *testing.T, port int) {
	t.Helper()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not listen in 10 s")
		}
	}
}

// TestHostileAuthRedisRestartUnderLoad: Redis, which shares the auth limits between nodes, is
// stopped and restarted while registrations, logins and events flow through two nodes. The
// limits hold throughout (shared, then per node, then shared again) and nothing else notices:
// every registration and login succeeds and the PDG's socket gets every event.
func TestHostileAuthRedisRestartUnderLoad(t *testing.T) {
	rds := testredis.Start(t)
	db := testdb.New(t)
	env := func(node string) map[string]string {
		e := hostileEnv(db)
		e["REDIS_URL"] = rds.URL
		e["RATE_LIMIT_AUTH_PER_MINUTE"] = "3"
		e["TRUSTED_PROXIES"] = "127.0.0.1/32"
		e["NODE_ID"] = node
		return e
	}
	nodeA, nodeB := proctest.Start(t, env("node-a")), proctest.Start(t, env("node-b"))
	pdg := makePDG(t, nodeA)
	c := newClients(t)
	c.open("pdg", pdg.Token, nodeB.URL)
	c.waitConnected(1, "pdg")

	// Load: Artisan registrations and logins, alternating nodes, each from its own address.
	ctx, stop := context.WithCancel(context.Background())
	var (
		mu       sync.Mutex
		problems []string
		applied  []int64
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		hc := &http.Client{Timeout: 15 * time.Second}
		for i := 0; ctx.Err() == nil; i++ {
			base := []string{nodeA.URL, nodeB.URL}[i%2]
			hdr := map[string]string{"X-Forwarded-For": fmt.Sprintf("10.77.%d.%d", i/250, 1+i%250)}
			email := uniqueEmail("load")
			reg := send(t, hc, base+"/api/users/auth/register", registerBody(email, typeArtisan), hdr)
			in := send(t, hc, []string{nodeB.URL, nodeA.URL}[i%2]+"/api/users/auth/login", login(email, "motdepasse1"), hdr)
			mu.Lock()
			if reg.status != http.StatusCreated || in.status != http.StatusOK {
				problems = append(problems, fmt.Sprintf("load %d: register HTTP %d %s, login HTTP %d %s", i, reg.status, reg.body, in.status, in.body))
			} else {
				applied = append(applied, accountFrom(t, reg.body, email).ID)
			}
			mu.Unlock()
		}
	}()

	// limited checks that address gets 3 login attempts a minute, spread over the nodes in on.
	limited := func(phase, address string, on ...*proctest.Server) {
		t.Helper()
		hdr := map[string]string{"X-Forwarded-For": address}
		for i := range 4 {
			a := send(t, from(0), on[i%len(on)].URL+"/api/users/auth/login", login(uniqueEmail("guess"), "motdepasse1"), hdr)
			want := http.StatusUnauthorized
			if i == 3 {
				want = http.StatusTooManyRequests
			}
			if a.status != want {
				t.Errorf("%s: attempt %d from %s: HTTP %d %s, want %d", phase, i+1, address, a.status, a.body, want)
			}
		}
	}
	limited("Redis up, shared", "192.0.2.1", nodeA, nodeB)
	rds.Stop()
	time.Sleep(300 * time.Millisecond)
	limited("Redis down, per node", "192.0.2.2", nodeA)
	limited("Redis down, per node", "192.0.2.2", nodeB)
	startRedisOn(t, rds.Port)
	time.Sleep(1500 * time.Millisecond) // the nodes try Redis again a second after it failed
	limited("Redis back, shared again", "192.0.2.3", nodeA, nodeB)
	time.Sleep(500 * time.Millisecond)
	stop()
	<-done

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	if len(applied) < 5 {
		t.Fatalf("only %d registrations under load", len(applied))
	}
	for _, id := range applied {
		c.waitEvent("pdg", evNew, id)
	}
	t.Logf("%d registrations and logins through the Redis restart, every event delivered", len(applied))
}
