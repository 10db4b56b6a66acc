package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

const eventApproved = "artisan-request:approved"

// runFanout connects n PDG sockets (all with the one PDG token: the contract allows many sockets per user, and
// registering thousands of users would mostly measure password hashing), then approves cfg.FanoutEvents requests
// one after the other. For each approval it waits until every socket has received artisan-request:approved (or
// cfg.FanoutTimeout) and measures, per socket, the time from the start of the approve request to the receipt.
func runFanout(ctx context.Context, e *env, n int) error {
	key, label := fmt.Sprintf("fanout.%d", n), fmt.Sprintf("fan-out %d", n)
	k := e.cfg.FanoutEvents
	ids, err := e.s.setPending(ctx, k)
	if err != nil {
		return fmt.Errorf("setup %d pending: %w", k, err)
	}
	idx := make(map[int64]int, k)
	for i, id := range ids {
		idx[id] = i
	}

	base := time.Now()
	recv := make([]atomic.Int64, n*k) // ns since base, 0 = not received
	got := make([]atomic.Int64, k)
	done := make([]chan struct{}, k) // closed when every connected socket has event ev
	for ev := range done {
		done[ev] = make(chan struct{})
	}
	var want atomic.Int64
	var dup, foreign atomic.Int64
	onEvent := func(sock int, name, arg []byte) {
		if string(name) != eventApproved {
			return
		}
		id, ok := jsonInt(arg, "contact_id")
		ev, known := idx[id]
		if !ok || !known {
			foreign.Add(1)
			return
		}
		if recv[sock*k+ev].CompareAndSwap(0, int64(time.Since(base))+1) {
			if got[ev].Add(1) == want.Load() {
				close(done[ev])
			}
		} else {
			dup.Add(1)
		}
	}

	e.logf("%s: connecting %d sockets", label, n)
	t0 := time.Now()
	set := openSockets(ctx, e.sio, n, e.cfg.ConnectConc, e.s.pdgToken, onEvent)
	defer set.close()
	connectWall := time.Since(t0)
	e.res.check(key+".connect", set.failed.Load() == 0, "%d of %d sockets connected (%v)",
		set.connected.Load(), n, set.err())
	if set.connected.Load() == 0 {
		return fmt.Errorf("no socket connected: %v", set.err())
	}
	e.res.add(key+".connect_s", label+": time to connect all sockets", "s", connectWall.Seconds())
	sleepCtx(ctx, e.cfg.Settle)

	e.logf("%s: %d approvals", label, k)
	want.Store(set.connected.Load())
	start := make([]int64, k)
	var approveErr error
	m := startMeter(e.t)
	for ev, id := range ids {
		start[ev] = int64(time.Since(base))
		if _, err := e.s.api.decide(ctx, e.s.pdgToken, id, "approve"); err != nil && approveErr == nil {
			approveErr = err
		}
		select {
		case <-done[ev]:
		case <-time.After(e.cfg.FanoutTimeout):
		case <-ctx.Done():
		}
	}
	u := m.stop()
	sleepCtx(ctx, 200*time.Millisecond) // late duplicates

	lat := make([]time.Duration, 0, n*k)
	var lastSum, lastMax time.Duration
	for ev := range k {
		var last time.Duration
		for s := range n {
			if r := recv[s*k+ev].Load(); r != 0 {
				d := time.Duration(r - 1 - start[ev])
				lat = append(lat, d)
				last = max(last, d)
			}
		}
		lastSum += last
		lastMax = max(lastMax, last)
	}
	expected := int(set.connected.Load()) * k
	missed := expected - len(lat)
	s := summarize(lat)
	e.res.add(key+".p50", label+": approve -> receipt p50", "ms", ms(s.P50))
	e.res.add(key+".p99", label+": approve -> receipt p99", "ms", ms(s.P99))
	e.res.add(key+".max", label+": approve -> receipt max", "ms", ms(s.Max))
	e.res.add(key+".last", label+": time to last socket (mean of events)", "ms", ms(lastSum/time.Duration(k)))
	e.res.add(key+".missed", label+": missed deliveries", "count", float64(missed))
	if u.ServerOK {
		e.res.add(key+".cpu_event", label+": server CPU per event", "ms", ms(u.Server)/float64(k))
		e.res.add(key+".cpu_delivery", label+": server CPU per delivery", "us",
			us(u.Server)/float64(max(expected, 1)))
	}
	if u.DBOK {
		e.res.add(key+".db_cpu_event", label+": PostgreSQL CPU per event", "ms", ms(u.DB)/float64(k))
	}
	e.res.add(key+".bench_cores", label+": bench CPU", "cores", u.Bench.Seconds()/u.Wall.Seconds())
	e.res.check(key+".approve_200", approveErr == nil, "approve calls: %v", approveErr)
	e.res.check(key+".missed", missed == 0, "%d of %d deliveries missed", missed, expected)
	e.res.check(key+".at_most_once", dup.Load() == 0, "%d duplicate deliveries", dup.Load())
	e.res.check(key+".no_foreign", foreign.Load() == 0, "%d approved events for unknown requests", foreign.Load())
	e.res.check(key+".sockets_stay", set.dropped.Load() == 0, "%d sockets dropped (%v)", set.dropped.Load(), set.err())
	e.logf("%s: p50 %.1f ms, p99 %.1f ms, max %.1f ms, missed %d, server CPU/event %.2f ms",
		label, ms(s.P50), ms(s.P99), ms(s.Max), missed, ms(u.Server)/float64(k))
	return nil
}
