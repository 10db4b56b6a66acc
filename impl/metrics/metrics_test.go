package metrics_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/gen/oas"
	"github.com/artisan-notify/artisan-notify/impl/apptest"
)

// scrape returns the samples of /metrics by "name{labels}" (labels as the exposition writes them).
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET /metrics: %d %s\n%s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMetricsMoveDuringAFlow(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, nil)
	ctx := context.Background()
	before := scrape(t, s.URL)
	for _, name := range []string{
		`artisan_notify_sockets_connected{role="pdg"}`, `artisan_notify_sockets_connected{role="other"}`,
		`artisan_notify_outbox_backlog_events`, `artisan_notify_relay_lag_seconds`,
		`artisan_notify_relay_open_transactions`, `artisan_notify_relay_oldest_open_transaction_seconds`,
		`artisan_notify_db_pool_max_conns`, `artisan_notify_db_pool_acquires_total`,
		`go_goroutines`, `process_resident_memory_bytes`,
	} {
		if _, ok := before[name]; !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}

	// The flow: an artisan registers, a PDG approves; plus a request rejected before ogen and one
	// that matches no route.
	artisan := s.Register(t, "Artisan", "Artisan/Promoteur")
	pdg := s.PDG(t)
	if _, err := s.Client(t, pdg.Token).ApproveArtisanRequest(ctx, oas.ApproveArtisanRequestParams{ID: artisan.User.ID}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/notifications/artisan-requests/count", "/no/such/route"} {
		res, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}

	want := map[string]float64{
		`artisan_notify_http_requests_total{operation="register",status="201"}`:               2,
		`artisan_notify_http_requests_total{operation="login",status="200"}`:                  1,
		`artisan_notify_http_requests_total{operation="approveArtisanRequest",status="200"}`:  1,
		`artisan_notify_http_requests_total{operation="countArtisanRequests",status="401"}`:   1,
		`artisan_notify_http_requests_total{operation="unmatched",status="404"}`:              1,
		`artisan_notify_http_request_duration_seconds_count{operation="register"}`:            2,
		`artisan_notify_events_emitted_total{event="artisan-request:new"}`:                    1,
		`artisan_notify_events_emitted_total{event="artisan-request:approved"}`:               1,
		`artisan_notify_event_commit_to_emit_seconds_count{event="artisan-request:approved"}`: 1,
	}
	// Events leave through the relay, after commit: wait for them.
	var after map[string]float64
	deadline := time.Now().Add(15 * time.Second)
	for {
		after = scrape(t, s.URL)
		done := true
		for k, v := range want {
			if after[k]-before[k] < v {
				done = false
			}
		}
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for k, v := range want {
		if got := after[k] - before[k]; got < v {
			t.Errorf("%s moved by %v, want at least %v", k, got, v)
		}
	}
	if after[`artisan_notify_db_pool_acquires_total`] <= before[`artisan_notify_db_pool_acquires_total`] {
		t.Error("artisan_notify_db_pool_acquires_total did not move")
	}
	if n := after[`artisan_notify_outbox_backlog_events`]; n != 0 {
		t.Errorf("outbox backlog after delivery = %v, want 0", n)
	}
}

// A transaction left open on the server's database shows in the relay's open transaction gauges,
// which an alert can watch, while the events of other transactions still flow.
func TestMetricsShowATransactionLeftOpen(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, nil)
	ctx := context.Background()
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // rolled back below
	if _, err := tx.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
		t.Fatal(err)
	}
	const open, oldest = `artisan_notify_relay_open_transactions`, `artisan_notify_relay_oldest_open_transaction_seconds`
	const event = `artisan_notify_events_emitted_total{event="artisan-request:new"}`
	before := scrape(t, s.URL)
	s.Register(t, "Artisan", "Artisan/Promoteur")
	var m map[string]float64
	deadline := time.Now().Add(15 * time.Second)
	for {
		m = scrape(t, s.URL)
		if m[open] >= 1 && m[oldest] >= 3 && m[event] > before[event] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with a transaction open for %v: %s = %v, %s = %v, %s moved by %v",
				15*time.Second, open, m[open], oldest, m[oldest], event, m[event]-before[event])
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := m[`artisan_notify_outbox_backlog_events`]; n != 0 {
		t.Errorf("outbox backlog with a transaction open = %v, want 0: events are held back", n)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// Other tests' transactions may be open on the same server, but not for as long.
	deadline = time.Now().Add(15 * time.Second)
	for m = scrape(t, s.URL); m[oldest] >= 3; m = scrape(t, s.URL) {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after the transaction ended", oldest, m[oldest])
		}
		time.Sleep(200 * time.Millisecond)
	}
}
