package tests

// The operators' Prometheus setup in deploy/prometheus: promtool checks the configuration and the
// alert rules and runs their unit tests (alerts_test.yml), then a real Prometheus (Debian's
// prometheus package) scrapes two nodes on one database, one on its own port and one on its
// METRICS_ADDR, with the shipped alerts.yml loaded, while a PDG's socket receives an event.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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

	"github.com/gorilla/websocket"

	"github.com/artisan-notify/artisan-notify/impl/proctest"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

const promDir = "../deploy/prometheus"

// promTools returns the paths of Debian's prometheus and promtool; the test fails without them.
func promTools(t *testing.T) (prom, promtool string) {
	t.Helper()
	for _, name := range []string{"prometheus", "promtool"} {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s not found in PATH: install Debian's prometheus package "+
				"(`scripts/install-system-packages.sh`, which `make test` runs, or `sudo apt-get install prometheus`)", name)
		}
		if name == "prometheus" {
			prom = p
		} else {
			promtool = p
		}
	}
	return prom, promtool
}

// promtoolRun runs promtool with args in dir and fails the test if it fails.
func promtoolRun(t *testing.T, promtool, dir string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, args...)
	cmd.Dir = dir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("(cd %s && promtool %s): %v\n%s", dir, strings.Join(args, " "), err, out)
	}
	t.Logf("promtool %s (%v):\n%s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond), bytes.TrimSpace(out))
}

// TestPrometheusFiles checks deploy/prometheus with promtool (configuration, rules, rule unit
// tests) and the Grafana dashboard's JSON.
func TestPrometheusFiles(t *testing.T) {
	_, promtool := promTools(t)
	promtoolRun(t, promtool, promDir, "check", "config", "prometheus.yml")
	promtoolRun(t, promtool, promDir, "check", "rules", "alerts.yml")
	promtoolRun(t, promtool, promDir, "test", "rules", "alerts_test.yml")

	b, err := os.ReadFile(filepath.Join(promDir, "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title      string `json:"title"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if !slices.ContainsFunc(dash.Templating.List, func(v struct {
		Name  string `json:"name"`
		Type  string `json:"type"`
		Query any    `json:"query"`
	}) bool {
		return v.Type == "datasource" && v.Query == "prometheus"
	}) {
		t.Fatal("grafana-dashboard.json: no datasource variable of type prometheus")
	}
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	all := strings.Join(exprs, "\n")
	for _, m := range []string{
		"artisan_notify_http_requests_total", "artisan_notify_http_request_duration_seconds_bucket",
		"artisan_notify_sockets_connected", "artisan_notify_events_emitted_total",
		"artisan_notify_event_commit_to_emit_seconds_bucket", "artisan_notify_outbox_backlog_events",
		"artisan_notify_relay_lag_seconds", "artisan_notify_relay_open_transactions",
		"artisan_notify_relay_oldest_open_transaction_seconds", "artisan_notify_db_pool_acquired_conns",
		"process_resident_memory_bytes", "process_cpu_seconds_total", "go_goroutines",
	} {
		if !strings.Contains(all, m) {
			t.Errorf("grafana-dashboard.json: no panel queries %s", m)
		}
	}
}

// promServer is a Prometheus process.
type promServer struct {
	url string
	cmd *exec.Cmd
	mu  sync.Mutex
	log bytes.Buffer
}

func (p *promServer) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.Write(b)
}

