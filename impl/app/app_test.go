package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/artisan-notify/artisan-notify/impl/app"
	"github.com/artisan-notify/artisan-notify/impl/config"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
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
