// Package apptest starts a real server node (the same app.App that cmd/server runs) on a free
// port with a fresh database, for integration tests.
package apptest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/ogen-go/ogen/ogenerrors"

	"github.com/artisan-notify/artisan-notify/gen/oas"
	"github.com/artisan-notify/artisan-notify/impl/app"
	"github.com/artisan-notify/artisan-notify/impl/config"
	"github.com/artisan-notify/artisan-notify/impl/store"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// Secret is the JWT secret of test servers.
const Secret = "test-secret-0123456789abcdef0123456789"

// FrontendURL is the CORS origin of test servers.
const FrontendURL = "http://frontend.test:5173"

// LimitedEnv returns the environment of a server process (impl/proctest) on database dbURL,
// logging at logLevel, with the test secret and frontend and the server's own limits.
func LimitedEnv(dbURL, logLevel string) map[string]string {
	return map[string]string{
		"DATABASE_URL": dbURL,
		"JWT_SECRET":   Secret,
		"FRONTEND_URL": FrontendURL,
		"LOG_LEVEL":    logLevel,
	}
}

// Env is LimitedEnv with the login rate limit and the per-address socket caps off: every client
// of the tests comes from loopback.
func Env(dbURL, logLevel string) map[string]string {
	env := LimitedEnv(dbURL, logLevel)
	env["RATE_LIMIT_AUTH_PER_MINUTE"] = "0"
	env["SOCKET_SESSIONS_PER_IP"] = "0"
	env["SOCKET_HANDSHAKES_PER_IP_PER_MINUTE"] = "0"
	return env
}

// Server is a running test server.
type Server struct {
	URL         string // http://127.0.0.1:PORT
	DatabaseURL string
	Config      config.Config
	Store       *store.Store
	Pool        *pgxpool.Pool
}

// Start runs a server until the test ends. env overrides configuration variables.
func Start(tb testing.TB, env map[string]string) *Server {
	tb.Helper()
	dbURL := testdb.New(tb)
	vars := map[string]string{
		"DATABASE_URL":               dbURL,
		"PORT":                       "0",
		"JWT_SECRET":                 Secret,
		"FRONTEND_URL":               FrontendURL,
		"RATE_LIMIT_AUTH_PER_MINUTE": "0",
		"NODE_ID":                    "test-" + tb.Name(),
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] }, nil)
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(&tbWriter{tb: tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a := app.New(cfg, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-a.Ready():
	case err := <-done:
		cancel()
		tb.Fatalf("server did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		tb.Fatal("server did not start in 30 s")
	}
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("server stopped with: %v", err)
		}
		pool.Close()
	})
	_, port, _ := net.SplitHostPort(a.Addr())
	return &Server{URL: "http://127.0.0.1:" + port, DatabaseURL: dbURL, Config: cfg, Store: store.New(pool), Pool: pool}
}

// Client returns an API client that sends token (none when empty).
func (s *Server) Client(tb testing.TB, token string) *oas.Client {
	tb.Helper()
	c, err := oas.NewClient(s.URL, Token(token))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Token is an oas.SecuritySource sending a fixed bearer token (none when empty).
type Token string

// BearerAuth implements oas.SecuritySource.
func (t Token) BearerAuth(context.Context, oas.OperationName) (oas.BearerAuth, error) {
	if t == "" {
		return oas.BearerAuth{}, ogenerrors.ErrSkipClientSecurity
	}
	return oas.BearerAuth{Token: string(t)}, nil
}

var seq atomic.Int64

// Email returns an email no other test uses.
func Email(prefix string) string {
	return fmt.Sprintf("%s-%d-%d@example.com", prefix, time.Now().UnixNano(), seq.Add(1))
}

// Password is the password of users created by Register.
const Password = "correct horse battery"

// Register creates a user of the account type through the API.
func (s *Server) Register(tb testing.TB, prenom, typeCompte string) *oas.AuthResponse {
	tb.Helper()
	res, err := s.Client(tb, "").Register(context.Background(), &oas.RegisterRequest{
		Prenom: prenom, Nom: "Test", Email: Email(strings.ToLower(prenom)), Password: Password, ConfirmPassword: Password,
		TypeCompte: oas.AccountType(typeCompte),
	})
	if err != nil {
		tb.Fatalf("register %s: %v", prenom, err)
	}
	return res
}

// PDG creates a PDG and returns a token for it (issued after the grant).
func (s *Server) PDG(tb testing.TB) *oas.AuthResponse {
	tb.Helper()
	u := s.Register(tb, "Pdg", "Client")
	if _, err := s.Store.GrantPDG(context.Background(), u.User.Email); err != nil {
		tb.Fatal(err)
	}
	res, err := s.Client(tb, "").Login(context.Background(), &oas.LoginRequest{Email: u.User.Email, Password: Password})
	if err != nil {
		tb.Fatalf("login PDG: %v", err)
	}
	return res
}

// StatusOf returns the HTTP status and error code of an API client error (0 and "" for nil).
func StatusOf(tb testing.TB, err error) (int, string) {
	tb.Helper()
	if err == nil {
		return 0, ""
	}
	var e *oas.ErrorStatusCode
	if !errors.As(err, &e) {
		tb.Fatalf("not an API error: %v", err)
	}
	return e.StatusCode, e.Response.Error.Code
}

type tbWriter struct{ tb testing.TB }

func (w *tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var _ io.Writer = (*tbWriter)(nil)
