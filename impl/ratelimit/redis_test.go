package ratelimit_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/redis/go-redis/v9"

	"artisan-notify/impl/ratelimit"
	"artisan-notify/impl/testredis"
)

func TestSharedLimitAcrossNodes(t *testing.T) {
	srv := testredis.Start(t)
	opts, _ := redis.ParseURL(srv.URL)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Two nodes, each with its own client, share one budget of 3 attempts a minute.
	nodeA := ratelimit.NewShared(redis.NewClient(opts), 3, log)
	nodeB := ratelimit.NewShared(redis.NewClient(opts), 3, log)
	for i, l := range []*ratelimit.Shared{nodeA, nodeB, nodeA} {
		if ok, _ := l.Allow("ip:1.2.3.4"); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	ok, wait := nodeB.Allow("ip:1.2.3.4")
	if ok || wait <= 0 || wait > 20_000_000_000 {
		t.Fatalf("4th attempt: allowed=%v wait=%v, want refused with a wait of at most 20 s", ok, wait)
	}
	if ok, _ := nodeB.Allow("ip:5.6.7.8"); !ok {
		t.Fatal("another key was refused")
	}

	// Redis goes away: each node limits on its own, never failing open for ever.
	srv.Stop()
	allowed := 0
	for range 10 {
		if ok, _ := nodeA.Allow("account:x@example.com"); ok {
			allowed++
		}
	}
	if allowed != 3 {
		t.Fatalf("without Redis, %d of 10 attempts allowed, want the per-node limit of 3", allowed)
	}
}

func TestSharedZeroIsOff(t *testing.T) {
	l := ratelimit.NewShared(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for range 100 {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatal("limit 0 refused an attempt")
		}
	}
}
