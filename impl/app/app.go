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
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/artisan-notify/artisan-notify/gen/oas"
	"github.com/artisan-notify/artisan-notify/impl/api"
	"github.com/artisan-notify/artisan-notify/impl/apidocs"
	"github.com/artisan-notify/artisan-notify/impl/auth"
	"github.com/artisan-notify/artisan-notify/impl/config"
	"github.com/artisan-notify/artisan-notify/impl/domain"
	"github.com/artisan-notify/artisan-notify/impl/localpg"
	"github.com/artisan-notify/artisan-notify/impl/metrics"
	"github.com/artisan-notify/artisan-notify/impl/ratelimit"
	"github.com/artisan-notify/artisan-notify/impl/readcache"
	"github.com/artisan-notify/artisan-notify/impl/relay"
	"github.com/artisan-notify/artisan-notify/impl/socket"
	"github.com/artisan-notify/artisan-notify/impl/store"
	"github.com/artisan-notify/artisan-notify/impl/tracing"
	"github.com/artisan-notify/artisan-notify/migrations"
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
	return database(ctx, cfg, log, nil)
}

// database is Database with queries traced by tracer (none when nil).
func database(ctx context.Context, cfg config.Config, log *slog.Logger, tracer pgx.QueryTracer) (*pgxpool.Pool, func(), error) {
	url := cfg.DatabaseURL
	stopLocal := func() {}
	if url == "" {
		pg, err := localpg.Start(ctx, localpg.Options{DataDir: cfg.DataDir, BinDir: cfg.PGBinDir, Logger: log})
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
	if tracer != nil {
		pcfg.ConnConfig.Tracer = tracer
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		stopLocal()
		return nil, nil, fmt.Errorf("open database: %w", err)
	}
	return pool, func() { pool.Close(); stopLocal() }, nil
}

// Run opens and migrates the database, builds the node and serves until ctx is cancelled, then
// shuts down gracefully.
func (a *App) Run(ctx context.Context) error {
	tr, err := tracing.New(ctx, tracing.Options{Endpoint: a.cfg.TracesEndpoint, NodeID: a.cfg.NodeID, Version: buildVersion()}, a.log)
	if err != nil {
		return err
	}
	var queries pgx.QueryTracer
	if tr.Enabled() {
		a.log.Info("tracing on", "endpoint", a.cfg.TracesEndpoint)
		queries = tracing.QueryTracer{}
	}
	// Deferred first, so run last: the spans of the shutdown itself are exported too.
	defer func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tracing.ShutdownTimeout)
		defer cancel()
		if err := tr.Shutdown(fctx); err != nil {
			a.log.Warn("tracing: spans lost at shutdown", "err", err)
		}
	}()
	pool, closeDB, err := database(ctx, a.cfg, a.log, queries)
	if err != nil {
		return err
	}
	defer closeDB()
	applied, err := store.Migrate(ctx, pool, migrations.FS)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(applied) > 0 {
		a.log.Info("migrations applied", "versions", applied)
	}
	var tp trace.TracerProvider // nil: off
	if tr.Enabled() {
		tp = tr.TracerProvider()
	}
	n, err := Build(a.cfg, pool, a.log, tp)
	if err != nil {
		return err
	}
	defer n.Close()
	return a.serve(ctx, n)
}

// Node is one server node, built but not serving: its HTTP handlers and its relay.
type Node struct {
	// Handler serves the public port: the REST API, Socket.IO, the docs, and /metrics when
	// METRICS_ADDR is unset.
	Handler http.Handler
	// Metrics serves /metrics on METRICS_ADDR; nil when METRICS_ADDR is unset.
	Metrics http.Handler
	// Relay delivers the outbox to the read cache and the sockets once Run.
	Relay *relay.Relay

	api     *api.Handler
	sockets *socket.Server
	closers []func() error
}

