// Package app wires the server together: database, REST API, Socket.IO and the outbox relay.
// cmd/server and the end-to-end tests start it the same way.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"artisan-notify/gen/events"
	"artisan-notify/gen/oas"
	"artisan-notify/impl/api"
	"artisan-notify/impl/apidocs"
	"artisan-notify/impl/auth"
	"artisan-notify/impl/config"
	"artisan-notify/impl/domain"
	"artisan-notify/impl/localpg"
	"artisan-notify/impl/metrics"
	"artisan-notify/impl/ratelimit"
	"artisan-notify/impl/readcache"
	"artisan-notify/impl/relay"
	"artisan-notify/impl/socket"
	"artisan-notify/impl/store"
	"artisan-notify/migrations"
)

// App is one server node.
type App struct {
	cfg   config.Config
	log   *slog.Logger
	ready chan struct{}
	addr  string
}

// New returns an App; Run starts it.
func New(cfg config.Config, log *slog.Logger) *App {
	return &App{cfg: cfg, log: log, ready: make(chan struct{})}
}

// Ready is closed once the server accepts connections.
func (a *App) Ready() <-chan struct{} { return a.ready }

// Addr is the address the server listens on, once Ready.
func (a *App) Addr() string { return a.addr }

// Database opens the configured database: DATABASE_URL, or a private local PostgreSQL.
// The returned stop function stops what it started.
func Database(ctx context.Context, cfg config.Config, log *slog.Logger) (*pgxpool.Pool, func(), error) {
	url := cfg.DatabaseURL
	stopLocal := func() {}
	if url == "" {
		pg, err := localpg.Start(ctx, localpg.Options{DataDir: cfg.DataDir, Logger: log})
		if err != nil {
			return nil, nil, fmt.Errorf("no DATABASE_URL, so a local PostgreSQL was needed: %w", err)
		}
		url = pg.URL()
		stopLocal = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := pg.Stop(ctx); err != nil {
				log.Error("stop local postgres", "err", err)
			}
		}
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		stopLocal()
		return nil, nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	if pcfg.ConnConfig.ConnectTimeout == 0 || pcfg.ConnConfig.ConnectTimeout > 3*time.Second {
		pcfg.ConnConfig.ConnectTimeout = 3 * time.Second // fail fast when the database is down
	}
	pcfg.MaxConns = max(pcfg.MaxConns, 16)
	// A session of ours left idle inside a transaction (a bug, a stuck request) is ended by the
	// server instead of holding locks and vacuum back; a URL that sets it keeps its value.
	if _, ok := pcfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !ok {
		pcfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = "60s"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		stopLocal()
		return nil, nil, fmt.Errorf("open database: %w", err)
	}
	return pool, func() { pool.Close(); stopLocal() }, nil
}

