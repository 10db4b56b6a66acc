// Package ratelimit provides keyed token-bucket rate limits.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Limiter allows up to perMinute events per key per minute, refilled continuously (a token
// bucket of capacity perMinute). The zero perMinute disables it. Safe for concurrent use.
type Limiter struct {
	perMinute int
	now       func() time.Time
	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// New returns a limiter; now may be nil (time.Now).
func New(perMinute int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{perMinute: perMinute, now: now, buckets: make(map[string]*bucket), lastSweep: now()}
}

// Allow takes one token for key. When none is left it returns false and how long until one is.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	if l == nil || l.perMinute <= 0 {
		return true, 0
	}
	now := l.now()
	rate := float64(l.perMinute) / 60 // tokens per second
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: float64(l.perMinute), at: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(float64(l.perMinute), b.tokens+now.Sub(b.at).Seconds()*rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / rate * float64(time.Second))
	return false, wait
}

// sweep drops buckets that have refilled completely, at most once a minute, so that memory
// stays bounded by the keys seen in the last minute.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if now.Sub(b.at) >= time.Minute {
			delete(l.buckets, k)
		}
	}
}
