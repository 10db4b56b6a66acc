package tests

// Durability and multi-node tests against real server processes, with npm socket.io-client
// sockets held by tests/cluster/agent.mjs: the crash between commit and emit, three nodes on one
// database (then one killed), and live revocation across nodes. The helpers here (clients, REST,
// operator commands, a process whose exit status is read) serve faults_test.go too.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/impl/apptest"
	"github.com/artisan-notify/artisan-notify/impl/proctest"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

const (
	evNew      = "artisan-request:new"
	evApproved = "artisan-request:approved"
	evRejected = "artisan-request:rejected"
	// user:rights-changed is tallied by its is_pdg: a grant and a revoke are two events.
	evGranted = "user:rights-changed is_pdg=true"
	evRevoked = "user:rights-changed is_pdg=false"

	typeClient  = "Client"
	typeArtisan = "Artisan/Promoteur"

	// waitLong bounds every wait for a condition that should hold within a second or two.
	waitLong = 20 * time.Second
	// quietWindow is how long a socket is watched for duplicates once everything expected arrived.
	quietWindow = 1500 * time.Millisecond
)

// nodeEnv is the environment of a server node on database dbURL.
func nodeEnv(dbURL, nodeID string) map[string]string {
	env := apptest.Env(dbURL, "info")
	env["NODE_ID"] = nodeID
	return env
}

// ---------------------------------------------------------------- sockets (tests/cluster/agent.mjs)

// report is one line written by agent.mjs.
type report struct {
	T         string          `json:"t"`
	ID        string          `json:"id"`
	SID       string          `json:"sid"`
	Recovered bool            `json:"recovered"`
	URL       string          `json:"url"`
	Reason    string          `json:"reason"`
	Message   string          `json:"message"`
	Event     string          `json:"event"`
	Payload   json.RawMessage `json:"payload"`
	At        int64           `json:"at"` // Unix ms
	contact   int64
}

func (r report) time() time.Time { return time.UnixMilli(r.At) }

// sockLog is what one socket went through.
type sockLog struct {
	connects, disconnects, connectErrors, events []report
}

// key names an event about one contact.
type key struct {
	Event   string
	Contact int64
}

func (k key) String() string { return fmt.Sprintf("%s #%d", k.Event, k.Contact) }

// clients is a Node process holding npm socket.io-client sockets for the test.
type clients struct {
	t   testing.TB
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bytes.Buffer // stderr

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every report
	socks   map[string]*sockLog
	errs    []string
	exited  bool
}

// newClients starts tests/cluster/agent.mjs; it ends with the test.
func newClients(t testing.TB) *clients {
	t.Helper()
	if _, err := os.Stat(filepath.Join("cluster", "node_modules", "socket.io-client")); err != nil {
		t.Fatal("tests/cluster has no node_modules: run `npm ci --prefix tests/cluster` (make test does)")
	}
	c := &clients{t: t, changed: make(chan struct{}), socks: map[string]*sockLog{}, out: &bytes.Buffer{}}
	c.cmd = exec.Command("node", "agent.mjs")
	c.cmd.Dir = "cluster"
	c.cmd.Stderr = &lockedBuffer{mu: &c.mu, b: c.out}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if c.in, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start node agent.mjs: %v", err)
	}
	ready := make(chan struct{})
	go c.read(stdout, ready)
	select {
	case <-ready:
	case <-time.After(waitLong):
		t.Fatalf("agent.mjs did not start; stderr:\n%s", c.stderr())
	}
	t.Cleanup(func() {
		_, _ = io.WriteString(c.in, `{"op":"exit"}`+"\n")
		_ = c.in.Close()
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
		if errs := c.errors(); len(errs) > 0 {
			t.Errorf("agent.mjs errors:\n%s", strings.Join(errs, "\n"))
		}
	})
	return c
}

type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (c *clients) stderr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

func (c *clients) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.errs)
}

