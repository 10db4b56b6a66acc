// Package config reads the server's configuration from the environment.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config is the whole server configuration. Load fills it from the environment and validates it.
type Config struct {
	Port        int
	DatabaseURL string // empty: start a private local PostgreSQL in DataDir
	DataDir     string // where the local PostgreSQL keeps its data
	// PGBinDir holds the PostgreSQL server programs (initdb, pg_ctl) for the local PostgreSQL
	// (PG_BINDIR; empty: looked for in the usual places).
	PGBinDir               string
	JWTSecret              []byte
	JWTSecretGenerated     bool // no JWT_SECRET given: a random one for this process (dev mode)
	JWTIssuer              string
	JWTAudience            string
	TokenTTL               time.Duration
	FrontendURL            string
	RedisURL               string
	RateLimitAuthPerMinute int
	// SocketSessionsPerIP caps the Engine.IO sessions one client address holds at once
	// (SOCKET_SESSIONS_PER_IP; 0: no cap).
	SocketSessionsPerIP int
	// SocketHandshakesPerMinute limits new Engine.IO sessions per client address
	// (SOCKET_HANDSHAKES_PER_IP_PER_MINUTE, a bucket of that size; 0: no limit).
	SocketHandshakesPerMinute int
	// SocketConnectTimeout closes a session that has not authenticated (Socket.IO CONNECT with a
	// valid token) this long after its handshake (SOCKET_CONNECT_TIMEOUT).
	SocketConnectTimeout time.Duration
	// HashConcurrency bounds the password hashes running at once (HASH_CONCURRENCY, default one
	// per CPU: argon2id takes 19 MiB each); HashQueue more may wait (HASH_QUEUE, default 32 per
	// CPU), each at most HashMaxWait (HASH_MAX_WAIT); past that 503 with Retry-After.
	HashConcurrency int
	HashQueue       int
	HashMaxWait     time.Duration
	// BodyReadTimeout is how long a client may take to send a request body (BODY_READ_TIMEOUT).
	BodyReadTimeout time.Duration
	// MetricsAddr, when set, serves /metrics on a listener of its own instead of the public port
	// (METRICS_ADDR, e.g. 127.0.0.1:9100).
	MetricsAddr string
	// PprofAddr, when set, serves net/http/pprof on a listener of its own (PPROF_ADDR, e.g.
	// 127.0.0.1:6060), never the public port.
	PprofAddr string
	// SocketOwnWebsocket serves websockets with our transport (impl/socket/wstransport.go), the
	// default; SOCKET_LIBRARY_WEBSOCKET=1 serves them with the Socket.IO library's instead (a way
	// back while ours is new).
	SocketOwnWebsocket bool
	// GOGC and GOMemLimit are the Go runtime's variables as set; when empty the server applies
	// its own defaults (the runtime itself reads them at start).
	GOGC            string
	GOMemLimit      string
	LogLevel        slog.Level
	NodeID          string
	ShutdownTimeout time.Duration
	ShutdownDrain   time.Duration // after SIGTERM, /readyz says 503 this long before the server stops accepting
	MaxBodyBytes    int64
	OutboxRetention time.Duration
	DevMode         bool
	// TrustedProxies are the addresses of reverse proxies (TRUSTED_PROXIES, comma-separated CIDRs
	// or addresses): behind them, the client address is taken from X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// TracesEndpoint is where spans are exported over OTLP/HTTP: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
	// else OTEL_EXPORTER_OTLP_ENDPOINT (to which the exporter appends /v1/traces). Empty: tracing
	// is off, and so it is when OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. The exporter
	// and the SDK read their other OTEL_* variables themselves (see README.md); Load checks those
	// it would otherwise ignore with a mere log line.
	TracesEndpoint string
}

// MinSecretLen is the shortest JWT_SECRET accepted, in dev mode too (RFC 8725 3.5: a key as long as the hash).
const MinSecretLen = 32

