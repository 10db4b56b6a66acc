package ratelimit

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a manual clock: time moves only when a test advances it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// drain takes n tokens for key, failing the test if one is refused.
func drain(tb testing.TB, l *Limiter, key string, n int) {
	tb.Helper()
	for i := range n {
		if ok, wait := l.Allow(key); !ok {
			tb.Fatalf("%s: attempt %d of %d refused (wait %v)", key, i+1, n, wait)
		}
	}
}

// refused checks that the next attempt for key is refused and returns the wait it announces.
func refused(tb testing.TB, l *Limiter, key string) time.Duration {
	tb.Helper()
	ok, wait := l.Allow(key)
	if ok {
		tb.Fatalf("%s: allowed, want refused", key)
	}
	if wait <= 0 {
		tb.Fatalf("%s: refused with wait %v, want a positive wait", key, wait)
	}
	return wait
}

func TestAllowsPerMinuteThenRefuses(t *testing.T) {
	for _, perMinute := range []int{1, 3, 10, 60, 1000} {
		t.Run(fmt.Sprintf("%d per minute", perMinute), func(t *testing.T) {
			l := New(perMinute, newClock().Now)
			drain(t, l, "ip:1", perMinute)
			want := time.Minute / time.Duration(perMinute) // one token's refill time
			if wait := refused(t, l, "ip:1"); wait < want-time.Millisecond || wait > want+time.Millisecond {
				t.Errorf("wait = %v, want about %v", wait, want)
			}
		})
	}
}

func TestRefillsOverTime(t *testing.T) {
	c := newClock()
	l := New(10, c.Now) // one token every 6 s
	drain(t, l, "k", 10)
	wait := refused(t, l, "k")

	c.Advance(wait - 100*time.Millisecond)
	if w := refused(t, l, "k"); w > 101*time.Millisecond {
		t.Errorf("100 ms before the next token: wait %v, want at most 100 ms", w)
	}
	c.Advance(100 * time.Millisecond)
	drain(t, l, "k", 1)
	refused(t, l, "k")

	c.Advance(18 * time.Second) // three tokens
	drain(t, l, "k", 3)
	refused(t, l, "k")

	c.Advance(time.Hour) // the bucket holds at most perMinute tokens
	drain(t, l, "k", 10)
	refused(t, l, "k")
}

func TestRefusedAttemptsDoNotCost(t *testing.T) {
	c := newClock()
	l := New(6, c.Now) // one token every 10 s
	drain(t, l, "k", 6)
	for range 100 {
		refused(t, l, "k")
	}
	c.Advance(10 * time.Second)
	drain(t, l, "k", 1)
}

func TestKeysAreIndependent(t *testing.T) {
	l := New(3, newClock().Now)
	drain(t, l, "ip:192.0.2.1", 3)
	refused(t, l, "ip:192.0.2.1")
	drain(t, l, "ip:192.0.2.2", 3)
	drain(t, l, "account:a@example.com", 3)
	refused(t, l, "ip:192.0.2.2")
	refused(t, l, "ip:192.0.2.1")
}

func TestDisabled(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    *Limiter
	}{
		{"perMinute 0", New(0, newClock().Now)},
		{"negative perMinute", New(-1, newClock().Now)},
		{"nil limiter", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 10_000 {
				if ok, wait := tc.l.Allow("k"); !ok || wait != 0 {
					t.Fatalf("attempt %d: Allow = %v, %v; want always allowed", i+1, ok, wait)
				}
			}
		})
	}
}

func TestNilClockUsesTime(t *testing.T) {
	l := New(2, nil)
	drain(t, l, "k", 2)
	refused(t, l, "k")
}

func TestSweepDropsIdleKeys(t *testing.T) {
	c := newClock()
	l := New(10, c.Now)
	for i := range 1000 {
		drain(t, l, fmt.Sprintf("ip:%d", i), 1)
	}
	drain(t, l, "busy", 10)
	if n := len(l.buckets); n != 1001 {
		t.Fatalf("%d buckets, want 1001", n)
	}

	c.Advance(30 * time.Second)
	drain(t, l, "recent", 10) // full again in a minute
	if n := len(l.buckets); n != 1002 {
		t.Errorf("after 30 s: %d buckets, want 1002 (no sweep before a minute)", n)
	}

	c.Advance(30 * time.Second) // a minute after the first keys: they have refilled completely
	drain(t, l, "new", 1)
	if _, ok := l.buckets["recent"]; !ok || len(l.buckets) != 2 {
		t.Errorf("after a minute: buckets %v, want only recent and new", keys(l))
	}

	// A dropped key starts again with a full bucket, which it would have had anyway.
	drain(t, l, "busy", 10)
	refused(t, l, "busy")
}

