// Package ratelimit provides keyed token-bucket rate limits, per node (Limiter) or shared by
// every node through Redis (Shared).
package ratelimit

import (
	"math"
	"net/netip"
	"sync"
	"time"
)

// Rate is a token bucket: Burst tokens at most, refilled continuously at Burst per Period.
type Rate struct {
	Burst  int
	Period time.Duration
}

// PerMinute is n tokens a minute, in bursts of n.
func PerMinute(n int) Rate { return Rate{Burst: n, Period: time.Minute} }

// off reports whether r limits nothing.
func (r Rate) off() bool { return r.Burst <= 0 || r.Period <= 0 }

// perSecond is the refill rate.
func (r Rate) perSecond() float64 { return float64(r.Burst) / r.Period.Seconds() }

// Result is the outcome of Take.
type Result struct {
	// Allowed: a token was taken.
	Allowed bool
	// Wait is, when refused, how long until a token is back.
	Wait time.Duration
	// Clean: the bucket was full before this Take, i.e. the key has not spent a token that has
	// not been refilled since.
	Clean bool
}

// DefaultMaxKeys caps the buckets a Limiter holds: about 10 MB of memory at most.
const DefaultMaxKeys = 1 << 16

// Limiter holds token buckets by key, in memory. Its buckets are evicted once full (a missing
// bucket is a full one) and, when MaxKeys buckets are held, the one closest to full among a few
// is evicted to make room. Safe for concurrent use.
type Limiter struct {
	perMinute int
	maxKeys   int
	now       func() time.Time
	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
	// lastFullSweep is the last time a full map was swept, to do so at most once a second.
	lastFullSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
	fullAt time.Time // when the bucket is full again if nothing is taken: it can then be dropped
}

// Option configures a Limiter.
type Option func(*Limiter)

// MaxKeys caps the buckets held (DefaultMaxKeys when n <= 0).
func MaxKeys(n int) Option {
	return func(l *Limiter) {
		if n > 0 {
			l.maxKeys = n
		}
	}
}

// New returns a limiter whose Allow grants perMinute attempts per key per minute (0: no limit);
// now may be nil (time.Now).
func New(perMinute int, now func() time.Time, opts ...Option) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{perMinute: perMinute, maxKeys: DefaultMaxKeys, now: now, buckets: make(map[string]*bucket), lastSweep: now()}
	for _, o := range opts {
		o(l)
	}
	return l
}

// PerMinute is the rate Allow applies.
func (l *Limiter) PerMinute() int {
	if l == nil {
		return 0
	}
	return l.perMinute
}

// Allow takes one token for key at the limiter's per-minute rate. When none is left it returns
// false and how long until one is.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	res := l.Take(key, PerMinute(l.PerMinute()))
	return res.Allowed, res.Wait
}

// Take takes one token for key from a bucket of rate r (a rate of 0 allows everything).
func (l *Limiter) Take(key string, r Rate) Result {
	if l == nil || r.off() {
		return Result{Allowed: true, Clean: true}
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		l.makeRoom(now)
		b = &bucket{tokens: float64(r.Burst), at: now}
		l.buckets[key] = b
	}
	b.refill(now, r)
	res := Result{Clean: b.tokens >= float64(r.Burst)}
	if b.tokens >= 1 {
		b.tokens--
		res.Allowed = true
	} else {
		res.Wait = time.Duration((1 - b.tokens) / r.perSecond() * float64(time.Second))
	}
	b.fullAt = now.Add(time.Duration((float64(r.Burst) - b.tokens) / r.perSecond() * float64(time.Second)))
	return res
}

// Refund gives back a token Take took for key (when the attempt turned out not to count).
func (l *Limiter) Refund(key string, r Rate) {
	if l == nil || r.off() {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return // evicted: already full
	}
	b.refill(now, r)
	b.tokens = math.Min(float64(r.Burst), b.tokens+1)
	b.fullAt = now.Add(time.Duration((float64(r.Burst) - b.tokens) / r.perSecond() * float64(time.Second)))
}

func (b *bucket) refill(now time.Time, r Rate) {
	b.tokens = math.Min(float64(r.Burst), b.tokens+now.Sub(b.at).Seconds()*r.perSecond())
	b.at = now
}

// sweep drops the buckets that have refilled completely, at most once a minute, so that memory
// stays bounded by the keys recently seen.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	l.dropFull(now)
}

func (l *Limiter) dropFull(now time.Time) {
	for k, b := range l.buckets {
		if !now.Before(b.fullAt) {
			delete(l.buckets, k)
		}
	}
}

// makeRoom evicts buckets when maxKeys are held: the full ones (at most once a second, as it
// walks the whole map), else the one closest to full of a few sampled (map iteration order is
// random). Evicting a bucket that is not full yet forgives its key some attempts; with the cap
// far above the keys a node sees in a period, only an attacker filling the map gets that, for
// the keys it spends.
func (l *Limiter) makeRoom(now time.Time) {
	if len(l.buckets) < l.maxKeys {
		return
	}
	if now.Sub(l.lastFullSweep) >= time.Second {
		l.lastFullSweep = now
		l.dropFull(now)
		if len(l.buckets) < l.maxKeys {
			return
		}
	}
	var victim string
	var soonest time.Time
	n := 0
	for k, b := range l.buckets {
		if n == 0 || b.fullAt.Before(soonest) {
			victim, soonest = k, b.fullAt
		}
		if n++; n == 8 {
			break
		}
	}
	delete(l.buckets, victim)
}

// ClientKey is the rate-limit key of a client address: an IPv4 address (IPv4-mapped IPv6
// included) as itself, an IPv6 address as its /64, since one subscriber usually holds a whole
// /64 and could otherwise rotate through 2^64 addresses. Anything else is returned as is.
func ClientKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
