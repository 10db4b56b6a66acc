package config_test

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/impl/config"
)

const dataDir = "/var/lib/artisan-notify/pg"

// load runs Load on env as the whole environment.
func load(tb testing.TB, env map[string]string) (config.Config, error) {
	tb.Helper()
	return config.Load(func(k string) string { return env[k] }, func(string) string { return dataDir })
}

func mustLoad(tb testing.TB, env map[string]string) config.Config {
	tb.Helper()
	c, err := load(tb, env)
	if err != nil {
		tb.Fatalf("Load(%v) = %v", env, err)
	}
	return c
}

func TestLoadDefaults(t *testing.T) {
	c := mustLoad(t, nil)
	for _, check := range []struct {
		name      string
		got, want any
	}{
		{"Port", c.Port, 3001},
		{"FrontendURL", c.FrontendURL, "http://localhost:5173"},
		{"RateLimitAuthPerMinute", c.RateLimitAuthPerMinute, 10},
		{"DatabaseURL", c.DatabaseURL, ""},
		{"DataDir", c.DataDir, dataDir},
		{"RedisURL", c.RedisURL, ""},
		{"TokenTTL", c.TokenTTL, 24 * time.Hour},
		{"LogLevel", c.LogLevel, slog.LevelInfo},
		{"DevMode", c.DevMode, true},
		{"JWTSecretGenerated", c.JWTSecretGenerated, true},
	} {
		if check.got != check.want {
			t.Errorf("%s = %v, want %v", check.name, check.got, check.want)
		}
	}
	if len(c.JWTSecret) < config.MinSecretLen {
		t.Errorf("generated JWT secret is %d bytes, want at least %d", len(c.JWTSecret), config.MinSecretLen)
	}
	if other := mustLoad(t, nil); bytes.Equal(c.JWTSecret, other.JWTSecret) {
		t.Errorf("two loads generated the same JWT secret %q", c.JWTSecret)
	}
}

func TestLoadOverrides(t *testing.T) {
	c := mustLoad(t, map[string]string{
		"PORT":                       "0",
		"DATABASE_URL":               "postgres://app@db.internal/app",
		"DATA_DIR":                   "/tmp/pg",
		"FRONTEND_URL":               "https://app.example.com/",
		"REDIS_URL":                  "redis://cache:6379",
		"JWT_SECRET":                 "a-dev-secret-of-at-least-32-bytes",
		"JWT_TTL":                    "1h",
		"RATE_LIMIT_AUTH_PER_MINUTE": "0",
		"LOG_LEVEL":                  "debug",
		"SHUTDOWN_TIMEOUT":           "3s",
		"NODE_ID":                    "node-a",
		"PG_BINDIR":                  "/usr/lib/postgresql/17/bin",
		"PPROF_ADDR":                 "127.0.0.1:6060",
		"GOGC":                       "50",
		"GOMEMLIMIT":                 "1GiB",
	})
	for _, check := range []struct {
		name      string
		got, want any
	}{
		{"Port", c.Port, 0},
		{"DatabaseURL", c.DatabaseURL, "postgres://app@db.internal/app"},
		{"DataDir", c.DataDir, "/tmp/pg"},
		{"FrontendURL (trailing slash dropped: it is compared to Origin)", c.FrontendURL, "https://app.example.com"},
		{"RedisURL", c.RedisURL, "redis://cache:6379"},
		{"JWTSecret", string(c.JWTSecret), "a-dev-secret-of-at-least-32-bytes"},
		{"JWTSecretGenerated", c.JWTSecretGenerated, false},
		{"TokenTTL", c.TokenTTL, time.Hour},
		{"RateLimitAuthPerMinute", c.RateLimitAuthPerMinute, 0},
		{"LogLevel", c.LogLevel, slog.LevelDebug},
		{"ShutdownTimeout", c.ShutdownTimeout, 3 * time.Second},
		{"NodeID", c.NodeID, "node-a"},
		{"PGBinDir", c.PGBinDir, "/usr/lib/postgresql/17/bin"},
		{"PprofAddr", c.PprofAddr, "127.0.0.1:6060"},
		{"GOGC", c.GOGC, "50"},
		{"GOMemLimit", c.GOMemLimit, "1GiB"},
	} {
		if check.got != check.want {
			t.Errorf("%s = %v, want %v", check.name, check.got, check.want)
		}
	}
}

func TestLoadDefaultDataDirFollowsXDG(t *testing.T) {
	env := map[string]string{"XDG_DATA_HOME": "/xdg"}
	c, err := config.Load(func(k string) string { return env[k] }, func(xdg string) string { return xdg + "/pg" })
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/xdg/pg" {
		t.Errorf("DataDir = %q, want the default for XDG_DATA_HOME=/xdg", c.DataDir)
	}
}