func TestSweepKeepsKeysThatHaveNotRefilled(t *testing.T) {
	c := newClock()
	l := New(2, c.Now)
	c.Advance(50 * time.Second)
	drain(t, l, "k", 2)
	c.Advance(10 * time.Second)
	drain(t, l, "other", 1) // a minute after New: sweeps
	if _, ok := l.buckets["k"]; !ok {
		t.Fatalf("sweep dropped a bucket drained 10 s ago: %v", keys(l))
	}
	refused(t, l, "k") // 10 s at 2/min is a third of a token, not a fresh bucket
}

func TestConcurrentAllowGrantsExactlyPerMinute(t *testing.T) {
	const perMinute, workers, attempts = 100, 8, 50
	l := New(perMinute, newClock().Now)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range attempts {
				if ok, _ := l.Allow("shared"); ok {
					allowed.Add(1)
				}
				l.Allow(fmt.Sprintf("own:%d:%d", w, i))
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != perMinute {
		t.Errorf("%d of %d concurrent attempts allowed, want %d", n, workers*attempts, perMinute)
	}
}

func keys(l *Limiter) []string {
	var ks []string
	for k := range l.buckets {
		ks = append(ks, k)
	}
	return ks
}

func TestMapStaysBoundedUnderManyKeys(t *testing.T) {
	const maxKeys = 1000
	c := newClock()
	l := New(5, c.Now, MaxKeys(maxKeys))
	// An attacker spends one token on each of 100,000 distinct keys within a second.
	for i := range 100_000 {
		drain(t, l, fmt.Sprintf("account:%d@example.com", i), 1)
		if i%1000 == 0 {
			c.Advance(10 * time.Millisecond)
		}
	}
	if n := len(l.buckets); n > maxKeys {
		t.Fatalf("%d buckets held, want at most %d", n, maxKeys)
	}
	// The limiter still limits: a key in use is refused once drained.
	drain(t, l, "victim", 5)
	refused(t, l, "victim")
	// Once the buckets are full again, the next full map sweeps them all instead of sampling.
	c.Advance(time.Minute)
	for i := range maxKeys {
		drain(t, l, fmt.Sprintf("later:%d", i), 1)
	}
	if n := len(l.buckets); n > maxKeys {
		t.Fatalf("%d buckets held, want at most %d", n, maxKeys)
	}
}

func TestEvictionPrefersFullerBuckets(t *testing.T) {
	c := newClock()
	l := New(60, c.Now, MaxKeys(8))
	drain(t, l, "drained", 60) // a minute from full
	for i := range 7 {
		drain(t, l, fmt.Sprintf("light:%d", i), 1) // a second from full
	}
	for i := range 50 {
		drain(t, l, fmt.Sprintf("new:%d", i), 1)
	}
	// Of the 8 sampled, the drained bucket is never the one closest to full.
	refused(t, l, "drained")
}

func TestRatesAndClean(t *testing.T) {
	c := newClock()
	l := New(10, c.Now)
	slow := Rate{Burst: 3, Period: 10 * time.Minute} // one token every 200 s
	res := l.Take("pair", slow)
	if !res.Allowed || !res.Clean {
		t.Fatalf("first take: %+v, want allowed and clean", res)
	}
	for range 2 {
		if res := l.Take("pair", slow); !res.Allowed || res.Clean {
			t.Fatalf("take: %+v, want allowed, not clean", res)
		}
	}
	res = l.Take("pair", slow)
	if res.Allowed || res.Wait < 199*time.Second || res.Wait > 201*time.Second {
		t.Fatalf("4th take: %+v, want refused for about 200 s", res)
	}
	// Refund gives a token back; a refunded full bucket is clean again.
	l.Refund("pair", slow)
	if res := l.Take("pair", slow); !res.Allowed {
		t.Fatalf("after a refund: %+v, want allowed", res)
	}
	c.Advance(10 * time.Minute)
	l.Take("pair", slow)
	l.Refund("pair", slow)
	if res := l.Take("pair", slow); !res.Clean {
		t.Fatalf("after take and refund on a full bucket: %+v, want clean", res)
	}
	l.Refund("unknown", slow) // no bucket: nothing to give back
	if res := l.Take("off", Rate{}); !res.Allowed {
		t.Fatal("a zero rate refused")
	}
}

func TestClientKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
		{"not an address", "not an address"},
	} {
		if got := ClientKey(tc.in); got != tc.want {
			t.Errorf("ClientKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