func (c *clients) read(r io.Reader, ready chan struct{}) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var rep report
		if err := json.Unmarshal(sc.Bytes(), &rep); err != nil {
			c.mu.Lock()
			c.errs = append(c.errs, fmt.Sprintf("bad report %q: %v", sc.Text(), err))
			c.mu.Unlock()
			continue
		}
		if rep.T == "ready" {
			close(ready)
			continue
		}
		var p struct {
			ContactID int64 `json:"contact_id"`
			IsPDG     bool  `json:"is_pdg"`
		}
		_ = json.Unmarshal(rep.Payload, &p)
		rep.contact = p.ContactID
		if rep.Event == "user:rights-changed" {
			rep.Event = fmt.Sprintf("%s is_pdg=%v", rep.Event, p.IsPDG)
		}
		c.mu.Lock()
		s := c.socks[rep.ID]
		if s == nil && rep.ID != "" {
			s = &sockLog{}
			c.socks[rep.ID] = s
		}
		switch rep.T {
		case "connect":
			s.connects = append(s.connects, rep)
		case "disconnect":
			s.disconnects = append(s.disconnects, rep)
		case "connect_error":
			s.connectErrors = append(s.connectErrors, rep)
		case "event":
			s.events = append(s.events, rep)
		case "error":
			c.errs = append(c.errs, rep.Message)
		}
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
	c.mu.Lock()
	c.exited = true
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// socketOpts are the options of one socket.
type socketOpts struct {
	Token     string   `json:"token,omitempty"`
	URLs      []string `json:"urls"`
	Transport string   `json:"transport,omitempty"`
	Reconnect bool     `json:"reconnection"`
	Origin    string   `json:"origin,omitempty"`
}

// open opens socket id with token on urls[0]; with several urls it reconnects to the next one
// each time, as behind a load balancer. It reconnects by itself.
func (c *clients) open(id, token string, urls ...string) {
	c.openWith(id, socketOpts{Token: token, URLs: urls, Reconnect: true})
}

func (c *clients) openWith(id string, o socketOpts) {
	c.t.Helper()
	cmd, err := json.Marshal(struct {
		Op string `json:"op"`
		ID string `json:"id"`
		socketOpts
	}{"open", id, o})
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	if c.socks[id] == nil {
		c.socks[id] = &sockLog{}
	}
	c.mu.Unlock()
	if _, err := c.in.Write(append(cmd, '\n')); err != nil {
		c.t.Fatalf("agent.mjs: %v; stderr:\n%s", err, c.stderr())
	}
}

// close closes socket id (no reconnection).
func (c *clients) close(id string) {
	_, _ = fmt.Fprintf(c.in, `{"op":"close","id":%q}`+"\n", id)
}

// waitUntil returns once cond (called with the lock held) is true, or fails the test after timeout.
func (c *clients) waitUntil(timeout time.Duration, what string, cond func() bool) {
	c.t.Helper()
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		ok, exited, ch := cond(), c.exited, c.changed
		c.mu.Unlock()
		if ok {
			return
		}
		if exited {
			c.t.Fatalf("agent.mjs exited while waiting for %s; stderr:\n%s", what, c.stderr())
		}
		select {
		case <-ch:
		case <-deadline:
			c.t.Fatalf("timed out after %v waiting for %s\n%s", timeout, what, c.dump())
		}
	}
}

// dump describes every socket, for failure messages.
func (c *clients) dump() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(c.socks)) {
		s := c.socks[id]
		fmt.Fprintf(&b, "  %s: %d connects, %d disconnects", id, len(s.connects), len(s.disconnects))
		for _, d := range s.disconnects {
			fmt.Fprintf(&b, " [%s]", d.Reason)
		}
		for _, e := range s.connectErrors {
			fmt.Fprintf(&b, " connect_error %q", e.Message)
		}
		fmt.Fprintf(&b, "; events %v\n", tallyOf(s.events))
	}
	return b.String()
}

// waitConnected waits until every socket in ids has connected at least n times.
func (c *clients) waitConnected(n int, ids ...string) {
	c.t.Helper()
	c.waitUntil(waitLong, fmt.Sprintf("%v connected %d time(s)", ids, n), func() bool {
		for _, id := range ids {
			if s := c.socks[id]; s == nil || len(s.connects) < n {
				return false
			}
		}
		return true
	})
}

// waitEvent waits until socket id has received ev about contact.
func (c *clients) waitEvent(id, ev string, contact int64) report {
	c.t.Helper()
	var got report
	c.waitUntil(waitLong, fmt.Sprintf("%s to receive %s", id, key{ev, contact}), func() bool {
		for _, r := range c.socks[id].events {
			if r.Event == ev && r.contact == contact {
				got = r
				return true
			}
		}
		return false
	})
	return got
}