func TestLoadProductionSecret(t *testing.T) {
	long := strings.Repeat("s", config.MinSecretLen)
	for _, tc := range []struct {
		name    string
		secret  string
		wantErr bool
	}{
		{"missing", "", true},
		{"one byte short", long[1:], true},
		{"minimum length", long, false},
		{"longer", long + long, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": tc.secret, "DATABASE_URL": "postgres://app@db.internal/app"})
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "JWT_SECRET") {
					t.Fatalf("Load = %v, want an error naming JWT_SECRET", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(c.JWTSecret) != tc.secret || c.JWTSecretGenerated || c.DevMode {
				t.Errorf("secret %q generated=%v dev=%v, want the given secret outside dev mode", c.JWTSecret, c.JWTSecretGenerated, c.DevMode)
			}
		})
	}
}

// Weak secrets are refused whenever JWT_SECRET is set, in dev mode too (before: any length in dev
// mode, and the placeholder of deploy/env.example in production); the error never shows them.
func TestLoadRejectsWeakSecrets(t *testing.T) {
	long := strings.Repeat("s", config.MinSecretLen)
	for _, tc := range []struct{ name, secret string }{
		{"one byte", "Q"},
		{"one byte short", long[1:]},
		{"the deploy/env.example placeholder", config.ExampleSecret},
		{"the placeholder lowercased", strings.ToLower(config.ExampleSecret)},
		{"CHANGE-ME inside", "0123456789abcdef-CHANGE-ME-0123456789abcdef"},
		{"changeme inside", "0123456789abcdef-changeme-0123456789abcdef"},
		{"ChangeMe inside", "0123456789abcdefChangeMe0123456789abcdef"},
	} {
		for _, appEnv := range []string{"", "development", "production"} {
			t.Run(tc.name+"/APP_ENV="+appEnv, func(t *testing.T) {
				_, err := load(t, map[string]string{"APP_ENV": appEnv, "JWT_SECRET": tc.secret, "DATABASE_URL": "postgres://app@db.internal/app"})
				if err == nil || !strings.Contains(err.Error(), "JWT_SECRET") {
					t.Fatalf("Load = %v, want an error naming JWT_SECRET", err)
				}
				if strings.Contains(err.Error(), tc.secret) {
					t.Errorf("error %q shows the secret", err)
				}
			})
		}
	}
	// Unset in dev mode: a random secret, as before.
	if c := mustLoad(t, map[string]string{"APP_ENV": "development"}); !c.JWTSecretGenerated || len(c.JWTSecret) < config.MinSecretLen {
		t.Errorf("no JWT_SECRET in dev mode: generated=%v, %d bytes", c.JWTSecretGenerated, len(c.JWTSecret))
	}
}

// The embedded PostgreSQL is for development: production needs DATABASE_URL.
func TestLoadProductionRequiresDatabaseURL(t *testing.T) {
	secret := strings.Repeat("s", config.MinSecretLen)
	_, err := load(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": secret, "DATA_DIR": "/tmp/pg"})
	const want = "DATABASE_URL is required when APP_ENV=production (the embedded PostgreSQL is for development)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Load = %v, want %q", err, want)
	}
	c := mustLoad(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": secret, "DATABASE_URL": "postgres://app@db.internal/app"})
	if c.DatabaseURL == "" || c.DevMode {
		t.Errorf("production with DATABASE_URL: %+v", c)
	}
	if c := mustLoad(t, nil); c.DatabaseURL != "" || c.DataDir != dataDir {
		t.Errorf("development without DATABASE_URL: DatabaseURL %q, DataDir %q; want the embedded database in %s", c.DatabaseURL, c.DataDir, dataDir)
	}
}

func TestLoadRejects(t *testing.T) {
	for _, tc := range []struct{ name, variable, value string }{
		{"port not a number", "PORT", "http"},
		{"port with junk", "PORT", "3001x"},
		{"negative port", "PORT", "-1"},
		{"port too large", "PORT", "65536"},
		{"frontend URL with a path", "FRONTEND_URL", "https://app.example.com/app"},
		{"frontend URL without scheme", "FRONTEND_URL", "localhost:5173"},
		{"frontend URL host only", "FRONTEND_URL", "app.example.com"},
		{"frontend URL not http", "FRONTEND_URL", "ftp://app.example.com"},
		{"frontend URL without host", "FRONTEND_URL", "https://"},
		{"TTL not a duration", "JWT_TTL", "forever"},
		{"TTL without unit", "JWT_TTL", "3600"},
		{"TTL under a minute", "JWT_TTL", "30s"},
		{"TTL over 30 days", "JWT_TTL", "721h"},
		{"negative rate limit", "RATE_LIMIT_AUTH_PER_MINUTE", "-1"},
		{"rate limit not a number", "RATE_LIMIT_AUTH_PER_MINUTE", "ten"},
		{"unknown log level", "LOG_LEVEL", "loud"},
		{"zero shutdown timeout", "SHUTDOWN_TIMEOUT", "0s"},
		{"negative sessions per address", "SOCKET_SESSIONS_PER_IP", "-1"},
		{"handshakes not a number", "SOCKET_HANDSHAKES_PER_IP_PER_MINUTE", "many"},
		{"connect timeout too short", "SOCKET_CONNECT_TIMEOUT", "1ms"},
		{"body timeout without unit", "BODY_READ_TIMEOUT", "15"},
		{"no hash at a time", "HASH_CONCURRENCY", "0"},
		{"negative hash queue", "HASH_QUEUE", "-1"},
		{"hash wait too long", "HASH_MAX_WAIT", "1h"},
		{"metrics address without port", "METRICS_ADDR", "127.0.0.1"},
		{"pprof address without port", "PPROF_ADDR", "localhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, map[string]string{tc.variable: tc.value})
			if err == nil {
				t.Fatalf("Load(%s=%q) = %+v, want an error", tc.variable, tc.value, c)
			}
			if !strings.Contains(err.Error(), tc.variable) {
				t.Errorf("error %q does not name %s", err, tc.variable)
			}
		})
	}
}