func (p *promServer) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// startPrometheus starts prometheus with config (written as JSON, which is YAML) on a free
// loopback port with its storage in a temporary directory, and waits until it is ready.
func startPrometheus(t *testing.T, prom, promtool string, config any) *promServer {
	t.Helper()
	dir := t.TempDir()
	b, err := json.MarshalIndent(config, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	promtoolRun(t, promtool, dir, "check", "config", "prometheus.yml")
	addr := "127.0.0.1:" + strconv.Itoa(proctest.FreePort(t))
	p := &promServer{url: "http://" + addr}
	p.cmd = exec.Command(prom,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", prom, err)
	}
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-done
			t.Errorf("prometheus did not stop within 20 s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", tail(p.logs(), 40))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("prometheus exited: %v\n%s", p.cmd.ProcessState, p.logs())
		default:
		}
		if res, err := http.Get(p.url + "/-/ready"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready within 30 s; log:\n%s", p.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// api GETs /api/v1/<path> and decodes its data into out.
func (p *promServer) api(t *testing.T, path string, q url.Values, out any) {
	t.Helper()
	u := p.url + "/api/v1/" + path
	if q != nil {
		u += "?" + q.Encode()
	}
	res, err := httpClient.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil || env.Status != "success" {
		t.Fatalf("GET %s: HTTP %d %s (%v)", u, res.StatusCode, b, err)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		t.Fatalf("GET %s: %v in %s", u, err, env.Data)
	}
}

// query runs an instant PromQL query and returns its vector as instance -> value.
func (p *promServer) query(t *testing.T, expr string) map[string]float64 {
	t.Helper()
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	p.api(t, "query", url.Values{"query": {expr}}, &data)
	if data.ResultType != "vector" {
		t.Fatalf("query %s: result type %q, want vector", expr, data.ResultType)
	}
	got := map[string]float64{}
	for _, r := range data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("query %s: value %v", expr, r.Value)
		}
		got[r.Metric["instance"]] = v
	}
	return got
}