// waitAll waits until every socket has received at least the events it expects.
func (c *clients) waitAll(want map[string]map[key]int) {
	c.t.Helper()
	c.waitUntil(waitLong, "every socket to receive its events", func() bool {
		for id, keys := range want {
			got := tallyOf(c.socks[id].events)
			for k := range keys {
				if got[k] == 0 {
					return false
				}
			}
		}
		return true
	})
}

// tally returns how many times socket id received each event, by contact.
func (c *clients) tally(id string) map[key]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return tallyOf(c.socks[id].events)
}

func tallyOf(events []report) map[key]int {
	m := map[key]int{}
	for _, r := range events {
		m[key{r.Event, r.contact}]++
	}
	return m
}

// log returns a copy of what socket id went through.
func (c *clients) log(id string) sockLog {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.socks[id]
	if s == nil {
		return sockLog{}
	}
	return sockLog{slices.Clone(s.connects), slices.Clone(s.disconnects), slices.Clone(s.connectErrors), slices.Clone(s.events)}
}

// delivery counts what the sockets got against what they should have got.
type delivery struct{ expected, received, missed, duplicated, unexpected int }

func (d delivery) String() string {
	return fmt.Sprintf("%d expected deliveries, %d received, %d missed, %d duplicated, %d unexpected",
		d.expected, d.received, d.missed, d.duplicated, d.unexpected)
}

// check compares each socket's tally with want (each exactly once, nothing else); a socket may
// also have received the events maybe lists for it, at most once.
func (c *clients) check(t testing.TB, want map[string]map[key]int, maybe map[string]map[key]bool) delivery {
	t.Helper()
	var d delivery
	for _, id := range slices.Sorted(maps.Keys(want)) {
		got := c.tally(id)
		for k := range want[id] {
			d.expected++
			switch n := got[k]; {
			case n == 0:
				d.missed++
				t.Errorf("%s missed %s", id, k)
			case n > 1:
				d.duplicated += n - 1
				t.Errorf("%s got %s %d times", id, k, n)
			}
		}
		for k, n := range got {
			d.received += n
			if want[id][k] > 0 {
				continue
			}
			if maybe[id][k] {
				if n > 1 {
					d.duplicated += n - 1
					t.Errorf("%s got %s %d times", id, k, n)
				}
				continue
			}
			d.unexpected += n
			t.Errorf("%s got %s, which is not for it", id, k)
		}
	}
	return d
}

// ---------------------------------------------------------------- REST

type account struct {
	ID       int64
	Email    string
	Password string
	Token    string
}

var httpClient = &http.Client{Timeout: 15 * time.Second}

