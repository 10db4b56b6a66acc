package ratelimit

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcra is the generic cell rate algorithm, atomically in Redis, on Redis's clock: perMinute
// attempts per key per minute, in bursts of at most perMinute. It returns 0 when the attempt
// is allowed, else the milliseconds until one is.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2]) * interval
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > burst then
  return new_tat - now - burst
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now))
return 0
`)

// Shared is a Limiter shared by every server node through Redis, so that a client cannot
// multiply its attempts by the number of nodes. When Redis does not answer within a few
// milliseconds it falls back to a per-node limit (Local), so an outage of Redis never blocks
// logins and never lifts the limit.
type Shared struct {
	rdb       redis.UniversalClient
	prefix    string
	perMinute int
	local     *Limiter
	log       *slog.Logger
	lastWarn  atomic.Int64
	timeout   time.Duration
}

// NewShared returns a Redis-backed limiter of perMinute attempts per key per minute.
func NewShared(rdb redis.UniversalClient, perMinute int, log *slog.Logger) *Shared {
	return &Shared{rdb: rdb, prefix: "artisan-notify:ratelimit:", perMinute: perMinute,
		local: New(perMinute, nil), log: log, timeout: 100 * time.Millisecond}
}

// Allow takes one attempt for key; when none is left it returns false and how long to wait.
func (s *Shared) Allow(key string) (bool, time.Duration) {
	if s.perMinute <= 0 {
		return true, 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	interval := 60_000 / s.perMinute
	wait, err := gcra.Run(ctx, s.rdb, []string{s.prefix + key}, interval, s.perMinute).Int64()
	if err != nil {
		if now := time.Now().Unix(); s.lastWarn.Swap(now) < now-10 {
			s.log.Warn("rate limit: Redis unavailable, limiting per node", "err", err)
		}
		return s.local.Allow(key)
	}
	if wait > 0 {
		return false, time.Duration(wait) * time.Millisecond
	}
	return true, 0
}
