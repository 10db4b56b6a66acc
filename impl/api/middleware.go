package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"artisan-notify/impl/store"
)

type ipKey struct{}

// clientIP returns the remote address the Middleware put in the context.
func clientIP(ctx context.Context) string {
	ip, _ := ctx.Value(ipKey{}).(string)
	return ip
}

// Limiter is a keyed rate limit.
type Limiter interface {
	Allow(key string) (bool, time.Duration)
}

// MiddlewareConfig configures Middleware.
type MiddlewareConfig struct {
	FrontendURL  string // the one origin allowed by CORS, with credentials
	MaxBodyBytes int64
	AuthLimiter  Limiter // login and register attempts, per client IP and per account; nil: no limit
	Logger       *slog.Logger
	// TrustedProxies are reverse proxies whose X-Forwarded-For is believed (nil: none).
	TrustedProxies []netip.Prefix
}

// Middleware wraps the REST server with what must also see requests ogen rejects: panic
// recovery, access logs, security headers, CORS, body limits and the auth rate limit.
func Middleware(cfg MiddlewareConfig, next http.Handler) http.Handler {
	h := next
	h = rateLimit(cfg, h)
	h = limitBody(cfg.MaxBodyBytes, h)
	h = cors(cfg.FrontendURL, h)
	h = securityHeaders(h)
	return recoverAndLog(cfg.Logger, cfg.TrustedProxies, h)
}

// ClientIP returns the address of the client of r: its peer address or, when the peer is a
// trusted proxy, the right-most address of X-Forwarded-For that is not a trusted proxy.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if len(trusted) == 0 || !isTrusted(ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" {
			continue
		}
		if _, err := netip.ParseAddr(hop); err != nil {
			return ip // a malformed header: keep the proxy's address
		}
		if !isTrusted(hop) {
			return hop
		}
		ip = hop
	}
	return ip
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func recoverAndLog(log *slog.Logger, trusted []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ip := ClientIP(r, trusted)
		r = r.WithContext(context.WithValue(r.Context(), ipKey{}, ip))
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(r.Context(), "panic", "panic", p, "method", r.Method, "path", r.URL.Path)
				if rec.status == 0 {
					writeError(rec, CodeInternal, msgInternal)
				}
			}
			level := slog.LevelDebug
			if rec.status >= 500 {
				level = slog.LevelWarn
			}
			log.Log(r.Context(), level, "http", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"duration", time.Since(start), "remote", ip)
		}()
		next.ServeHTTP(rec, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Cross-Origin-Resource-Policy", "same-site")
		next.ServeHTTP(w, r)
	})
}

// cors allows exactly one origin, with credentials.
func cors(origin string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := r.Header.Get("Origin") == origin
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if allowed {
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			writeError(w, CodeForbidden, "Origine non autorisée.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func limitBody(limit int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			writeError(w, CodePayloadTooLarge, "Corps de requête trop volumineux.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// rateLimit limits login and register attempts per client IP and per account (the email in the body).
func rateLimit(cfg MiddlewareConfig, next http.Handler) http.Handler {
	if cfg.AuthLimiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || (r.URL.Path != "/api/users/auth/login" && r.URL.Path != "/api/users/auth/register") {
			next.ServeHTTP(w, r)
			return
		}
		if ok, wait := cfg.AuthLimiter.Allow("ip:" + clientIP(r.Context())); !ok {
			tooMany(w, wait)
			return
		}
		body, err := io.ReadAll(r.Body)
		var maxBytes *http.MaxBytesError
		if errors.As(err, &maxBytes) {
			writeError(w, CodePayloadTooLarge, "Corps de requête trop volumineux.")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var peek struct {
			Email string `json:"email"`
		}
		if json.Unmarshal(body, &peek) == nil && peek.Email != "" {
			if ok, wait := cfg.AuthLimiter.Allow("account:" + store.NormalizeEmail(peek.Email)); !ok {
				tooMany(w, wait)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func tooMany(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	writeError(w, CodeRateLimited, "Trop de tentatives, réessayez plus tard.")
}