// call sends a JSON request and returns the status and body.
func call(ctx context.Context, hc *http.Client, method, url, token string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func mustCall(t testing.TB, method, url, token string, body any, want int) []byte {
	t.Helper()
	status, b, err := call(context.Background(), httpClient, method, url, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if status != want {
		t.Fatalf("%s %s: HTTP %d %s, want %d", method, url, status, b, want)
	}
	return b
}

func uniqueEmail(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%s-%s@example.test", prefix, strconv.FormatInt(time.Now().UnixNano(), 36), hex.EncodeToString(b))
}

func registerBody(email, typ string) map[string]string {
	return map[string]string{
		"prenom": "Prenom", "nom": "Nom", "email": email, "password": "motdepasse1",
		"confirm_password": "motdepasse1", "type_compte": typ,
	}
}

// register registers a new contact of type typ through base.
func register(t testing.TB, base, typ string) account {
	t.Helper()
	email := uniqueEmail("c")
	b := mustCall(t, "POST", base+"/api/users/auth/register", "", registerBody(email, typ), http.StatusCreated)
	return accountFrom(t, b, email)
}

func accountFrom(t testing.TB, b []byte, email string) account {
	t.Helper()
	var r struct {
		Token string `json:"token"`
		User  struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Token == "" || r.User.ID == 0 {
		t.Fatalf("register: unexpected answer %s (%v)", b, err)
	}
	return account{ID: r.User.ID, Email: email, Password: "motdepasse1", Token: r.Token}
}

// operator runs a server command (grant-pdg, revoke-pdg, revoke-tokens) with srv's environment.
func operator(t testing.TB, srv *proctest.Server, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sh", "-c", srv.Command(args...)).CombinedOutput()
	if err != nil {
		t.Fatalf("server %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// makePDG registers a Client through srv and makes it a PDG; its register token stays valid.
func makePDG(t testing.TB, srv *proctest.Server) account {
	t.Helper()
	a := register(t, srv.URL, typeClient)
	operator(t, srv, "grant-pdg", a.Email)
	return a
}

// relayed waits until the relay of every node in srvs has delivered every committed event (its
// outbox backlog, from /metrics, is 0): sockets opened after it do not get the events before it
// (e.g. a grant's user:rights-changed, which a socket opened right after the grant may or may not
// get, depending on the relay's timing).
func relayed(t testing.TB, srvs ...*proctest.Server) {
	t.Helper()
	backlog := regexp.MustCompile(`(?m)^artisan_notify_outbox_backlog_events (\S+)`)
	for _, srv := range srvs {
		deadline := time.Now().Add(waitLong)
		for {
			var last string
			if r, err := http.Get(srv.URL + "/metrics"); err == nil {
				b, _ := io.ReadAll(r.Body)
				r.Body.Close()
				if m := backlog.FindSubmatch(b); m != nil {
					last = string(m[1])
				}
			}
			if last == "0" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: outbox backlog %q after %v, want 0", srv.URL, last, waitLong)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// decide approves (or rejects) the request of contact through base.
func decide(t testing.TB, base, token string, contact int64, approve bool) {
	t.Helper()
	action := "reject"
	if approve {
		action = "approve"
	}
	mustCall(t, "POST", fmt.Sprintf("%s/api/notifications/artisan-requests/%d/%s", base, contact, action), token, nil, http.StatusOK)
}

// pending returns the count and the listed contact ids of the pending requests, through base.
func pending(t testing.TB, base, token string) (int, []int64) {
	t.Helper()
	var cnt struct {
		Count int `json:"count"`
	}
	if err := json.Unmarshal(mustCall(t, "GET", base+"/api/notifications/artisan-requests/count", token, nil, 200), &cnt); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Requests []struct {
			ContactID int64 `json:"contact_id"`
		} `json:"requests"`
		Count int `json:"count"`
	}
	if err := json.Unmarshal(mustCall(t, "GET", base+"/api/notifications/artisan-requests?limit=200", token, nil, 200), &list); err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(list.Requests))
	for i, r := range list.Requests {
		ids[i] = r.ContactID
	}
	slices.Sort(ids)
	return cnt.Count, ids
}

// ---------------------------------------------------------------- a process whose exit status is read

// proc is a server process started by the test itself: unlike proctest.Server, its exit status
// can be read. It is killed when the test ends.
type proc struct {
	cmd  *exec.Cmd
	url  string
	log  *bytes.Buffer
	mu   sync.Mutex
	done chan struct{}
}

// launch runs bin with env (KEY=VALUE, PORT included) and waits until url/readyz answers 200.
func launch(t testing.TB, bin string, env []string, url string) *proc {
	t.Helper()
	p := &proc{url: url, log: &bytes.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append(os.Environ(), env...)
	w := &lockedBuffer{mu: &p.mu, b: p.log}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("log of %s:\n%s", url, p.logs())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("server exited at start (%v); log:\n%s", p.cmd.ProcessState, p.logs())
		default:
		}
		// the answer must be this process's, not another's on the same port
		if !proctest.Listens(p.cmd.Process.Pid, portOf(t, url)) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if res, err := http.Get(url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server not ready in 60 s; log:\n%s", p.logs())
	return nil
}

// portOf returns the port of url (http://host:port).
func portOf(t testing.TB, url string) int {
	t.Helper()
	i := strings.LastIndexByte(url, ':')
	port, err := strconv.Atoi(strings.TrimRight(url[i+1:], "/"))
	if i < 0 || err != nil {
		t.Fatalf("no port in %q", url)
	}
	return port
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// wait waits for the process to exit and returns its exit code (-1 when killed by a signal).
func (p *proc) wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("server did not exit within %v; log tail:\n%s", timeout, tail(p.logs(), 20))
		return 0
	}
}

// envWith returns env (KEY=VALUE) with the keys of set replaced and those of unset removed.
func envWith(env []string, set map[string]string, unset ...string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; ok || slices.Contains(unset, k) {
			continue
		}
		out = append(out, kv)
	}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		out = append(out, k+"="+set[k])
	}
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// ---------------------------------------------------------------- tests

// TestCrashBetweenCommitAndEmit: the process dies after an Artisan's registration committed and
// before its event was emitted; restarted on the same port, it delivers the event, and the PDG
// socket, which reconnected by itself, gets it exactly once.
func TestCrashBetweenCommitAndEmit(t *testing.T) {
	dbURL := testdb.New(t)
	// A first node creates the PDG (grant-pdg writes an internal event that the faulty node must
	// not meet), then stops.
	setup := proctest.Start(t, nodeEnv(dbURL, "setup"))
	pdg := makePDG(t, setup)
	setup.Stop(t, syscall.SIGTERM)

	env := envWith(setup.Env, map[string]string{"NODE_ID": "crashing", "FAULT_CRASH_BEFORE_EMIT": "1"})
	node := launch(t, proctest.BinaryWithTags(t, "faults"), env, setup.URL) // the shipped binary has no fault hooks
	c := newClients(t)
	c.open("pdg", pdg.Token, setup.URL)
	c.waitConnected(1, "pdg")

	email := uniqueEmail("crash")
	status, body, err := call(context.Background(), httpClient, "POST", setup.URL+"/api/users/auth/register", "", registerBody(email, typeArtisan))
	// The process may die before it answers: the registration committed all the same.
	t.Logf("registration answer before the crash: status %d, err %v", status, err)
	if err == nil && status != http.StatusCreated {
		t.Fatalf("register: HTTP %d %s", status, body)
	}
	if code := node.wait(t, 30*time.Second); code != 70 {
		t.Fatalf("the faulty process exited with %d, want 70 (the fault hook)", code)
	}
	crashedAt := time.Now()
	if !strings.Contains(node.logs(), "fault injection: exiting between commit and emit") {
		t.Fatalf("the process did not exit through the fault hook; log:\n%s", tail(node.logs(), 20))
	}
	c.waitUntil(waitLong, "the PDG socket to see the crash", func() bool { return len(c.socks["pdg"].disconnects) > 0 })
	if got := c.tally("pdg"); len(got) != 0 {
		t.Fatalf("the event left before the crash: %v", got)
	}

	// Restart without the fault, same node id, same port.
	restarted := launch(t, setup.Bin, envWith(env, nil, "FAULT_CRASH_BEFORE_EMIT"), setup.URL)
	readyAt := time.Now()
	var artisan int64
	if err == nil {
		artisan = accountFrom(t, body, email).ID
	} else {
		var list struct {
			Requests []struct {
				ContactID int64  `json:"contact_id"`
				Email     string `json:"email"`
			} `json:"requests"`
		}
		_ = json.Unmarshal(mustCall(t, "GET", setup.URL+"/api/notifications/artisan-requests", pdg.Token, nil, 200), &list)
		for _, r := range list.Requests {
			if r.Email == email {
				artisan = r.ContactID
			}
		}
		if artisan == 0 {
			t.Fatalf("the registration cut by the crash is not in the database: %+v", list)
		}
	}
	c.waitConnected(2, "pdg")
	reconnectedAt := c.log("pdg").connects[1].time()
	got := c.waitEvent("pdg", evNew, artisan)
	quiet(c, 2*time.Second)
	d := c.check(t, map[string]map[key]int{"pdg": {{evNew, artisan}: 1}}, nil)
	if strings.Count(restarted.logs(), `"msg":"relay: backlog to replay"`) != 1 {
		t.Errorf("the restarted relay did not report its backlog; log:\n%s", tail(restarted.logs(), 20))
	}
	t.Logf("crash→ready %v, crash→socket reconnected %v, crash→event delivered %v; %v",
		readyAt.Sub(crashedAt).Round(time.Millisecond), reconnectedAt.Sub(crashedAt).Round(time.Millisecond),
		got.time().Sub(crashedAt).Round(time.Millisecond), d)
}

// TestShippedBinaryHasNoFaultHooks: the binary deploy/ ships (built without the faults tag)
// ignores FAULT_CRASH_BEFORE_EMIT=1: it delivers the event instead of exiting.
func TestShippedBinaryHasNoFaultHooks(t *testing.T) {
	env := nodeEnv(testdb.New(t), "shipped")
	env["FAULT_CRASH_BEFORE_EMIT"] = "1"
	srv := proctest.Start(t, env)
	pdg := makePDG(t, srv)
	c := newClients(t)
	c.open("pdg", pdg.Token, srv.URL)
	c.waitConnected(1, "pdg")
	email := uniqueEmail("nofault")
	body := mustCall(t, "POST", srv.URL+"/api/users/auth/register", "", registerBody(email, typeArtisan), http.StatusCreated)
	c.waitEvent("pdg", evNew, accountFrom(t, body, email).ID)
	if strings.Contains(srv.Logs(), "fault injection") {
		t.Errorf("the shipped binary ran a fault hook; log:\n%s", tail(srv.Logs(), 20))
	}
}

// TestClusterThreeNodes: three nodes on one database; PDG and applicant sockets spread over
// them; registrations and decisions through different nodes reach every socket exactly once.
// Then one node is killed: the others keep delivering, its clients reconnect to another node,
// resync through REST and get the later events exactly once.
func TestClusterThreeNodes(t *testing.T) {
	dbURL := testdb.New(t)
	nodes := make([]*proctest.Server, 3)
	for i := range nodes {
		nodes[i] = proctest.Start(t, nodeEnv(dbURL, fmt.Sprintf("node-%d", i)))
	}
	// urlsFrom lists the node URLs starting at node i: the socket's first node, then where it
	// goes when that node is lost.
	urlsFrom := func(i int) []string {
		return []string{nodes[i%3].URL, nodes[(i+1)%3].URL, nodes[(i+2)%3].URL}
	}
	c := newClients(t)

	// Three PDGs, each with a socket on each node.
	pdgs := make([]account, 3)
	var pdgSocks []string
	sockNode := map[string]int{}
	for p := range pdgs {
		pdgs[p] = makePDG(t, nodes[p])
	}
	relayed(t, nodes...) // the grants' user:rights-changed are not for the sockets below
	for p := range pdgs {
		for n := range nodes {
			id := fmt.Sprintf("pdg%d@node%d", p, n)
			c.open(id, pdgs[p].Token, urlsFrom(n)...)
			pdgSocks = append(pdgSocks, id)
			sockNode[id] = n
		}
	}
	c.waitConnected(1, pdgSocks...)

	want := map[string]map[key]int{}
	expect := func(id string, k key) {
		if want[id] == nil {
			want[id] = map[key]int{}
		}
		want[id][k] = 1
	}
	toPDGs := func(k key) {
		for _, id := range pdgSocks {
			expect(id, k)
		}
	}

	// Phase 1: 12 applicants registered through node i%3, each then connected to node (i+1)%3;
	// 9 of them decided through node (i+2)%3; 3 stay pending.
	const applicants = 12
	apps := make([]account, applicants)
	appSock := func(i int) string { return fmt.Sprintf("applicant%d", i) }
	for i := range apps {
		apps[i] = register(t, nodes[i%3].URL, typeArtisan)
		toPDGs(key{evNew, apps[i].ID})
		c.open(appSock(i), apps[i].Token, urlsFrom(i+1)...)
		sockNode[appSock(i)] = (i + 1) % 3
		want[appSock(i)] = map[key]int{}
	}
	for i := range apps {
		c.waitConnected(1, appSock(i))
	}
	decideAt := func(i, node int) {
		approve := i%2 == 0
		decide(t, nodes[node].URL, pdgs[i%3].Token, apps[i].ID, approve)
		ev := evRejected
		if approve {
			ev = evApproved
		}
		toPDGs(key{ev, apps[i].ID})
		expect(appSock(i), key{ev, apps[i].ID})
	}
	for i := range 9 {
		decideAt(i, (i+2)%3)
	}
	c.waitAll(want)
	quiet(c, quietWindow)
	phase1 := c.check(t, want, nil)
	t.Logf("phase 1 (3 nodes, %d PDG + %d applicant sockets): %v", len(pdgSocks), applicants, phase1)
	if t.Failed() {
		t.FailNow()
	}

	// Phase 2: node 2 is killed.
	const killed = 2
	var moved, stayed []string
	for id, n := range sockNode {
		if n == killed {
			moved = append(moved, id)
		} else {
			stayed = append(stayed, id)
		}
	}
	slices.Sort(moved)
	killedAt := time.Now()
	nodes[killed].Stop(t, syscall.SIGKILL)

	// Events during the gap, through the surviving nodes: the sockets there get them at once.
	maybe := map[string]map[key]bool{}
	var gap []account
	for i := range 3 {
		a := register(t, nodes[i%2].URL, typeArtisan)
		gap = append(gap, a)
		for _, id := range pdgSocks {
			if sockNode[id] == killed {
				if maybe[id] == nil {
					maybe[id] = map[key]bool{}
				}
				maybe[id][key{evNew, a.ID}] = true // may arrive if the socket is back already
			} else {
				expect(id, key{evNew, a.ID})
			}
		}
	}
	for _, id := range stayed {
		if strings.HasPrefix(id, "pdg") {
			c.waitEvent(id, evNew, gap[len(gap)-1].ID)
		}
	}
	survivorsAt := time.Since(killedAt)

	// The killed node's clients reconnect elsewhere and resync through REST there.
	c.waitConnected(2, moved...)
	var slowest time.Duration
	for _, id := range moved {
		l := c.log(id)
		if l.connects[1].URL == nodes[killed].URL {
			t.Errorf("%s reconnected to the killed node", id)
		}
		if d := l.connects[1].time().Sub(killedAt); d > slowest {
			slowest = d
		}
		if r := l.disconnects[0].Reason; r != "transport close" && r != "transport error" && r != "ping timeout" {
			t.Errorf("%s: disconnect reason %q", id, r)
		}
	}
	wantPending := []int64{apps[9].ID, apps[10].ID, apps[11].ID}
	for _, a := range gap {
		wantPending = append(wantPending, a.ID)
	}
	slices.Sort(wantPending)
	for p := range pdgs {
		id := fmt.Sprintf("pdg%d@node%d", p, killed)
		l := c.log(id)
		base := l.connects[1].URL
		n, ids := pending(t, base, pdgs[p].Token)
		if n != len(wantPending) || !slices.Equal(ids, wantPending) {
			t.Errorf("%s resync through %s: count %d, list %v; want %v", id, base, n, ids, wantPending)
		}
	}

	// Later events, through the two surviving nodes, reach every socket exactly once: decide
	// the pending requests (applicant 10's socket was on the killed node) and register more.
	for i := 9; i < applicants; i++ {
		decideAt(i, i%2)
	}
	for i, a := range gap {
		approve := i%2 == 0
		decide(t, nodes[(i+1)%2].URL, pdgs[i].Token, a.ID, approve)
		ev := evRejected
		if approve {
			ev = evApproved
		}
		toPDGs(key{ev, a.ID})
	}
	for i := range 3 {
		toPDGs(key{evNew, register(t, nodes[i%2].URL, typeArtisan).ID})
	}
	c.waitAll(want)
	quiet(c, quietWindow)
	total := c.check(t, want, maybe)
	var gapGot int
	for id, keys := range maybe {
		for k := range keys {
			gapGot += c.tally(id)[k]
		}
	}
	t.Logf("node-%d killed: survivors delivered the gap events in %v; %d sockets moved, all reconnected within %v; "+
		"%d of %d gap events reached moved sockets (the rest resynced through REST)",
		killed, survivorsAt.Round(time.Millisecond), len(moved), slowest.Round(time.Millisecond), gapGot, 3*3)
	t.Logf("whole test: %v", total)
}

// quiet waits d with nothing to wait for: the window in which a duplicate would show.
func quiet(c *clients, d time.Duration) {
	c.t.Helper()
	until := time.Now().Add(d)
	timer := time.AfterFunc(d, func() {
		c.mu.Lock()
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	})
	defer timer.Stop()
	c.waitUntil(d+5*time.Second, "a quiet window", func() bool { return !time.Now().Before(until) })
}

// TestRevocationAcrossNodes: revoke-pdg, grant-pdg and revoke-tokens, run as operator commands,
// act at once on a socket connected to another node.
func TestRevocationAcrossNodes(t *testing.T) {
	dbURL := testdb.New(t)
	a := proctest.Start(t, nodeEnv(dbURL, "node-a"))
	b := proctest.Start(t, nodeEnv(dbURL, "node-b"))
	target, witness := makePDG(t, a), makePDG(t, a)
	relayed(t, a, b)
	c := newClients(t)
	c.open("target@b", target.Token, b.URL)
	c.open("witness@b", witness.Token, b.URL)
	c.open("witness@a", witness.Token, a.URL)
	c.waitConnected(1, "target@b", "witness@b", "witness@a")
	app1 := register(t, a.URL, typeArtisan)
	for _, id := range []string{"target@b", "witness@b", "witness@a"} {
		c.waitEvent(id, evNew, app1.ID)
	}

	// revoke-pdg: the approval that follows reaches the other PDGs, on both nodes, not the target.
	operator(t, a, "revoke-pdg", target.Email)
	mustCall(t, "GET", a.URL+"/api/notifications/artisan-requests/count", target.Token, nil, http.StatusForbidden)
	decide(t, a.URL, witness.Token, app1.ID, true)
	c.waitEvent("witness@a", evApproved, app1.ID)
	c.waitEvent("witness@b", evApproved, app1.ID) // node b relayed past the revocation (commit order)
	app2 := register(t, a.URL, typeArtisan)
	c.waitEvent("witness@b", evNew, app2.ID)
	if got := c.tally("target@b"); got[key{evApproved, app1.ID}]+got[key{evNew, app2.ID}] != 0 {
		t.Fatalf("after revoke-pdg the socket still gets PDG events: %v", got)
	}

	// grant-pdg: the same socket, never reconnected, gets the next event.
	operator(t, a, "grant-pdg", target.Email)
	app3 := register(t, a.URL, typeArtisan)
	c.waitEvent("target@b", evNew, app3.ID)
	if l := c.log("target@b"); len(l.connects) != 1 || len(l.disconnects) != 0 {
		t.Fatalf("the socket reconnected: %d connects, %d disconnects", len(l.connects), len(l.disconnects))
	}

	// revoke-tokens: disconnected by the server; its token opens nothing any more.
	operator(t, a, "revoke-tokens", target.Email)
	c.waitUntil(waitLong, "target@b to be disconnected", func() bool { return len(c.socks["target@b"].disconnects) > 0 })
	if r := c.log("target@b").disconnects[0].Reason; r != "io server disconnect" {
		t.Fatalf("disconnect reason %q, want io server disconnect", r)
	}
	for _, srv := range []*proctest.Server{b, a} {
		id := "old-token@" + srv.URL
		c.openWith(id, socketOpts{Token: target.Token, URLs: []string{srv.URL}})
		c.waitUntil(waitLong, id+" to be refused", func() bool { return len(c.socks[id].connectErrors) > 0 })
		if l := c.log(id); l.connectErrors[0].Message != "unauthorized" || len(l.connects) != 0 {
			t.Fatalf("%s: connect_error %q, %d connects", id, l.connectErrors[0].Message, len(l.connects))
		}
		body := mustCall(t, "GET", srv.URL+"/api/users/me", target.Token, nil, http.StatusUnauthorized)
		assertErrorShape(t, body, "unauthorized")
	}
	// A fresh login works again, with the PDG right.
	var login struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal(mustCall(t, "POST", b.URL+"/api/users/auth/login", "",
		map[string]string{"email": target.Email, "password": target.Password}, http.StatusOK), &login)
	c.open("new-token@b", login.Token, b.URL)
	c.waitConnected(1, "new-token@b")
	app4 := register(t, a.URL, typeArtisan)
	c.waitEvent("new-token@b", evNew, app4.ID)
	c.waitEvent("witness@b", evNew, app4.ID)
	quiet(c, quietWindow)
	d := c.check(t, map[string]map[key]int{
		"witness@a":   {{evNew, app1.ID}: 1, {evApproved, app1.ID}: 1, {evNew, app2.ID}: 1, {evNew, app3.ID}: 1, {evNew, app4.ID}: 1},
		"witness@b":   {{evNew, app1.ID}: 1, {evApproved, app1.ID}: 1, {evNew, app2.ID}: 1, {evNew, app3.ID}: 1, {evNew, app4.ID}: 1},
		"target@b":    {{evNew, app1.ID}: 1, {evRevoked, target.ID}: 1, {evGranted, target.ID}: 1, {evNew, app3.ID}: 1},
		"new-token@b": {{evNew, app4.ID}: 1},
	}, nil)
	t.Logf("revocation across nodes: %v", d)
}

// assertErrorShape checks the contract's error body {"error":{"code","message"}}.
func assertErrorShape(t testing.TB, body []byte, code string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("error body %s, want code %q in the contract's shape", body, code)
	}
}
