package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// decisionsSettle is how long the decisions scenario keeps measuring CPU after the last answer, so that the work a
// server does after answering (relaying the events, recording its progress) is counted with the decisions.
const decisionsSettle = 300 * time.Millisecond

// runDecisions runs a warm-up round, then cfg.DecisionsRounds measured rounds; each decides cfg.DecisionsN pending requests with cfg.DecisionsConc
// concurrent clients. Each request gets two conflicting calls (approve and reject) queued next to each other, so two
// clients race on it: exactly one must answer 200 and the other 409. Throughput and latency are over the calls of
// every round; CPU per call (server and PostgreSQL cluster) over every round's calls and settle, setup excluded.
func runDecisions(ctx context.Context, e *env) error {
	n, rounds := e.cfg.DecisionsN, max(e.cfg.DecisionsRounds, 1)
	hc := newHTTPClient(e.cfg.DecisionsConc)
	defer hc.CloseIdleConnections()
	a := &api{base: e.t.URL, hc: hc}
	var (
		total     usage
		busy      time.Duration // wall time from each round's first call to its last answer
		lat       []time.Duration
		oneWinner int
		bad       int
		badDetail string
	)
	total.ServerOK, total.DBOK = true, true
	for round := range rounds + 1 {
		r, err := decideRound(ctx, e, a, round)
		if err != nil {
			return err
		}
		if round == 0 {
			// The warm-up round: the server's database connections open (a pool grows to its size under
			// this load), its statements are prepared. Not measured; its checks count.
			oneWinner += r.oneWinner
			if bad += r.bad; badDetail == "" {
				badDetail = r.badDetail
			}
			continue
		}
		total.Wall += r.usage.Wall
		total.Server += r.usage.Server
		total.DB += r.usage.DB
		total.Bench += r.usage.Bench
		total.ServerOK = total.ServerOK && r.usage.ServerOK
		total.DBOK = total.DBOK && r.usage.DBOK
		busy += r.busy
		lat = append(lat, r.lat...)
		oneWinner += r.oneWinner
		if bad += r.bad; badDetail == "" {
			badDetail = r.badDetail
		}
	}
	calls := 2 * n * rounds
	s := summarize(lat)
	e.res.add("decisions.ops", "decisions: calls", "ops/s", perSecond(calls, busy))
	e.res.add("decisions.decided", "decisions: requests decided", "req/s", perSecond(n*rounds, busy))
	e.res.add("decisions.p50", "decisions: p50", "ms", ms(s.P50))
	e.res.add("decisions.p99", "decisions: p99", "ms", ms(s.P99))
	e.res.addUsage("decisions", "decisions", total, calls, "call", time.Microsecond)
	e.res.check("decisions.one_200", bad == 0,
		"%d of %d requests got exactly one 200 and one 409%s", oneWinner, n*(rounds+1), badDetail)
	after, err := e.s.api.count(ctx, e.s.pdgToken)
	e.res.check("decisions.none_pending", err == nil && after == 0, "pending after: %d (%v)", after, err)
	e.logf("decisions: %.0f calls/s, p99 %.2f ms, %d/%d one winner", perSecond(calls, busy), ms(s.P99), oneWinner, n*(rounds+1))
	return nil
}

// decisionRound is what one round of the decisions scenario measured.
type decisionRound struct {
	usage     usage // the calls and the settle after them
	busy      time.Duration
	lat       []time.Duration
	oneWinner int
	bad       int
	badDetail string
}

func decideRound(ctx context.Context, e *env, a *api, round int) (decisionRound, error) {
	n := e.cfg.DecisionsN
	ids, err := e.s.setPending(ctx, n)
	if err != nil {
		return decisionRound{}, fmt.Errorf("setup %d pending: %w", n, err)
	}
	e.logf("decisions round %d (0: warm-up): %d requests x 2 conflicting calls, %d clients", round, n, e.cfg.DecisionsConc)
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

	// Open the connections first so that the measurement does not include TCP setup.
	var warm sync.WaitGroup
	for range e.cfg.DecisionsConc {
		warm.Add(1)
		go func() { defer warm.Done(); _, _ = a.count(ctx, e.s.pdgToken) }()
	}
	warm.Wait()

	status := make([][2]int, n) // per request: the statuses of its two calls
	r := decisionRound{lat: make([]time.Duration, 2*n)}
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
				r.lat[2*j.idx+slot] = d
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	r.busy = time.Since(m.wall)
	sleepCtx(ctx, decisionsSettle)
	r.usage = m.stop()

	for i, st := range status {
		ok200 := (st[0] == 200) != (st[1] == 200)
		other := st[0]
		if st[0] == 200 {
			other = st[1]
		}
		if ok200 && other == 409 {
			r.oneWinner++
			continue
		}
		r.bad++
		if r.badDetail == "" {
			r.badDetail = fmt.Sprintf("; first bad: request %d answered %d and %d", ids[i], st[0], st[1])
		}
	}
	return r, nil
}
