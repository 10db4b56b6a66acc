package ratelimit

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcra is the generic cell rate algorithm, atomically in Redis, on Redis's clock: one token every
// ARGV[1] ms, in bursts of at most ARGV[2]. The key holds the theoretical arrival time (TAT) and
// expires when the bucket is full again, so a missing key is a full bucket. ARGV[3] = "1" gives a
// token back instead of taking one. It returns {ms until a token when refused else 0, 1 when
// the bucket was full before}.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2]) * interval
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local clean = 0
if tat == now then clean = 1 end
if ARGV[3] == '1' then
  local back = tat - interval
  if back <= now then
    redis.call('DEL', KEYS[1])
  else
    redis.call('SET', KEYS[1], back, 'PX', math.ceil(back - now))
  end
  return {0, clean}
end
local new_tat = tat + interval
if new_tat - now > burst then
  return {new_tat - now - burst, clean}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now))
return {0, clean}
`)

// Shared is a Limiter shared by every server node through Redis, so that a client cannot
// multiply its attempts by the number of nodes. When Redis does not answer within a few
// milliseconds it falls back to a per-node limit (Local) for a second before trying Redis
// again, so an outage of Redis never blocks logins, never slows them by more than one timeout
// a second, and never lifts the limit.
type Shared struct {
	rdb       redis.UniversalClient
	prefix    string
	perMinute int
	local     *Limiter
	log       *slog.Logger
	timeout   time.Duration
	// downUntil (Unix ns) is when to try Redis again after it failed; 0 while it answers.
	downUntil atomic.Int64
	lastWarn  atomic.Int64
}

// NewShared returns a Redis-backed limiter whose Allow grants perMinute attempts per key per
// minute; opts configure its per-node fallback.
func NewShared(rdb redis.UniversalClient, perMinute int, log *slog.Logger, opts ...Option) *Shared {
	return &Shared{rdb: rdb, prefix: "artisan-notify:ratelimit:", perMinute: perMinute,
		local: New(perMinute, nil, opts...), log: log, timeout: 100 * time.Millisecond}
}

// PerMinute is the rate Allow applies.
func (s *Shared) PerMinute() int { return s.perMinute }

// Allow takes one attempt for key; when none is left it returns false and how long to wait.
func (s *Shared) Allow(key string) (bool, time.Duration) {
	res := s.Take(key, PerMinute(s.perMinute))
	return res.Allowed, res.Wait
}

// Take takes one token for key from a bucket of rate r.
func (s *Shared) Take(key string, r Rate) Result {
	if r.off() {
		return Result{Allowed: true, Clean: true}
	}
	wait, clean, ok := s.run(key, r, false)
	if !ok {
		return s.local.Take(key, r)
	}
	return Result{Allowed: wait == 0, Wait: time.Duration(wait) * time.Millisecond, Clean: clean}
}

// Refund gives back a token Take took for key.
func (s *Shared) Refund(key string, r Rate) {
	if r.off() {
		return
	}
	if _, _, ok := s.run(key, r, true); !ok {
		s.local.Refund(key, r)
	}
}

// run runs the script; ok is false when Redis did not answer (or is known to be down).
func (s *Shared) run(key string, r Rate, refund bool) (wait int64, clean, ok bool) {
	now := time.Now()
	if until := s.downUntil.Load(); until != 0 {
		if now.UnixNano() < until {
			return 0, false, false
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	interval := max(int64(r.Period/time.Millisecond)/int64(r.Burst), 1)
	flag := "0"
	if refund {
		flag = "1"
	}
	out, err := gcra.Run(ctx, s.rdb, []string{s.prefix + key}, interval, r.Burst, flag).Int64Slice()
	if err == nil && len(out) != 2 {
		err = redis.Nil
	}
	if err != nil {
		s.downUntil.Store(now.Add(time.Second).UnixNano())
		if n := now.Unix(); s.lastWarn.Swap(n) < n-10 {
			s.log.Warn("rate limit: Redis unavailable, limiting per node", "err", err)
		}
		return 0, false, false
	}
	if s.downUntil.Swap(0) != 0 {
		s.log.Info("rate limit: Redis answers again, limiting across nodes")
	}
	return out[0], out[1] == 1, true
}