// Run serves until ctx is cancelled, then shuts down gracefully.
func (a *App) Run(ctx context.Context) error {
	cfg, log := a.cfg, a.log
	pool, closeDB, err := Database(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeDB()
	applied, err := store.Migrate(ctx, pool, migrations.FS)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(applied) > 0 {
		log.Info("migrations applied", "versions", applied)
	}

	m := metrics.New(prometheus.NewRegistry())
	m.Pool(pool)
	// Reads every request makes are served from memory; the relay clears what any node changes.
	st := readcache.New(store.New(pool), 10*time.Second)
	tokens := auth.NewTokens(cfg.JWTSecret, cfg.JWTIssuer, cfg.JWTAudience, cfg.TokenTTL, nil)
	passwords, err := auth.NewPasswords(auth.OWASPArgon2, auth.Limit{Concurrent: cfg.HashConcurrency, Queue: cfg.HashQueue, MaxWait: cfg.HashMaxWait})
	if err != nil {
		return err
	}
	handler := api.NewHandler(domain.NewService(st, passwords, tokens, log), tokens, log)
	rest, err := oas.NewServer(handler, handler,
		oas.WithErrorHandler(handler.HandleError),
		oas.WithNotFound(api.NotFound),
		oas.WithMethodNotAllowed(api.MethodNotAllowed),
	)
	if err != nil {
		return fmt.Errorf("build REST server: %w", err)
	}
	var limiter api.Limiter
	if cfg.RateLimitAuthPerMinute > 0 {
		limiter = ratelimit.New(cfg.RateLimitAuthPerMinute, nil)
		if cfg.RedisURL != "" {
			opts, err := redis.ParseURL(cfg.RedisURL)
			if err != nil {
				return fmt.Errorf("REDIS_URL: %w", err)
			}
			rdb := redis.NewClient(opts)
			defer rdb.Close()
			limiter = ratelimit.NewShared(rdb, cfg.RateLimitAuthPerMinute, log)
		}
	}
	var handshakes socket.Limiter
	if cfg.SocketHandshakesPerMinute > 0 {
		handshakes = ratelimit.New(cfg.SocketHandshakesPerMinute, nil)
	}
	sockets := socket.New(socket.Options{
		FrontendURL: cfg.FrontendURL, Observer: m,
		// an IPv6 client is counted by its /64 (one host usually holds the whole prefix)
		ClientIP:      func(r *http.Request) string { return ratelimit.ClientKey(api.ClientIP(r, cfg.TrustedProxies)) },
		RequestOrigin: func(r *http.Request) string { return api.RequestOrigin(r, cfg.TrustedProxies) },
		Limits: socket.Limits{
			SessionsPerIP: cfg.SocketSessionsPerIP, Handshakes: handshakes, ConnectTimeout: cfg.SocketConnectTimeout,
		},
		// The library sends a ping, then arms the pong timeout (engine socket.schedulePing). When the
		// pong comes back before the timeout is armed (the pinging goroutine preempted on a busy
		// node), that timeout is never cleared and closes a live socket pingTimeout later, unless
		// the next ping, pingInterval after the pong, replaces it first: so pingTimeout must exceed
		// pingInterval. 40 s > 25 s, with room for a late timer under load.
		PingInterval: 25 * time.Second, PingTimeout: 40 * time.Second,
	}, tokens, st, log)
	m.Sockets(sockets)
	ro := relay.Options{NodeID: cfg.NodeID, Retention: cfg.OutboxRetention, ReplayDelay: 3 * time.Second, Observer: m}
	if cfg.FaultCrashBeforeEmit {
		ro.BeforeDeliver = func(msg events.Message) {
			log.Error("fault injection: exiting between commit and emit", "event", msg.Event)
			os.Exit(70)
		}
	}
	outbox := relay.New(pool, relay.Fanout(st, sockets), ro, log)
	m.Outbox(outbox)

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", sockets.Handler())
	restHandler := m.HTTP(operationID(rest), api.Middleware(api.MiddlewareConfig{
		FrontendURL: cfg.FrontendURL, MaxBodyBytes: cfg.MaxBodyBytes, AuthLimiter: limiter, Logger: log,
		TrustedProxies: cfg.TrustedProxies,
	}, rest))
	mux.Handle("/", restHandler)
	var metricsSrv *http.Server
	if cfg.MetricsAddr == "" {
		mux.Handle("GET /metrics", m.Handler())
	} else {
		mm := http.NewServeMux()
		mm.Handle("GET /metrics", m.Handler())
		metricsSrv = &http.Server{Handler: mm, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	}
	apidocs.Register(mux)
	srv := &http.Server{
		// /api/ skips http.ServeMux, whose path cleaning would answer an empty or ".." id
		// with a redirect instead of the contract's 400.
		Handler: bodyDeadline(cfg.BodyReadTimeout, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/") {
				restHandler.ServeHTTP(w, r)
				return
			}
			mux.ServeHTTP(w, r)
		})),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen on port %d: %w", cfg.Port, err)
	}
	a.addr = ln.Addr().String()
	if metricsSrv != nil {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
		}
		go func() {
			if err := metricsSrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics listener stopped", "err", err)
			}
		}()
		defer metricsSrv.Close()
		log.Info("metrics listening", "addr", mln.Addr().String())
	}

	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := outbox.Run(relayCtx); err != nil {
			log.Error("relay stopped", "err", err)
		}
	})
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("server listening", "addr", a.addr, "node", cfg.NodeID)
	close(a.ready)

	select {
	case err := <-serveErr:
		stopRelay()
		wg.Wait()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "drain", cfg.ShutdownDrain)
	handler.Drain()
	if cfg.ShutdownDrain > 0 { // let the load balancer see /readyz fail and route elsewhere
		time.Sleep(cfg.ShutdownDrain)
	}
	// Hijacked websockets are not closed by Shutdown: close the sockets first.
	sockets.Close()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	stopRelay()
	wg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// operationID returns the OpenAPI operation id of a request, or "" when no route matches.
func operationID(rest *oas.Server) func(*http.Request) string {
	return func(r *http.Request) string {
		if route, ok := rest.FindRoute(r.Method, r.URL.Path); ok {
			return route.OperationID()
		}
		return ""
	}
}

// bodyDeadline gives a request that has a body d to send it: a client that trickles its body is
// cut off instead of holding a connection and a goroutine. Once the body is read to its end the
// deadline is lifted (net/http's background read would otherwise cancel a slow handler's
// context). Requests without a body (long-polling GETs, websocket upgrades) are not concerned;
// the server sets the connection's next deadline itself.
func bodyDeadline(d time.Duration, next http.Handler) http.Handler {
	if d <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			if rc.SetReadDeadline(time.Now().Add(d)) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { _ = rc.SetReadDeadline(time.Time{}) }}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody calls lift once, when its body has been read to the end.
type deadlineBody struct {
	io.ReadCloser
	lift func()
	once sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.lift)
	}
	return n, err
}
