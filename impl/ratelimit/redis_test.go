package ratelimit_test

import (
	"context"
	"io"
	"log/slog"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/artisan-notify/artisan-notify/impl/ratelimit"
	"github.com/artisan-notify/artisan-notify/impl/testredis"
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

// restart runs redis-server again on port (after testredis.Server.Stop), until the test ends.
func restart(t *testing.T, port int) {
	t.Helper()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	defer rdb.Close()
	for deadline := time.Now().Add(10 * time.Second); rdb.Ping(context.Background()).Err() != nil; {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not answer in 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSharedTakeRefundClean(t *testing.T) {
	srv := testredis.Start(t)
	opts, _ := redis.ParseURL(srv.URL)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	nodeA := ratelimit.NewShared(redis.NewClient(opts), 10, log)
	nodeB := ratelimit.NewShared(redis.NewClient(opts), 10, log)
	pair := ratelimit.Rate{Burst: 2, Period: 10 * time.Minute}
	if res := nodeA.Take("pair", pair); !res.Allowed || !res.Clean {
		t.Fatalf("first take: %+v, want allowed and clean", res)
	}
	if res := nodeB.Take("pair", pair); !res.Allowed || res.Clean {
		t.Fatalf("second take on the other node: %+v, want allowed, not clean", res)
	}
	res := nodeA.Take("pair", pair)
	if res.Allowed || res.Wait < 290*time.Second || res.Wait > 300*time.Second {
		t.Fatalf("third take: %+v, want refused for about 300 s", res)
	}
	nodeB.Refund("pair", pair)
	if res := nodeA.Take("pair", pair); !res.Allowed {
		t.Fatalf("after a refund on the other node: %+v, want allowed", res)
	}
	nodeA.Refund("pair", pair)
	nodeA.Refund("pair", pair)
	if res := nodeB.Take("pair", pair); !res.Clean {
		t.Fatalf("after everything was refunded: %+v, want clean", res)
	}
}

func TestSharedFallsBackThenSharesAgain(t *testing.T) {
	srv := testredis.Start(t)
	opts, _ := redis.ParseURL(srv.URL)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	nodeA := ratelimit.NewShared(redis.NewClient(opts), 3, log)
	nodeB := ratelimit.NewShared(redis.NewClient(opts), 3, log)
	srv.Stop()
	for i := range 3 {
		if ok, _ := nodeA.Allow("k"); !ok {
			t.Fatalf("without Redis, attempt %d refused", i+1)
		}
	}
	if ok, _ := nodeA.Allow("k"); ok {
		t.Fatal("without Redis, the node did not limit on its own")
	}
	restart(t, srv.Port)
	time.Sleep(1100 * time.Millisecond) // the nodes try Redis again a second after it failed
	// Shared again: a fresh budget of 3 in Redis, spent by both nodes together.
	allowed := 0
	for _, l := range []*ratelimit.Shared{nodeA, nodeB, nodeA, nodeB, nodeA, nodeB} {
		if ok, _ := l.Allow("shared"); ok {
			allowed++
		}
	}
	if allowed != 3 {
		t.Fatalf("after Redis came back, %d of 6 attempts across two nodes allowed, want 3", allowed)
	}
}
