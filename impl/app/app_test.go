package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/artisan-notify/artisan-notify/impl/app"
	"github.com/artisan-notify/artisan-notify/impl/config"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
	"github.com/artisan-notify/artisan-notify/impl/tracing"
)

func build(tb testing.TB, cfg config.Config) *app.Node {
	tb.Helper()
	n, _ := buildOn(tb, cfg)
	return n
}

// buildOn builds a node on a fresh database and returns it with the database's pool.
func buildOn(tb testing.TB, cfg config.Config) (*app.Node, *pgxpool.Pool) {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), testdb.New(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	cfg.JWTSecret = []byte("test-secret-0123456789abcdef0123456789")
	cfg.FrontendURL = "http://frontend.test"
	cfg.MaxBodyBytes = 64 << 10
	cfg.TokenTTL = time.Hour
	cfg.NodeID = "test"
	n, err := app.Build(cfg, pool, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(n.Close)
	return n, pool
}

// The node's handler, built without listening: the REST API is mounted once and gets every /api/
// path as sent, the other routes are the mux's, and what no route serves is the contract's 404.
func TestBuildRoutes(t *testing.T) {
	t.Parallel()
	n := build(t, config.Config{})
	if n.Metrics != nil || n.Relay == nil {
		t.Fatalf("without METRICS_ADDR: metrics handler %v, relay %v", n.Metrics, n.Relay)
	}
	srv := httptest.NewServer(n.Handler)
	t.Cleanup(srv.Close)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		method, path string
		status       int
		code         string // the contract's error code; "" when the answer is not an API error
	}{
		{"GET", "/healthz", 200, ""},
		{"GET", "/api/users/me", 401, "unauthorized"},
		// Unclean paths reach the API as sent, not a redirect (with a token, the id gets its 400:
		// impl/api's tests).
		{"POST", "/api/notifications/artisan-requests//approve", 401, "unauthorized"},
		{"POST", "/api/notifications/artisan-requests/%2e%2e/approve", 401, "unauthorized"},
		{"POST", "/api/users/auth/login/", 404, "not_found"},
		{"GET", "/api/../docs/", 404, "not_found"},
		{"GET", "/nowhere", 404, "not_found"},
		{"POST", "/metrics", 404, "not_found"},
		{"GET", "/metrics", 200, ""},
		{"GET", "/docs/", 200, ""},
		{"GET", "/docs", 301, ""},
		{"GET", "/docs//events.html", 307, ""},
		{"GET", "/asyncapi.yaml", 200, ""},
		{"GET", "/socket.io/?EIO=4&transport=polling", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(""))
			if err != nil {
				t.Fatal(err)
			}
			res, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct {
				Error struct{ Code string } `json:"error"`
			}
			_ = json.NewDecoder(res.Body).Decode(&body)
			if res.StatusCode != tc.status || body.Error.Code != tc.code {
				t.Fatalf("%d %q, want %d %q", res.StatusCode, body.Error.Code, tc.status, tc.code)
			}
		})
	}
}

func TestBuildMetricsApart(t *testing.T) {
	t.Parallel()
	n := build(t, config.Config{MetricsAddr: "127.0.0.1:0"})
	if n.Metrics == nil {
		t.Fatal("no metrics handler with METRICS_ADDR")
	}
	rec := httptest.NewRecorder()
	n.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("the public handler answers /metrics with %d, want 404", rec.Code)
	}
	rec = httptest.NewRecorder()
	n.Metrics.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "artisan_notify_http_requests_total") {
		t.Fatalf("metrics handler: %d", rec.Code)
	}
}

// An approval through the node's handler is traced: its log line carries the trace id of its
// REST span, and its outbox row the context of its store span, for the relays.
func TestApprovalIsTraced(t *testing.T) {
	t.Parallel()
	pool, err := pgxpool.New(context.Background(), testdb.New(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	var logs lockedBuffer
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(&logs, nil)))
	cfg := config.Config{JWTSecret: []byte("test-secret-0123456789abcdef0123456789"), JWTIssuer: "artisan-notify", JWTAudience: "artisan-notify",
		FrontendURL: "http://frontend.test", MaxBodyBytes: 64 << 10, TokenTTL: time.Hour, NodeID: "test", HashConcurrency: 1, HashQueue: 8}
	n, err := app.Build(cfg, pool, log, tp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	token := pdgToken(t, n.Handler, pool)
	r := httptest.NewRequest("POST", "/api/users/auth/register", strings.NewReader(`{"prenom":"A","nom":"B","email":"a@trace.test",`+
		`"password":"motdepasse1","confirm_password":"motdepasse1","type_compte":"Artisan/Promoteur"}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	n.Handler.ServeHTTP(w, r)
	var reg struct{ User struct{ ID int64 } }
	if err := json.Unmarshal(w.Body.Bytes(), &reg); err != nil || reg.User.ID == 0 {
		t.Fatalf("register: %d %s", w.Code, w.Body)
	}
	r = httptest.NewRequest("POST", fmt.Sprintf("/api/notifications/artisan-requests/%d/approve", reg.User.ID), nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w = httptest.NewRecorder()
	n.Handler.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("approve: %d %s", w.Code, w.Body)
	}

	var approve, store sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		switch s.Name() {
		case "ApproveArtisanRequest":
			approve = s
		case "store.Approve":
			store = s
		}
	}
	if approve == nil || store == nil || store.Parent().SpanID() != approve.SpanContext().SpanID() {
		t.Fatalf("want ApproveArtisanRequest and its child store.Approve; got %v", rec.Ended())
	}
	traceID := approve.SpanContext().TraceID().String()
	var line map[string]any
	for l := range strings.SplitSeq(logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "artisan request approved" {
			line = m
		}
	}
	if line == nil || line["trace_id"] != traceID || line["span_id"] != approve.SpanContext().SpanID().String() {
		t.Fatalf("the approval's log line %v, want trace_id %s and the REST span's id; logs:\n%s", line, traceID, logs.String())
	}
	var carried string
	if err := pool.QueryRow(context.Background(), "SELECT trace_context FROM outbox WHERE event = 'artisan-request:approved'").Scan(&carried); err != nil {
		t.Fatal(err)
	}
	if want := "00-" + traceID + "-" + store.SpanContext().SpanID().String() + "-01"; carried != want {
		t.Fatalf("outbox trace_context %q, want %q", carried, want)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
