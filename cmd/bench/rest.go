package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// runREST measures the two read endpoints with cfg.RESTConns keep-alive connections, each for a warm-up and then
// cfg.RESTDur, with exactly cfg.RESTPending pending requests.
func runREST(ctx context.Context, e *env) error {
	if _, err := e.s.setPending(ctx, e.cfg.RESTPending); err != nil {
		return fmt.Errorf("setup %d pending: %w", e.cfg.RESTPending, err)
	}
	l, err := e.s.api.list(ctx, e.s.pdgToken, maxList)
	if err != nil {
		return err
	}
	e.res.check("rest.list.shape", l.Count == e.cfg.RESTPending && len(l.Requests) == e.cfg.RESTPending,
		"list returned count %d, %d items, want %d", l.Count, len(l.Requests), e.cfg.RESTPending)
	for _, ep := range []struct{ name, path string }{{"count", pathCount}, {"list", pathList}} {
		if err := restLoad(ctx, e, "rest."+ep.name, "REST "+ep.name, ep.path); err != nil {
			return err
		}
	}
	return nil
}

func restLoad(ctx context.Context, e *env, key, label, path string) error {
	hc := newHTTPClient(e.cfg.RESTConns)
	defer hc.CloseIdleConnections()
	a := &api{base: e.t.URL, hc: hc}
	e.logf("%s: %d connections, %v warm-up + %v", label, e.cfg.RESTConns, e.cfg.RESTWarmup, e.cfg.RESTDur)

	var measuring atomic.Bool
	var non2xx, errs atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, e.cfg.RESTConns)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for w := range e.cfg.RESTConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 4096)
			for lctx.Err() == nil {
				t0 := time.Now()
				st, err := a.get(lctx, path, e.s.pdgToken)
				d := time.Since(t0)
				if lctx.Err() != nil {
					break
				}
				if !measuring.Load() {
					continue
				}
				switch {
				case st != 0 && st/100 != 2:
					non2xx.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				case err != nil:
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				default:
					mine = append(mine, d)
				}
			}
			lat[w] = mine
		}()
	}
	if !sleepCtx(ctx, e.cfg.RESTWarmup) {
		return ctx.Err()
	}
	m := startMeter(e.t)
	measuring.Store(true)
	sleepCtx(ctx, e.cfg.RESTDur)
	measuring.Store(false)
	u := m.stop()
	cancel()
	wg.Wait()

	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	s := summarize(all)
	e.res.add(key+".rps", label+": throughput", "req/s", perSecond(s.N, u.Wall))
	e.res.add(key+".p50", label+": p50", "ms", ms(s.P50))
	e.res.add(key+".p99", label+": p99", "ms", ms(s.P99))
	e.res.addUsage(key, label, u, s.N, "request", time.Microsecond)
	detail, _ := firstErr.Load().(string)
	e.res.check(key+".2xx", non2xx.Load() == 0 && errs.Load() == 0 && s.N > 0,
		"%d ok, %d non-2xx, %d errors %s", s.N, non2xx.Load(), errs.Load(), detail)
	e.logf("%s: %.0f req/s, p50 %.2f ms, p99 %.2f ms", label, perSecond(s.N, u.Wall), ms(s.P50), ms(s.P99))
	return nil
}

// sleepCtx sleeps for d; it returns false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