func TestLoadReportsEveryError(t *testing.T) {
	_, err := load(t, map[string]string{"PORT": "x", "LOG_LEVEL": "loud", "APP_ENV": "production"})
	if err == nil {
		t.Fatal("Load accepted three bad settings")
	}
	for _, name := range []string{"PORT", "LOG_LEVEL", "JWT_SECRET", "DATABASE_URL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestLogValueMasksSecrets(t *testing.T) {
	const (
		jwtSecret  = "jwt-secret-that-must-not-leak-0123456789"
		dbPassword = "db-password-that-must-not-leak"
		redisPass  = "redis-password-that-must-not-leak"
	)
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{"password in the database URL", map[string]string{
			"DATABASE_URL": "postgres://app:" + dbPassword + "@db.internal:5432/app?sslmode=require",
			"REDIS_URL":    "redis://:" + redisPass + "@cache:6379/0",
		}},
		{"local database (development only)", map[string]string{
			"APP_ENV":   "development",
			"REDIS_URL": "redis://default:" + redisPass + "@cache:6379",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["JWT_SECRET"] = jwtSecret
			if tc.env["APP_ENV"] == "" {
				tc.env["APP_ENV"] = "production"
			}
			c := mustLoad(t, tc.env)
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("configuration", "config", c)
			out := buf.String()
			for _, secret := range []string{jwtSecret, dbPassword, redisPass} {
				if strings.Contains(out, secret) {
					t.Errorf("log line contains %q: %s", secret, out)
				}
			}
			// The log is still useful: it says where the data lives.
			for _, want := range []string{`"port":3001`, "cache:6379"} {
				if !strings.Contains(out, want) {
					t.Errorf("log line lacks %s: %s", want, out)
				}
			}
			if c.DatabaseURL != "" && !strings.Contains(out, "db.internal") {
				t.Errorf("log line does not name the database host: %s", out)
			}
		})
	}
}

// The JWT_SECRET of deploy/env.example, copied unedited, is refused.
func TestLoadRejectsEnvExampleSecret(t *testing.T) {
	b, err := os.ReadFile("../../deploy/env.example")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = v
		}
	}
	if env["JWT_SECRET"] == "" {
		t.Fatal("deploy/env.example sets no JWT_SECRET")
	}
	if _, err := load(t, env); err == nil || !strings.Contains(err.Error(), "JWT_SECRET") {
		t.Fatalf("Load(deploy/env.example) = %v, want an error naming JWT_SECRET", err)
	}
}

// Tracing is on only with an OTLP endpoint, off when the SDK or the exporter is turned off;
// the OTEL_* values the SDK would merely log about are refused.
func TestLoadTracing(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // TracesEndpoint; "error" for a configuration error
	}{
		{"nothing set", nil, ""},
		{"a sampler alone", map[string]string{"OTEL_TRACES_SAMPLER": "always_on", "OTEL_SERVICE_NAME": "x"}, ""},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "http://collector:4318"},
		{"traces endpoint wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://traces.example/v1/traces"}, "https://traces.example/v1/traces"},
		{"SDK disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}, ""},
		{"exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none"}, ""},
		{"ratio sampler", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
			"OTEL_TRACES_SAMPLER_ARG": "0.1"}, "http://c:4318"},
		{"endpoint without scheme", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "error"},
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "error"},
		{"zipkin exporter", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "error"},
		{"unknown sampler", map[string]string{"OTEL_TRACES_SAMPLER": "sometimes"}, "error"},
		{"ratio above 1", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, "error"},
		{"SDK disabled: yes", map[string]string{"OTEL_SDK_DISABLED": "yes"}, "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.env)
			if tc.want == "error" {
				if err == nil || !strings.Contains(err.Error(), "OTEL_") {
					t.Fatalf("Load = %v, want an error naming the OTEL_ variable", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.TracesEndpoint != tc.want {
				t.Errorf("TracesEndpoint = %q, want %q", c.TracesEndpoint, tc.want)
			}
		})
	}
}
