package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// runDecisions decides cfg.DecisionsN pending requests with cfg.DecisionsConc concurrent clients. Each request gets
// two conflicting calls (approve and reject) queued next to each other, so two clients race on it: exactly one
// must answer 200 and the other 409.
func runDecisions(ctx context.Context, e *env) error {
	n := e.cfg.DecisionsN
	ids, err := e.s.setPending(ctx, n)
	if err != nil {
		return fmt.Errorf("setup %d pending: %w", n, err)
	}
	e.logf("decisions: %d requests x 2 conflicting calls, %d clients", n, e.cfg.DecisionsConc)
	type job struct {
		idx    int
		action string
	}
	jobs := make(chan job, 2*n)
	for i := range ids {
		first, second := "approve", "reject"
		if i%2 == 1 {
			first, second = second, first
		}
		jobs <- job{i, first}
		jobs <- job{i, second}
	}
	close(jobs)

	hc := newHTTPClient(e.cfg.DecisionsConc)
	defer hc.CloseIdleConnections()
	a := &api{base: e.t.URL, hc: hc}
	// Open the connections first so that the measurement does not include TCP setup.
	var warm sync.WaitGroup
	for range e.cfg.DecisionsConc {
		warm.Add(1)
		go func() { defer warm.Done(); _, _ = a.count(ctx, e.s.pdgToken) }()
	}
	warm.Wait()

	status := make([][2]int, n) // per request: the statuses of its two calls
	lat := make([]time.Duration, 2*n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	m := startMeter(e.t)
	for range e.cfg.DecisionsConc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				t0 := time.Now()
				st, _ := a.decide(ctx, e.s.pdgToken, ids[j.idx], j.action)
				d := time.Since(t0)
				mu.Lock()
				slot := 0
				if status[j.idx][0] != 0 {
					slot = 1
				}
				status[j.idx][slot] = st
				lat[2*j.idx+slot] = d
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	u := m.stop()

	oneWinner, bad := 0, 0
	var badDetail string
	for i, st := range status {
		ok200 := (st[0] == 200) != (st[1] == 200)
		other := st[0]
		if st[0] == 200 {
			other = st[1]
		}
		if ok200 && other == 409 {
			oneWinner++
			continue
		}
		bad++
		if badDetail == "" {
			badDetail = fmt.Sprintf("; first bad: request %d answered %d and %d", ids[i], st[0], st[1])
		}
	}
	s := summarize(lat)
	e.res.add("decisions.ops", "decisions: calls", "ops/s", perSecond(2*n, u.Wall))
	e.res.add("decisions.decided", "decisions: requests decided", "req/s", perSecond(n, u.Wall))
	e.res.add("decisions.p50", "decisions: p50", "ms", ms(s.P50))
	e.res.add("decisions.p99", "decisions: p99", "ms", ms(s.P99))
	e.res.addUsage("decisions", "decisions", u, 2*n, "call", time.Microsecond)
	e.res.check("decisions.one_200", bad == 0,
		"%d of %d requests got exactly one 200 and one 409%s", oneWinner, n, badDetail)
	after, err := e.s.api.count(ctx, e.s.pdgToken)
	e.res.check("decisions.none_pending", err == nil && after == 0, "pending after: %d (%v)", after, err)
	e.logf("decisions: %.0f calls/s, p99 %.2f ms, %d/%d one winner", perSecond(2*n, u.Wall), ms(s.P99), oneWinner, n)
	return nil
}