// ExampleSecret is the placeholder JWT_SECRET of deploy/env.example, refused like any secret
// containing CHANGE-ME.
const ExampleSecret = "CHANGE-ME-to-64-hex-characters-from-openssl-rand-hex-32-xxxxxxxxxxx"

// Load reads the configuration from getenv (os.Getenv in production). When DATA_DIR is unset
// the local PostgreSQL data directory is defaultDataDir(XDG_DATA_HOME); a nil defaultDataDir
// leaves it empty.
func Load(getenv func(string) string, defaultDataDir func(xdgDataHome string) string) (Config, error) {
	c := Config{
		Port:                      3001,
		DatabaseURL:               getenv("DATABASE_URL"),
		DataDir:                   getenv("DATA_DIR"),
		PGBinDir:                  getenv("PG_BINDIR"),
		JWTIssuer:                 "artisan-notify",
		JWTAudience:               "artisan-notify",
		TokenTTL:                  24 * time.Hour,
		FrontendURL:               "http://localhost:5173",
		RedisURL:                  getenv("REDIS_URL"),
		RateLimitAuthPerMinute:    10,
		SocketSessionsPerIP:       100,
		SocketHandshakesPerMinute: 300,
		SocketConnectTimeout:      10 * time.Second,
		BodyReadTimeout:           15 * time.Second,
		HashConcurrency:           runtime.GOMAXPROCS(0),
		HashMaxWait:               5 * time.Second,
		MetricsAddr:               getenv("METRICS_ADDR"),
		PprofAddr:                 getenv("PPROF_ADDR"),
		SocketOwnWebsocket:        getenv("SOCKET_LIBRARY_WEBSOCKET") != "1",
		GOGC:                      getenv("GOGC"),
		GOMemLimit:                getenv("GOMEMLIMIT"),
		LogLevel:                  slog.LevelInfo,
		ShutdownTimeout:           15 * time.Second,
		MaxBodyBytes:              16 << 10,
		OutboxRetention:           24 * time.Hour,
		DevMode:                   getenv("APP_ENV") != "production",
	}
	var errs []error
	if v := getenv("APP_ENV"); v != "" && v != "production" && v != "development" {
		errs = append(errs, fmt.Errorf("APP_ENV=%q: want production or development", v))
	}
	if !c.DevMode && c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is required when APP_ENV=production (the embedded PostgreSQL is for development)"))
	}
	if v := getenv("PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("PORT=%q: want a port number", v))
		}
		c.Port = p
	}
	if c.DataDir == "" && defaultDataDir != nil {
		c.DataDir = defaultDataDir(getenv("XDG_DATA_HOME"))
	}
	if v := getenv("FRONTEND_URL"); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("FRONTEND_URL=%q: want an origin such as https://app.example.com", v))
		}
		if err == nil { // browsers send the origin lowercased
			u.Scheme, u.Host, u.Path = strings.ToLower(u.Scheme), strings.ToLower(u.Host), ""
			v = u.String()
		}
		c.FrontendURL = strings.TrimSuffix(v, "/")
	}
	if v := getenv("JWT_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute || d > 30*24*time.Hour {
			errs = append(errs, fmt.Errorf("JWT_TTL=%q: want a duration between 1m and 720h", v))
		}
		c.TokenTTL = d
	}
	if v := getenv("JWT_ISSUER"); v != "" {
		c.JWTIssuer = v
	}
	if v := getenv("JWT_AUDIENCE"); v != "" {
		c.JWTAudience = v
	}
	if v := getenv("RATE_LIMIT_AUTH_PER_MINUTE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("RATE_LIMIT_AUTH_PER_MINUTE=%q: want a number >= 0 (0 turns the limit off)", v))
		}
		c.RateLimitAuthPerMinute = n
	}
	for _, v := range []struct {
		name string
		dst  *int
	}{{"SOCKET_SESSIONS_PER_IP", &c.SocketSessionsPerIP}, {"SOCKET_HANDSHAKES_PER_IP_PER_MINUTE", &c.SocketHandshakesPerMinute}, {"HASH_QUEUE", &c.HashQueue}} {
		if raw := getenv(v.name); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a number >= 0 (0 turns the limit off)", v.name, raw))
			}
			*v.dst = n
		}
	}
	for _, v := range []struct {
		name string
		dst  *time.Duration
	}{{"SOCKET_CONNECT_TIMEOUT", &c.SocketConnectTimeout}, {"BODY_READ_TIMEOUT", &c.BodyReadTimeout}, {"HASH_MAX_WAIT", &c.HashMaxWait}} {
		if raw := getenv(v.name); raw != "" {
			d, err := time.ParseDuration(raw)
			if err != nil || d < 100*time.Millisecond || d > 5*time.Minute {
				errs = append(errs, fmt.Errorf("%s=%q: want a duration between 100ms and 5m", v.name, raw))
			}
			*v.dst = d
		}
	}
	if v := getenv("HASH_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			errs = append(errs, fmt.Errorf("HASH_CONCURRENCY=%q: want a number between 1 and 1024 (each running hash takes 19 MiB)", v))
		}
		c.HashConcurrency = n
	}
	if getenv("HASH_QUEUE") == "" {
		c.HashQueue = 32 * c.HashConcurrency
	}
	for _, v := range []struct{ name, addr, example string }{
		{"METRICS_ADDR", c.MetricsAddr, "127.0.0.1:9100"}, {"PPROF_ADDR", c.PprofAddr, "127.0.0.1:6060"},
	} {
		if _, _, err := net.SplitHostPort(v.addr); v.addr != "" && err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want host:port, e.g. %s", v.name, v.addr, v.example))
		}
	}
	if c.RedisURL != "" {
		if _, err := redis.ParseURL(c.RedisURL); err != nil {
			errs = append(errs, errors.New("REDIS_URL: want redis://[user:password@]host:port[/db]"))
		}
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", v))
		}
	}
	if v := getenv("SHUTDOWN_DRAIN"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > time.Minute {
			errs = append(errs, fmt.Errorf("SHUTDOWN_DRAIN=%q: want a duration between 0s and 1m", v))
		}
		c.ShutdownDrain = d
	}
	if v := getenv("SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("SHUTDOWN_TIMEOUT=%q: want a positive duration", v))
		}
		c.ShutdownTimeout = d
	}
	if v := getenv("TRUSTED_PROXIES"); v != "" {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			p, err := netip.ParsePrefix(f)
			if err != nil {
				a, aerr := netip.ParseAddr(f)
				if aerr != nil {
					errs = append(errs, fmt.Errorf("TRUSTED_PROXIES: %q: want an address or a CIDR such as 127.0.0.1/32", f))
					continue
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			c.TrustedProxies = append(c.TrustedProxies, p.Masked())
		}
	}
	c.TracesEndpoint, errs = loadTracing(getenv, errs)
	c.NodeID = getenv("NODE_ID")
	if c.NodeID == "" {
		host, _ := os.Hostname()
		c.NodeID = fmt.Sprintf("%s:%d", host, c.Port)
	}
	switch secret := getenv("JWT_SECRET"); {
	case secret == "":
		if !c.DevMode {
			errs = append(errs, errors.New("JWT_SECRET is required when APP_ENV=production"))
			break
		}
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			errs = append(errs, fmt.Errorf("generate dev JWT secret: %w", err))
		}
		c.JWTSecret = []byte(hex.EncodeToString(b))
		c.JWTSecretGenerated = true
	default:
		if err := checkSecret(secret); err != nil {
			errs = append(errs, err)
			break
		}
		c.JWTSecret = []byte(secret)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

// loadTracing returns the OTLP traces endpoint ("" when tracing is off) and errs with the errors
// of the OTEL_* variables appended: endpoints that are not http(s) URLs, a protocol other than
// http/protobuf, an exporter other than otlp or none, an unknown sampler or a sampler argument
// that is not a ratio between 0 and 1.
func loadTracing(getenv func(string) string, errs []error) (string, []error) {
	endpoint := ""
	for _, name := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		v := getenv(name)
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s=%q: want an http(s) URL such as http://collector:4318", name, v))
		}
		endpoint = v // the traces endpoint, when set, wins
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		if v := getenv(name); v != "" && v != "http/protobuf" {
			errs = append(errs, fmt.Errorf("%s=%q: only http/protobuf is supported", name, v))
		}
	}
	switch v := getenv("OTEL_TRACES_EXPORTER"); v {
	case "", "otlp":
	case "none":
		endpoint = ""
	default:
		errs = append(errs, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: want otlp or none", v))
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("OTEL_SDK_DISABLED"))); v {
	case "", "false":
	case "true":
		endpoint = ""
	default:
		errs = append(errs, fmt.Errorf("OTEL_SDK_DISABLED=%q: want true or false", v))
	}
	sampler := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER")))
	switch sampler {
	case "", "always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio":
	default:
		errs = append(errs, fmt.Errorf("OTEL_TRACES_SAMPLER=%q: want always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio", sampler))
	}
	if arg := strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG")); arg != "" && strings.HasSuffix(sampler, "traceidratio") {
		if r, err := strconv.ParseFloat(arg, 64); err != nil || r < 0 || r > 1 {
			errs = append(errs, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q: want a ratio between 0 and 1", arg))
		}
	}
	return endpoint, errs
}

