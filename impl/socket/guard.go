package socket

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	engine "github.com/zishang520/socket.io/servers/engine/v3"
)

// Limits bound what clients that never authenticate can make the server hold. Every Engine.IO
// session (a handshake, before any Socket.IO CONNECT) costs a goroutine or two and ~14 KB until it
// ends, so a session that has not connected within ConnectTimeout is closed at once, and each
// client address may open only so many sessions and so many handshakes a minute.
type Limits struct {
	// SessionsPerIP caps the Engine.IO sessions one client address holds at once (0: no cap).
	SessionsPerIP int
	// Handshakes limits new Engine.IO sessions per client address (nil: no limit).
	Handshakes Limiter
	// ConnectTimeout closes a session whose client has not completed a Socket.IO CONNECT (with a
	// valid token) this long after its handshake, on both transports.
	ConnectTimeout time.Duration
}

// Limiter is a keyed rate limit.
type Limiter interface {
	Allow(key string) (bool, time.Duration)
}

// guard admits handshakes and tracks the Engine.IO sessions of each client address.
type guard struct {
	limits   Limits
	clientIP func(*http.Request) string
	log      *slog.Logger
	timers   *timers // the connect timeouts

	mu    sync.Mutex
	perIP map[string]int // open sessions by client address; an entry lives while its count > 0
	conns map[string]*session
}

// session is one Engine.IO session, from its handshake to its close.
type session struct {
	ip        string
	connected atomic.Bool // a Socket.IO CONNECT succeeded on it
	timer     timer       // the connect timeout, stopped by the CONNECT
	released  atomic.Bool
}

// slot is the admission of one handshake request, claimed by the session it creates.
type slot struct {
	ip      string
	claimed atomic.Bool
}

type slotKey struct{}

func newGuard(l Limits, clientIP func(*http.Request) string, log *slog.Logger, ts *timers) *guard {
	return &guard{limits: l, clientIP: clientIP, log: log, timers: ts, perIP: map[string]int{}, conns: map[string]*session{}}
}

// wrap admits or refuses each handshake (a request without sid) before the engine sees it.
func (g *guard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sid") != "" {
			next.ServeHTTP(w, r)
			return
		}
		ip := g.clientIP(r)
		if len(r.URL.RawQuery) > maxHandshakeQuery {
			// The session keeps its handshake's query for its life (the Socket.IO handshake).
			g.log.Info("socket handshake refused", "reason", "query too long", "remote", ip, "length", len(r.URL.RawQuery))
			refuse(w, http.StatusBadRequest, 0, "invalid_request", "Requête de connexion invalide.")
			return
		}
		if g.limits.Handshakes != nil {
			if ok, wait := g.limits.Handshakes.Allow("handshake:" + ip); !ok {
				g.log.Info("socket handshake refused", "reason", "handshake rate", "remote", ip)
				refuse(w, http.StatusTooManyRequests, wait, "rate_limited", "Trop de connexions, réessayez plus tard.")
				return
			}
		}
		if !g.reserve(ip) {
			g.log.Info("socket handshake refused", "reason", "sessions per address", "remote", ip, "max", g.limits.SessionsPerIP)
			refuse(w, http.StatusTooManyRequests, 5*time.Second, "rate_limited", "Trop de connexions ouvertes depuis cette adresse.")
			return
		}
		sl := &slot{ip: ip}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), slotKey{}, sl)))
		if sl.claimed.CompareAndSwap(false, true) { // the handshake failed: no session took the slot
			g.release(ip)
		}
	})
}

// maxHandshakeQuery bounds the query of a handshake, which its session keeps for its life: the
// clients send EIO, transport and a cache-busting t (a few dozen bytes).
const maxHandshakeQuery = 512

// refuse answers a refused handshake in the contract's error shape.
func refuse(w http.ResponseWriter, status int, wait time.Duration, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(max(wait, time.Second).Seconds()))))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (g *guard) reserve(ip string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.limits.SessionsPerIP > 0 && g.perIP[ip] >= g.limits.SessionsPerIP {
		return false
	}
	g.perIP[ip]++
	return true
}

func (g *guard) release(ip string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.perIP[ip] <= 1 {
		delete(g.perIP, ip)
		return
	}
	g.perIP[ip]--
}

// opened is called for each new Engine.IO session: it takes the handshake's slot and closes the
// session if no Socket.IO CONNECT succeeds within the connect timeout.
func (g *guard) opened(conn engine.Socket) {
	// Every handshake came through wrap, whose slot this session takes over.
	var sl *slot
	if hc := conn.Request(); hc != nil && hc.Request() != nil {
		sl, _ = hc.Request().Context().Value(slotKey{}).(*slot)
	}
	if sl == nil || !sl.claimed.CompareAndSwap(false, true) {
		conn.Close(true) // not admitted: cannot happen through Handler
		return
	}
	ip := sl.ip
	s := &session{ip: ip, timer: timer{i: -1}}
	id := conn.Id()
	g.mu.Lock()
	g.conns[id] = s
	g.mu.Unlock()
	closed := func(...any) {
		if !s.released.CompareAndSwap(false, true) {
			return
		}
		g.timers.stop(&s.timer)
		g.mu.Lock()
		delete(g.conns, id)
		g.mu.Unlock()
		g.release(ip)
	}
	if g.limits.ConnectTimeout > 0 {
		s.timer.f = func() { // on the timers goroutine: the rest on a goroutine of its own
			if !s.connected.Load() {
				go func() {
					g.log.Info("socket session closed", "reason", "no connect within the connect timeout", "remote", ip)
					conn.Close(true) // discard: a polling session does not wait for its next poll
				}()
			}
		}
		g.timers.schedule(&s.timer, g.limits.ConnectTimeout)
	}
	_ = conn.Once("close", closed)
	if conn.ReadyState() == "closed" { // closed before the listener was registered
		closed()
	}
}

// connected marks the Engine.IO session id as authenticated: it is no longer subject to the
// connect timeout. It reports false when the session had a socket authenticated already (or is
// unknown): a session is one socket.
func (g *guard) connected(id string) bool {
	g.mu.Lock()
	s := g.conns[id]
	g.mu.Unlock()
	if s == nil || !s.connected.CompareAndSwap(false, true) {
		return false
	}
	g.timers.stop(&s.timer)
	return true
}

// hasSocket reports whether a socket was authenticated on the Engine.IO session id.
func (g *guard) hasSocket(id string) bool {
	g.mu.Lock()
	s := g.conns[id]
	g.mu.Unlock()
	return s != nil && s.connected.Load()
}

// remote returns the client address of the Engine.IO session id ("" when unknown).
func (g *guard) remote(id string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := g.conns[id]; s != nil {
		return s.ip
	}
	return ""
}

// sessions returns the number of open Engine.IO sessions.
func (g *guard) sessions() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}
