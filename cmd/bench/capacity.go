package main

import (
	"context"
	"fmt"
	"time"
)

// runCapacity connects cfg.CapacityN idle authenticated sockets (PDG token) and reports the server's RSS growth
// per socket (after cfg.CapacitySettle), its CPU per connect and the connect rate. Run it first, on a fresh server
// process: runtimes keep their heap after a peak.
func runCapacity(ctx context.Context, e *env) error {
	n := e.cfg.CapacityN
	rss0, rssErr := processRSS(e.t.PID)
	e.logf("capacity: connecting %d idle sockets", n)
	m := startMeter(e.t)
	set := openSockets(ctx, e.sio, n, e.cfg.ConnectConc, e.s.pdgToken, nil)
	defer set.close()
	u := m.stop()
	ok := set.connected.Load()
	e.res.check("capacity.connect", set.failed.Load() == 0, "%d of %d sockets connected (%v)", ok, n, set.err())
	if ok == 0 {
		return fmt.Errorf("no socket connected: %v", set.err())
	}
	e.res.add("capacity.connects_s", "capacity: connects", "conn/s", perSecond(int(ok), u.Wall))
	if u.ServerOK {
		e.res.add("capacity.cpu_connect", "capacity: server CPU per connect", "us", us(u.Server)/float64(ok))
	}
	if u.DBOK {
		e.res.add("capacity.db_cpu_connect", "capacity: PostgreSQL CPU per connect", "us", us(u.DB)/float64(ok))
	}
	e.res.add("capacity.bench_cores", "capacity: bench CPU while connecting", "cores", u.Bench.Seconds()/u.Wall.Seconds())
	sleepCtx(ctx, e.cfg.CapacitySettle)
	rss1, err := processRSS(e.t.PID)
	if rssErr == nil && err == nil {
		e.res.add("capacity.rss_socket", fmt.Sprintf("capacity: RSS per idle socket (after %v)", e.cfg.CapacitySettle),
			"KB", float64(rss1-rss0)/1024/float64(ok))
		e.res.add("capacity.rss_total", fmt.Sprintf("capacity: server RSS with %d sockets", ok), "MB",
			float64(rss1)/(1<<20))
	}
	if rest := e.cfg.CapacityRest; rest > 0 {
		// The sockets only answer the server's pings meanwhile (every 25 s by default).
		m := startMeter(e.t)
		sleepCtx(ctx, rest)
		if u := m.stop(); u.ServerOK && u.Wall > 0 {
			e.res.add("capacity.rest_cores", fmt.Sprintf("capacity: server CPU at rest over %v", rest), "cores",
				u.Server.Seconds()/u.Wall.Seconds())
			e.res.add("capacity.rest_socket", "capacity: server CPU at rest per socket", "us/s",
				float64(u.Server)/float64(time.Microsecond)/u.Wall.Seconds()/float64(ok))
		}
	}
	e.res.check("capacity.sockets_stay", set.dropped.Load() == 0, "%d sockets dropped (%v)", set.dropped.Load(), set.err())
	e.logf("capacity: %d sockets in %v, RSS %.1f -> %.1f MB", ok, u.Wall.Round(time.Millisecond),
		float64(rss0)/(1<<20), float64(rss1)/(1<<20))
	return nil
}