// waitQuery polls expr until ok accepts its result, or fails after timeout.
func (p *promServer) waitQuery(t *testing.T, timeout time.Duration, expr string, ok func(map[string]float64) bool) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := p.query(t, expr)
		if ok(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, Prometheus still answers %v to %s", timeout, got, expr)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestPrometheusScrapesTwoNodes runs a real Prometheus against two nodes on one database with the
// shipped alert rules, and reads through its API what a flow (a PDG's socket, a registration, an
// approval) left in the nodes' metrics.
func TestPrometheusScrapesTwoNodes(t *testing.T) {
	prom, promtool := promTools(t)
	alerts, err := filepath.Abs(filepath.Join(promDir, "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	dbURL := testdb.New(t)
	n1 := proctest.Start(t, nodeEnv(dbURL, "node-1"))
	metrics2 := "127.0.0.1:" + strconv.Itoa(proctest.FreePort(t))
	env2 := nodeEnv(dbURL, "node-2")
	env2["METRICS_ADDR"] = metrics2 // scraped there, not on its public port
	n2 := proctest.Start(t, env2)
	target1 := strings.TrimPrefix(n1.URL, "http://")
	targets := []string{target1, metrics2}
	t.Logf("database and two nodes ready in %v", time.Since(begin).Round(time.Millisecond))

	start := time.Now()
	p := startPrometheus(t, prom, promtool, map[string]any{
		"global":     map[string]any{"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
		"rule_files": []string{alerts},
		"scrape_configs": []any{map[string]any{
			"job_name":       "artisan-notify", // the job the rules select
			"static_configs": []any{map[string]any{"targets": targets}},
		}},
	})
	t.Logf("prometheus ready in %v", time.Since(start).Round(time.Millisecond))

	// The rules are loaded: every group of alerts.yml, every rule evaluated without error.
	var rules struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name           string    `json:"name"`
				Type           string    `json:"type"`
				Health         string    `json:"health"`
				LastError      string    `json:"lastError"`
				LastEvaluation time.Time `json:"lastEvaluation"`
			} `json:"rules"`
		} `json:"groups"`
	}
	wantGroups := []string{"artisan-notify-http", "artisan-notify-nodes", "artisan-notify-relay", "artisan-notify-sockets"}
	deadline := time.Now().Add(waitLong)
	for {
		p.api(t, "rules", url.Values{"type": {"alert"}}, &rules)
		var groups, pendingEval []string
		n := 0
		for _, g := range rules.Groups {
			groups = append(groups, g.Name)
			for _, r := range g.Rules {
				n++
				if r.Health == "err" {
					t.Fatalf("rule %s: %s", r.Name, r.LastError)
				}
				if r.Health != "ok" || r.LastEvaluation.Year() < 2000 {
					pendingEval = append(pendingEval, r.Name)
				}
			}
		}
		slices.Sort(groups)
		if !slices.Equal(groups, wantGroups) {
			t.Fatalf("alert groups loaded: %v, want %v", groups, wantGroups)
		}
		if len(pendingEval) == 0 {
			t.Logf("%d alert rules in %d groups loaded and evaluated", n, len(groups))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alert rules not evaluated after %v: %v", waitLong, pendingEval)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// Both targets are up.
	p.waitQuery(t, waitLong, `up{job="artisan-notify"}`, func(m map[string]float64) bool {
		return len(m) == 2 && m[target1] == 1 && m[metrics2] == 1
	})

	// The flow: a PDG's raw websocket on node 2; an artisan registers through node 1 (event
	// artisan-request:new, which the socket receives); the PDG approves through node 2.
	pdg := makePDG(t, n1)
	ws := wsDial(t, n2.URL, nil)
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`40{"token":"`+pdg.Token+`"}`))
	if pk, err := wsNext(ws, 5*time.Second); err != nil || !strings.HasPrefix(pk, "40{") {
		t.Fatalf("socket connect on node 2: %q %v", pk, err)
	}
	packets := make(chan string, 16)
	go func() { // answers pings, hands the other packets over, until the connection closes
		defer close(packets)
		for {
			pk, err := wsNext(ws, time.Minute)
			if err != nil {
				return
			}
			packets <- pk
		}
	}()
	applicant := register(t, n1.URL, typeArtisan)
	wantNew := `42["` + evNew + `"`
	timeout := time.After(waitLong)
	for got := false; !got; {
		select {
		case pk, ok := <-packets:
			if !ok {
				t.Fatal("the PDG's socket closed before artisan-request:new")
			}
			got = strings.HasPrefix(pk, wantNew) && strings.Contains(pk, fmt.Sprintf(`"contact_id":%d`, applicant.ID))
		case <-timeout:
			t.Fatalf("the PDG's socket on node 2 did not receive %s about %d", evNew, applicant.ID)
		}
	}
	decide(t, n2.URL, pdg.Token, applicant.ID, true)

	// Every node's relay emits every event: commit-to-emit observed on both.
	flow := time.Now()
	got := p.waitQuery(t, waitLong, `sum by (instance) (artisan_notify_event_commit_to_emit_seconds_count{job="artisan-notify",event="`+evApproved+`"})`,
		func(m map[string]float64) bool { return m[target1] > 0 && m[metrics2] > 0 })
	t.Logf("commit-to-emit of %s counted on both nodes %v after the approval: %v", evApproved, time.Since(flow).Round(time.Millisecond), got)
	p.waitQuery(t, waitLong, `sum by (instance) (artisan_notify_events_emitted_total{job="artisan-notify",event="`+evNew+`"})`,
		func(m map[string]float64) bool { return m[target1] > 0 && m[metrics2] > 0 })
	p.waitQuery(t, waitLong, `artisan_notify_sockets_connected{job="artisan-notify",role="pdg"}`,
		func(m map[string]float64) bool { return m[metrics2] == 1 && m[target1] == 0 })
	p.waitQuery(t, waitLong, `sum by (instance) (artisan_notify_http_requests_total{job="artisan-notify",operation="register",status="201"})`,
		func(m map[string]float64) bool { return m[target1] >= 2 })
	p.waitQuery(t, waitLong, `sum by (instance) (artisan_notify_http_requests_total{job="artisan-notify",operation="approveArtisanRequest",status="200"})`,
		func(m map[string]float64) bool { return m[metrics2] == 1 })

	// A node stops: up turns 0 and ArtisanNotifyNodeDown becomes pending for it (firing after 1 min).
	ws.Close()
	stop := time.Now()
	n2.Stop(t, syscall.SIGTERM)
	t.Logf("node 2 stopped in %v", time.Since(stop).Round(time.Millisecond))
	p.waitQuery(t, waitLong, `up{job="artisan-notify"}`, func(m map[string]float64) bool {
		return m[target1] == 1 && m[metrics2] == 0
	})
	var alertsData struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	deadline = time.Now().Add(waitLong)
	for {
		p.api(t, "alerts", nil, &alertsData)
		if slices.ContainsFunc(alertsData.Alerts, func(a struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		}) bool {
			return a.Labels["alertname"] == "ArtisanNotifyNodeDown" && a.Labels["instance"] == metrics2 && a.State == "pending"
		}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pending ArtisanNotifyNodeDown for %s after %v: %+v", metrics2, waitLong, alertsData.Alerts)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("alerts after node 2 stopped: %+v", alertsData.Alerts)
}