// Build wires a node on pool, whose database is migrated: every component gets its
// dependencies, nothing listens and the relay does not run yet. tp records the REST
// requests' and the relay's spans; nil: tracing is off, and costs nothing. It returns an error
// if the configuration cannot be applied (REDIS_URL, the hasher's limits).
func Build(cfg config.Config, pool *pgxpool.Pool, log *slog.Logger, tp trace.TracerProvider) (*Node, error) {
	n := &Node{}
	m := metrics.New(prometheus.NewRegistry())
	m.Pool(pool)
	// Reads every request makes are served from memory; the relay clears what any node changes.
	st := readcache.New(store.New(pool), 10*time.Second)
	tokens := auth.NewTokens(cfg.JWTSecret, cfg.JWTIssuer, cfg.JWTAudience, cfg.TokenTTL, nil)
	passwords, err := auth.NewPasswords(auth.OWASPArgon2, auth.Limit{Concurrent: cfg.HashConcurrency, Queue: cfg.HashQueue, MaxWait: cfg.HashMaxWait})
	if err != nil {
		return nil, err
	}
	n.api = api.NewHandler(domain.NewService(st, passwords, tokens, log), tokens, cfg.JWTSecret, log)
	rest, err := oas.NewServer(n.api, n.api,
		oas.WithErrorHandler(n.api.HandleError),
		oas.WithNotFound(api.NotFound),
		oas.WithMethodNotAllowed(api.MethodNotAllowed),
	)
	if err != nil {
		return nil, fmt.Errorf("build REST server: %w", err)
	}
	var limiter api.Limiter
	if cfg.RateLimitAuthPerMinute > 0 {
		limiter = ratelimit.New(cfg.RateLimitAuthPerMinute, nil)
		if cfg.RedisURL != "" {
			opts, err := redis.ParseURL(cfg.RedisURL)
			if err != nil {
				return nil, fmt.Errorf("REDIS_URL: %w", err)
			}
			rdb := redis.NewClient(opts)
			n.closers = append(n.closers, rdb.Close)
			limiter = ratelimit.NewShared(rdb, cfg.RateLimitAuthPerMinute, log)
		}
	}
	var handshakes socket.Limiter
	if cfg.SocketHandshakesPerMinute > 0 {
		handshakes = ratelimit.New(cfg.SocketHandshakesPerMinute, nil)
	}
	n.sockets = socket.New(socket.Options{
		FrontendURL: cfg.FrontendURL, Observer: m, OwnWebsocket: cfg.SocketOwnWebsocket,
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
	m.Sockets(n.sockets)
	ro := relay.Options{NodeID: cfg.NodeID, Retention: cfg.OutboxRetention, ReplayDelay: 3 * time.Second, Observer: m,
		BeforeDeliver: faultHooks(os.Getenv, log), TracerProvider: tp}
	n.Relay = relay.New(pool, relay.Fanout(st, n.sockets), ro, log)
	m.Outbox(n.Relay)

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", n.sockets.Handler())
	if cfg.MetricsAddr == "" {
		mux.Handle("GET /metrics", m.Handler())
	} else {
		mm := http.NewServeMux()
		mm.Handle("GET /metrics", m.Handler())
		n.Metrics = mm
	}
	apidocs.Register(mux)
	restHandler := api.Middleware(api.MiddlewareConfig{
		FrontendURL: cfg.FrontendURL, MaxBodyBytes: cfg.MaxBodyBytes, AuthLimiter: limiter, Logger: log,
		TrustedProxies: cfg.TrustedProxies,
		Observe: func(r *http.Request, status int, elapsed time.Duration) {
			m.Answered(operationID(rest, r), status, elapsed)
			tracing.ResponseStatus(r.Context(), status)
		},
	}, rest)
	if tp != nil {
		// Outermost: the access log, the rejections of the middleware and the operation are in
		// the span. The load balancer's probes are not traced.
		plain, traced := restHandler, tracing.HTTPServer(tp, operationSpan(rest), restHandler)
		restHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
				plain.ServeHTTP(w, r)
				return
			}
			traced.ServeHTTP(w, r)
		})
	}
	n.Handler = bodyDeadline(cfg.BodyReadTimeout, routes(mux, restHandler))
	return n, nil
}

