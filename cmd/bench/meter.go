package main

import "time"

// meter measures wall time and the CPU used by the server, its database cluster and the bench itself over one
// phase of a scenario.
type meter struct {
	t            *Target
	wall         time.Time
	srv, db, own time.Duration
	srvOK, dbOK  bool
}

// usage is what a meter measured; the server and database figures are valid only if their OK flag is set.
type usage struct {
	Wall, Server, DB, Bench time.Duration
	ServerOK, DBOK          bool
}

func startMeter(t *Target) *meter {
	m := &meter{t: t, own: selfCPU()}
	if t.PID > 0 {
		m.srv, m.srvOK = cpuOf(processCPU, t.PID)
	}
	if t.DBPID > 0 {
		m.db, m.dbOK = cpuOf(treeCPU, t.DBPID)
	}
	m.wall = time.Now()
	return m
}

func cpuOf(f func(int) (time.Duration, error), pid int) (time.Duration, bool) {
	d, err := f(pid)
	return d, err == nil
}

func (m *meter) stop() usage {
	u := usage{Wall: time.Since(m.wall), Bench: selfCPU() - m.own}
	if m.srvOK {
		if d, ok := cpuOf(processCPU, m.t.PID); ok {
			u.Server, u.ServerOK = d-m.srv, true
		}
	}
	if m.dbOK {
		if d, ok := cpuOf(treeCPU, m.t.DBPID); ok {
			u.DB, u.DBOK = d-m.db, true
		}
	}
	return u
}

// addUsage records, for a phase that did `units` units of work, the server's and the database's CPU per unit (in
// unitScale: time.Microsecond or time.Millisecond) and the bench's CPU in cores.
func (r *TargetResult) addUsage(prefix, label string, u usage, units int, unitName string, unitScale time.Duration) {
	scale := map[time.Duration]string{time.Microsecond: "us", time.Millisecond: "ms"}[unitScale]
	if u.ServerOK && units > 0 {
		r.add(prefix+".cpu_"+unitName, label+": server CPU per "+unitName, scale,
			float64(u.Server)/float64(unitScale)/float64(units))
	}
	if u.DBOK && units > 0 {
		r.add(prefix+".db_cpu_"+unitName, label+": PostgreSQL CPU per "+unitName, scale,
			float64(u.DB)/float64(unitScale)/float64(units))
	}
	if u.Wall > 0 {
		r.add(prefix+".bench_cores", label+": bench CPU", "cores", u.Bench.Seconds()/u.Wall.Seconds())
	}
}