// checkSecret returns an error, which does not show the secret, if secret is a placeholder or
// shorter than MinSecretLen.
func checkSecret(secret string) error {
	lower := strings.ToLower(secret)
	for _, p := range []string{strings.ToLower(ExampleSecret), "change-me", "changeme", "change_me", "change me"} {
		if strings.Contains(lower, p) {
			return errors.New("JWT_SECRET is a placeholder (it contains CHANGE-ME): generate one with `openssl rand -hex 32`")
		}
	}
	if len(secret) < MinSecretLen {
		return fmt.Errorf("JWT_SECRET is %d bytes: at least %d are required (generate one with `openssl rand -hex 32`)", len(secret), MinSecretLen)
	}
	return nil
}

// LogValue logs the configuration with secrets masked.
func (c Config) LogValue() slog.Value {
	db := "local PostgreSQL in " + c.DataDir
	if c.PGBinDir != "" {
		db += " (programs in " + c.PGBinDir + ")"
	}
	if c.DatabaseURL != "" {
		db = maskURL(c.DatabaseURL)
	}
	return slog.GroupValue(
		slog.Int("port", c.Port),
		slog.String("database", db),
		slog.String("jwt_secret", "***"),
		slog.Bool("jwt_secret_generated", c.JWTSecretGenerated),
		slog.Duration("token_ttl", c.TokenTTL),
		slog.String("frontend_url", c.FrontendURL),
		slog.String("redis", maskURL(c.RedisURL)),
		slog.Int("rate_limit_auth_per_minute", c.RateLimitAuthPerMinute),
		slog.Int("socket_sessions_per_ip", c.SocketSessionsPerIP),
		slog.Int("socket_handshakes_per_ip_per_minute", c.SocketHandshakesPerMinute),
		slog.Duration("socket_connect_timeout", c.SocketConnectTimeout),
		slog.Duration("body_read_timeout", c.BodyReadTimeout),
		slog.Int("hash_concurrency", c.HashConcurrency),
		slog.Int("hash_queue", c.HashQueue),
		slog.Duration("hash_max_wait", c.HashMaxWait),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.String("pprof_addr", c.PprofAddr),
		slog.Bool("socket_own_websocket", c.SocketOwnWebsocket),
		slog.String("gogc", c.GOGC),
		slog.String("gomemlimit", c.GOMemLimit),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("node_id", c.NodeID),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.String("traces_endpoint", maskURL(c.TracesEndpoint)),
		slog.Bool("dev_mode", c.DevMode),
	)
}

func maskURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" { // a keyword/value DSN may hold password=...
		return "***"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}