// Close releases what Build opened (the Redis client of the shared rate limiter).
func (n *Node) Close() {
	for _, c := range n.closers {
		_ = c()
	}
}

// routes sends each request to the REST API, mounted here only, or to mux: the API has every
// /api/ path, as sent (http.ServeMux would clean the path first, and answer an empty or ".." id
// with a redirect instead of the contract's 400), and every path mux has no route for (the
// contract's 404); mux has Socket.IO, the docs and /metrics.
func routes(mux *http.ServeMux, rest http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			if _, pattern := mux.Handler(r); pattern != "" {
				mux.ServeHTTP(w, r)
				return
			}
		}
		rest.ServeHTTP(w, r)
	})
}

// serve listens on the configured ports and runs n until ctx is cancelled, then shuts it down:
// drain (readyz answers 503), close the sockets, shut the HTTP server down, stop the relay.
func (a *App) serve(ctx context.Context, n *Node) error {
	cfg, log := a.cfg, a.log
	srv := &http.Server{
		Handler:           n.Handler,
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
	var (
		metricsSrv *http.Server
		mln        net.Listener
	)
	if n.Metrics != nil {
		metricsSrv = &http.Server{Handler: n.Metrics, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
		if mln, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen on METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
		}
		log.Info("metrics listening", "addr", mln.Addr().String())
	}

	// The relay outlives ctx: it delivers until the HTTP server has shut down.
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := n.Relay.Run(relayCtx); err != nil {
			log.Error("relay stopped", "err", err)
		}
		return nil
	})
	if metricsSrv != nil {
		g.Go(func() error {
			if err := metricsSrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics listener stopped", "err", err)
			}
			return nil
		})
	}
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		defer stopRelay()
		if metricsSrv != nil {
			defer metricsSrv.Close()
		}
		if ctx.Err() == nil {
			return nil // serving failed: the group returns its error
		}
		return n.shutdown(cfg, srv, log)
	})
	log.Info("server listening", "addr", a.addr, "node", cfg.NodeID)
	close(a.ready)
	if err := g.Wait(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// shutdown stops the node serving: readyz answers 503 for ShutdownDrain (so that load balancers
// route elsewhere), the sockets are closed (Shutdown does not close hijacked websockets), then
// the HTTP server finishes its requests within ShutdownTimeout.
func (n *Node) shutdown(cfg config.Config, srv *http.Server, log *slog.Logger) error {
	log.Info("shutting down", "drain", cfg.ShutdownDrain)
	n.api.Drain()
	if cfg.ShutdownDrain > 0 {
		time.Sleep(cfg.ShutdownDrain)
	}
	n.sockets.Close()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// operationSpan names a request's span by the operation it reaches (ogen's name, e.g.
// ApproveArtisanRequest), with the operation's path template and id.
func operationSpan(rest *oas.Server) tracing.Route {
	return func(r *http.Request) (string, []attribute.KeyValue) {
		route, ok := rest.FindRoute(r.Method, r.URL.Path)
		if !ok {
			return "", nil
		}
		return route.Name(), []attribute.KeyValue{
			semconv.HTTPRoute(route.PathPattern()), attribute.String("oas.operation", route.OperationID()),
		}
	}
}

// operationID returns the OpenAPI operation id of a request, or "" when no route matches.
func operationID(rest *oas.Server, r *http.Request) string {
	if route, ok := rest.FindRoute(r.Method, r.URL.Path); ok {
		return route.OperationID()
	}
	return ""
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

// buildVersion returns the build's VCS revision ("" when unknown).
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			return s.Value
		}
	}
	return ""
}
