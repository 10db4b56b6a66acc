package api

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/artisan-notify/artisan-notify/impl/domain"
	"github.com/artisan-notify/artisan-notify/impl/ratelimit"
)

type ipKey struct{}

// clientIP returns the remote address the Middleware put in the context.
func clientIP(ctx context.Context) string {
	ip, _ := ctx.Value(ipKey{}).(string)
	return ip
}

// MiddlewareConfig configures Middleware.
type MiddlewareConfig struct {
	FrontendURL  string // the one origin allowed by CORS, with credentials
	MaxBodyBytes int64
	AuthLimiter  Limiter // login and register attempts and failures (see rateLimit); nil: no limit
	Logger       *slog.Logger
	// TrustedProxies are reverse proxies whose X-Forwarded-For is believed (nil: none).
	TrustedProxies []netip.Prefix
	// Observe, when set, is told of every request answered (the metrics).
	Observe Observer
}

// Middleware wraps the REST server with what must also see requests ogen rejects: panic
// recovery, access logs, security headers, CORS, body limits and the auth rate limit.
func Middleware(cfg MiddlewareConfig, next http.Handler) http.Handler {
	h := next
	h = rateLimit(cfg, h)
	h = limitBody(cfg.MaxBodyBytes, h)
	h = cors(cfg.FrontendURL, h)
	h = securityHeaders(h)
	return recoverAndLog(cfg.Logger, cfg.TrustedProxies, cfg.Observe, h)
}

// ClientIP returns the address of the client of r: its peer address or, when the peer is a
// trusted proxy, the right-most address of X-Forwarded-For that is not a trusted proxy.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	ip := peerAddr(r)
	if len(trusted) == 0 || !isTrusted(ip, trusted) {
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
		if !isTrusted(hop, trusted) {
			return hop
		}
		ip = hop
	}
	return ip
}

// statusRecorder keeps the status of the response written through it (0 until one is).
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

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Observer is told of every request the middleware answers, those it rejects included: its
// status (200 when the handler wrote nothing) and how long it took.
type Observer func(r *http.Request, status int, elapsed time.Duration)

func recoverAndLog(log *slog.Logger, trusted []netip.Prefix, observe Observer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ip := ClientIP(r, trusted)
		ctx := context.WithValue(context.WithValue(r.Context(), ipKey{}, ip), headerKey{}, w.Header())
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		observed := func() {
			if observe != nil {
				observe(r, cmp.Or(rec.status, http.StatusOK), time.Since(start))
			}
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					observed()
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
			observed()
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

// Auth limits, derived from the limiter's per-minute rate P (RATE_LIMIT_AUTH_PER_MINUTE):
//
//   - attempts per client address (an IPv6 client by its /64): P logins and, apart, P
//     registrations a minute. This is what bounds one attacker.
//   - failed logins (wrong password or unknown email) per account and client address: P, then
//     one every 10/P minutes. Whoever fails on an account is slowed on that account only.
//   - failed logins per account, from every address: 10 P, then P a minute. Past it the account
//     is under attack and is slowed, not locked: an address that has not failed on it recently
//     may still try, after a delay of a second; the addresses that have failed get 429.
//
// Successful logins, and attempts that end in another error (400, 503), do not count as failures.
const (
	pairPeriodFactor  = 10 // failures per (account, address): P per 10 minutes
	accountBurstScale = 10 // failures per account: 10 P per 10 minutes
	attackedDelay     = time.Second
)

// Limiter is a set of keyed token buckets (ratelimit.Limiter, or ratelimit.Shared across nodes).
type Limiter interface {
	PerMinute() int
	Take(key string, r ratelimit.Rate) ratelimit.Result
	Refund(key string, r ratelimit.Rate)
}

// rateLimit applies the auth limits above to login and register.
func rateLimit(cfg MiddlewareConfig, next http.Handler) http.Handler {
	if cfg.AuthLimiter == nil || cfg.AuthLimiter.PerMinute() <= 0 {
		return next
	}
	l := cfg.AuthLimiter
	p := l.PerMinute()
	perAddress := ratelimit.PerMinute(p)
	perPair := ratelimit.Rate{Burst: p, Period: pairPeriodFactor * time.Minute}
	perAccount := ratelimit.Rate{Burst: accountBurstScale * p, Period: 10 * time.Minute}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		client := ratelimit.ClientKey(clientIP(r.Context()))
		switch r.URL.Path {
		case "/api/users/auth/register":
			if res := l.Take("register:ip:"+client, perAddress); !res.Allowed {
				tooMany(w, res.Wait)
				return
			}
			next.ServeHTTP(w, r)
			return
		case "/api/users/auth/login":
		default:
			next.ServeHTTP(w, r)
			return
		}
		if res := l.Take("login:ip:"+client, perAddress); !res.Allowed {
			tooMany(w, res.Wait)
			return
		}
		body, err := io.ReadAll(r.Body)
		var maxBytes *http.MaxBytesError
		if errors.As(err, &maxBytes) {
			writeError(w, CodePayloadTooLarge, "Corps de requête trop volumineux.")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		account, ok := accountKey(body)
		if !ok {
			next.ServeHTTP(w, r) // no valid email: the handler answers 401 and no account is at stake
			return
		}
		pairKey, accountKey := "login:fail:"+account+":"+client, "login:account:"+account
		pair := l.Take(pairKey, perPair)
		if !pair.Allowed {
			tooMany(w, pair.Wait)
			return
		}
		acct := l.Take(accountKey, perAccount)
		if !acct.Allowed {
			if !pair.Clean {
				l.Refund(pairKey, perPair)
				tooMany(w, acct.Wait)
				return
			}
			select { // an account under attack: a clean address tries, slowly
			case <-time.After(attackedDelay):
			case <-r.Context().Done():
				l.Refund(pairKey, perPair)
				return
			}
		}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status != http.StatusUnauthorized { // not a failed login: give the tokens back
			l.Refund(pairKey, perPair)
			if acct.Allowed {
				l.Refund(accountKey, perAccount)
			}
		}
	})
}

// accountKey is the rate-limit key of the account a login body names: a fixed-size hash of the
// normalized email, so that keys stay small whatever the body holds. ok is false when the body
// names no valid email.
func accountKey(body []byte) (key string, ok bool) {
	var peek struct {
		Email string `json:"email"`
	}
	if json.Unmarshal(body, &peek) != nil {
		return "", false
	}
	email := domain.NormalizeEmail(peek.Email)
	if !domain.ValidEmail(email) {
		return "", false
	}
	sum := sha256.Sum256([]byte(email))
	return base64.RawURLEncoding.EncodeToString(sum[:16]), true
}

func tooMany(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	writeError(w, CodeRateLimited, "Trop de tentatives, réessayez plus tard.")
}
