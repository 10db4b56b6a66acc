package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// The soak scenario: cfg.SoakSockets sockets stay connected (cfg.SoakPDGShare of them with the PDG
// token, the rest spread over a few Client users, who must receive nothing) while registrations of
// Artisan/Promoteur users and decisions (approve and reject alternately) run at cfg.SoakRate operations per second
// for cfg.SoakDur. Every registered applicant connects its own socket right after its 201, so each decision is also
// checked on the applicant's socket. What every socket should receive is derived from the REST answers; at the end
// the bench waits until that many events arrived (or cfg.SoakDrain) and compares, socket by socket.

const (
	eventNew      = "artisan-request:new"
	eventRejected = "artisan-request:rejected"
	// soakRaceEvery: every n-th decision sends approve and reject at once (exactly one must answer 200, the other
	// 409, and only the winner's event may be delivered).
	soakRaceEvery = 10
	soakClients   = 20 // Client users holding the plain user sockets
)

// Event kinds in a receipt.
const (
	kindNew = iota + 1
	kindApproved
	kindRejected
)

func eventKind(name []byte) int {
	switch string(name) {
	case eventNew:
		return kindNew
	case eventApproved:
		return kindApproved
	case eventRejected:
		return kindRejected
	}
	return 0
}

var kindNames = [...]string{"", eventNew, eventApproved, eventRejected}

// soakKey identifies an event: its kind and its contact_id.
type soakKey struct {
	kind    int
	contact int64
}

// soakRecv is one event received by one socket: at (ns since the run's base time), kind, contact_id (-1: none).
type soakRecv struct {
	at  int64
	key soakKey
}

// Socket roles.
const (
	rolePDG = iota
	roleClient
	roleApplicant
)

// soakSock is one socket's receipts. Only its serve goroutine appends, and they are read after it ended.
type soakSock struct {
	role    int
	contact int64 // applicant: its contact id
	recv    []soakRecv
}

// applicant is an Artisan/Promoteur user registered by the soak.
type applicant struct {
	id      int64
	token   string
	hasSock bool // its socket connected (before any decision on it)
}

// soakRun is the scenario's shared state.
type soakRun struct {
	e    *env
	a    *api
	base time.Time

	received atomic.Int64 // events received on any socket (for the drain)
	expected atomic.Int64 // deliveries expected so far from the REST answers

	mu      sync.Mutex
	starts  map[soakKey]int64 // REST call start (ns since base) of each event that must be delivered
	appSock map[int64]bool    // applicants whose socket was connected when their decision was made
	pending []*applicant      // registered, socket connected, not yet decided
	socks   []*soakSock       // applicant sockets
	conns   []*sioConn        // applicant connections, for close
	nPDG    int64

	sockWG       sync.WaitGroup
	closing      atomic.Bool
	dropped      atomic.Int64
	appConnFail  atomic.Int64
	firstSockErr atomic.Value

	ops, regs, decs, races, raceBad atomic.Int64
	st5xx, stBad, transport         atomic.Int64
	shed                            atomic.Int64 // 503 with Retry-After, tried again
	noPending                       atomic.Int64
	firstBad                        atomic.Value
	maxQueue                        atomic.Int64 // ns a job waited for a worker
}

func (r *soakRun) now() int64 { return int64(time.Since(r.base)) }

// onEvent returns the event handler of socket s.
func (r *soakRun) onEvent(s *soakSock) func(name, arg []byte) {
	return func(name, arg []byte) {
		at := r.now()
		k := eventKind(name)
		id, ok := jsonInt(arg, "contact_id")
		if !ok {
			id = -1
		}
		s.recv = append(s.recv, soakRecv{at: at, key: soakKey{k, id}})
		r.received.Add(1)
	}
}

func (r *soakRun) bad(format string, args ...any) {
	r.firstBad.CompareAndSwap(nil, fmt.Sprintf(format, args...))
}

// status classifies an answer: ok is the expected success status; 409 is tolerated when allow409.
func (r *soakRun) status(what string, st int, err error, ok int, allow409 bool) {
	switch {
	case st >= 500:
		r.st5xx.Add(1)
		r.bad("%s: HTTP %d %v", what, st, err)
	case st == 0:
		r.transport.Add(1)
		r.bad("%s: %v", what, err)
	case st == ok || (allow409 && st == 409):
	default:
		r.stBad.Add(1)
		r.bad("%s: HTTP %d %v", what, st, err)
	}
}

// soakShedRetries is how many times a registration answered 503 with Retry-After is tried again.
const soakShedRetries = 3

// shedding reports whether an answer is the server's overload answer (503 with Retry-After: the
// password hasher's queue is full, nothing was written) and how long to wait before trying again.
func shedding(st int, err error) (time.Duration, bool) {
	var se *statusError
	if st != http.StatusServiceUnavailable || !errors.As(err, &se) || se.RetryAfter <= 0 {
		return 0, false
	}
	return min(se.RetryAfter, 5*time.Second), true
}

// registerRetrying registers a user, trying again (up to soakShedRetries times) after an overload
// answer, as a client would; attempt is called before each attempt.
func (r *soakRun) registerRetrying(ctx context.Context, email, typeCompte string, attempt func()) (authResponse, int, error) {
	for n := 0; ; n++ {
		if attempt != nil {
			attempt()
		}
		res, st, err := r.a.register(ctx, email, typeCompte)
		wait, shed := shedding(st, err)
		if !shed || n == soakShedRetries {
			return res, st, err
		}
		r.shed.Add(1)
		select { // plus up to half as long again, so that clients shed together do not all come back at once
		case <-ctx.Done():
			return res, st, err
		case <-time.After(wait + rand.N(wait/2+1)):
		}
	}
}

// register registers one applicant, then connects its socket and makes it decidable.
func (r *soakRun) register(ctx context.Context) {
	r.regs.Add(1)
	email := r.e.s.newEmail()
	var start int64
	res, st, err := r.registerRetrying(ctx, email, typeArtisan, func() { start = r.now() })
	r.status("register", st, err, 201, false)
	if st != 201 || err != nil {
		return
	}
	r.mu.Lock()
	r.starts[soakKey{kindNew, res.User.ID}] = start
	r.mu.Unlock()
	r.expected.Add(r.nPDG)
	r.addApplicant(ctx, &applicant{id: res.User.ID, token: res.Token})
}

// addApplicant connects the applicant's socket and queues it for a decision.
func (r *soakRun) addApplicant(ctx context.Context, ap *applicant) {
	s := &soakSock{role: roleApplicant, contact: ap.id}
	dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	c, err := r.e.sio.dial(dctx, ap.token)
	cancel()
	if err != nil {
		r.appConnFail.Add(1)
		r.firstSockErr.CompareAndSwap(nil, err.Error())
	} else {
		ap.hasSock = true
		r.sockWG.Add(1)
		go func() {
			defer r.sockWG.Done()
			connected := time.Now()
			err := c.serve(r.onEvent(s))
			if !r.closing.Load() {
				r.dropped.Add(1)
				msg := fmt.Sprintf("applicant socket of contact %d dropped %.1f s after it connected, %.1f s into the "+
					"scenario: %v", ap.id, time.Since(connected).Seconds(), time.Since(r.base).Seconds(), err)
				r.e.logf("soak: %s", msg)
				r.firstSockErr.CompareAndSwap(nil, msg)
			}
		}()
	}
	r.mu.Lock()
	if err == nil {
		r.socks = append(r.socks, s)
		r.conns = append(r.conns, c)
	}
	r.pending = append(r.pending, ap)
	r.mu.Unlock()
}

// decide decides the oldest pending applicant: approve or reject alternately; every soakRaceEvery-th decision
// sends both at once.
func (r *soakRun) decide(ctx context.Context, n int64) {
	// Registrations may lag (password hashing): wait up to 10 s for an applicant rather than skip the decision.
	r.mu.Lock()
	for wait := 0; len(r.pending) == 0; wait++ {
		r.mu.Unlock()
		if wait == 1000 || ctx.Err() != nil {
			r.noPending.Add(1)
			return
		}
		time.Sleep(10 * time.Millisecond)
		r.mu.Lock()
	}
	ap := r.pending[0]
	r.pending = r.pending[1:]
	r.mu.Unlock()
	r.decs.Add(1)
	actions := []string{"approve", "reject"}
	if n%2 == 1 {
		actions[0], actions[1] = actions[1], actions[0]
	}
	if n%soakRaceEvery != soakRaceEvery-1 {
		actions = actions[:1]
	} else {
		r.races.Add(1)
	}
	sts := make([]int, len(actions))
	var wg sync.WaitGroup
	for i, act := range actions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := r.now()
			st, err := r.a.decide(ctx, r.e.s.pdgToken, ap.id, act)
			sts[i] = st
			r.status(act, st, err, 200, len(actions) > 1)
			if st == 200 && err == nil {
				k := kindApproved
				if act == "reject" {
					k = kindRejected
				}
				r.mu.Lock()
				r.starts[soakKey{k, ap.id}] = start
				if ap.hasSock {
					r.appSock[ap.id] = true
				}
				r.mu.Unlock()
				want := r.nPDG
				if ap.hasSock {
					want++
				}
				r.expected.Add(want)
			}
		}()
	}
	wg.Wait()
	if len(sts) == 2 {
		if (sts[0] == 200) == (sts[1] == 200) || (sts[0] != 409 && sts[1] != 409) {
			r.raceBad.Add(1)
			r.bad("race on %d: HTTP %d and %d", ap.id, sts[0], sts[1])
		}
	}
}

// runSoak runs the scenario on one target.
func runSoak(ctx context.Context, e *env) error {
	cfg := e.cfg
	n, rate, dur := cfg.SoakSockets, cfg.SoakRate, cfg.SoakDur
	if rate <= 0 || dur <= 0 || n < 0 {
		return errors.New("soak: -soak-rate and -soak-dur must be positive")
	}
	nPDG := int(float64(n)*cfg.SoakPDGShare + 0.5)
	nClient := n - nPDG
	total := int(rate*dur.Seconds() + 0.5)
	hc := newHTTPClient(cfg.SoakConc + 16)
	defer hc.CloseIdleConnections()
	r := &soakRun{e: e, a: &api{base: e.t.URL, hc: hc}, base: time.Now(), starts: map[soakKey]int64{},
		appSock: map[int64]bool{}}

	// Client users for the plain user sockets.
	var clientTokens []string
	for i := 0; i < min(soakClients, nClient); i++ {
		res, _, err := r.registerRetrying(ctx, e.s.newEmail(), typeClient, nil)
		if err != nil {
			return fmt.Errorf("register Client user: %w", err)
		}
		clientTokens = append(clientTokens, res.Token)
	}
	// Applicants pending before the run (2 x rate: 4 s of decisions), each with its socket, so decisions start at once.
	seed := max(4, int(2*rate))
	e.logf("soak: %d pending applicants with sockets, %d Client users", seed, len(clientTokens))
	{
		var wg sync.WaitGroup
		var next atomic.Int64
		var firstErr atomic.Value
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(seed) && ctx.Err() == nil {
					res, _, err := r.registerRetrying(ctx, e.s.newEmail(), typeArtisan, nil)
					if err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					r.addApplicant(ctx, &applicant{id: res.User.ID, token: res.Token})
				}
			}()
		}
		wg.Wait()
		if err, _ := firstErr.Load().(error); err != nil {
			return fmt.Errorf("seed applicants: %w", err)
		}
	}

	// The steady sockets: PDG and Client.
	e.logf("soak: connecting %d PDG and %d Client sockets", nPDG, nClient)
	pdg := make([]*soakSock, nPDG)
	for i := range pdg {
		pdg[i] = &soakSock{role: rolePDG, recv: make([]soakRecv, 0, total+seed+16)}
	}
	cli := make([]*soakSock, nClient)
	for i := range cli {
		cli[i] = &soakSock{role: roleClient}
	}
	handlers := func(socks []*soakSock) func(i int, name, arg []byte) {
		h := make([]func(name, arg []byte), len(socks))
		for i, s := range socks {
			h[i] = r.onEvent(s)
		}
		return func(i int, name, arg []byte) { h[i](name, arg) }
	}
	t0 := time.Now()
	pdgSet := openSockets(ctx, e.sio, nPDG, cfg.ConnectConc, e.s.pdgToken, handlers(pdg))
	defer pdgSet.close()
	var cliSets []*socketSet
	for i, tok := range clientTokens {
		k := nClient / len(clientTokens)
		if i < nClient%len(clientTokens) {
			k++
		}
		off := 0
		for _, s := range cliSets {
			off += len(s.conns)
		}
		set := openSockets(ctx, e.sio, k, cfg.ConnectConc, tok, handlers(cli[off:off+k]))
		defer set.close()
		cliSets = append(cliSets, set)
	}
	connectWall := time.Since(t0)
	connFail := pdgSet.failed.Load()
	for _, s := range cliSets {
		connFail += s.failed.Load()
	}
	e.res.check("soak.connect", connFail == 0, "%d of %d sockets failed to connect (%v)", connFail, n, pdgSet.err())
	r.nPDG = pdgSet.connected.Load()
	if r.nPDG == 0 && nPDG > 0 {
		return fmt.Errorf("no PDG socket connected: %v", pdgSet.err())
	}
	e.res.add("soak.connect_s", "soak: time to connect the steady sockets", "s", connectWall.Seconds())
	sleepCtx(ctx, cfg.Settle)
	r.received.Store(0) // anything received so far is unexpected: the comparison below counts it

	// The run: a ticker hands operations to a worker pool, so a slow answer does not lower the rate.
	e.logf("soak: %d operations at %.0f/s for %v (%d workers)", total, rate, dur, cfg.SoakConc)
	type job struct {
		n  int64
		at time.Time
	}
	jobs := make(chan job, total)
	var wg sync.WaitGroup
	for range cfg.SoakConc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				w := int64(time.Since(j.at))
				for old := r.maxQueue.Load(); w > old && !r.maxQueue.CompareAndSwap(old, w); old = r.maxQueue.Load() {
				}
				r.ops.Add(1)
				if j.n%2 == 0 {
					r.register(ctx)
				} else {
					r.decide(ctx, j.n/2)
				}
			}
		}()
	}
	m := startMeter(e.t)
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	runStart := time.Now()
	for i := 0; i < total && ctx.Err() == nil; i++ {
		jobs <- job{int64(i), time.Now()}
		if i < total-1 {
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	opsWall := time.Since(runStart)

	// Drain: until every expected delivery arrived, or cfg.SoakDrain.
	drainStart := time.Now()
	for r.received.Load() < r.expected.Load() && time.Since(drainStart) < cfg.SoakDrain && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	drainWall := time.Since(drainStart)
	sleepCtx(ctx, 300*time.Millisecond) // late duplicates and strays
	u := m.stop()
	var rss int64
	if e.t.PID > 0 {
		rss, _ = processRSS(e.t.PID)
	}
	r.closing.Store(true)
	r.mu.Lock()
	for _, c := range r.conns {
		c.ws.Close()
	}
	r.mu.Unlock()
	pdgSet.close()
	for _, s := range cliSets {
		s.close()
	}
	r.sockWG.Wait()
	dropped := r.dropped.Load() + pdgSet.dropped.Load()
	for _, s := range cliSets {
		dropped += s.dropped.Load()
	}

	// Compare, socket by socket. A PDG socket must get every event with a start time (new, and the winning
	// decision); an applicant socket its own decision event; a Client socket nothing.
	var lat []time.Duration
	var expected, delivered, dup, unexpected int64
	var firstOdd string
	seen := map[soakKey]bool{}
	var decisionEvents, newEvents int64
	for k := range r.starts {
		if k.kind == kindNew {
			newEvents++
		} else {
			decisionEvents++
		}
	}
	check := func(s *soakSock) {
		clear(seen)
		for _, rc := range s.recv {
			start, known := r.starts[rc.key]
			want := false
			switch s.role {
			case rolePDG:
				want = known
			case roleApplicant:
				want = known && rc.key.kind != kindNew && rc.key.contact == s.contact
			}
			switch {
			case !want:
				unexpected++
				if firstOdd == "" {
					firstOdd = fmt.Sprintf("role %d socket got %s for contact %d", s.role, kindNames[rc.key.kind], rc.key.contact)
				}
			case seen[rc.key]:
				dup++
			default:
				seen[rc.key] = true
				delivered++
				lat = append(lat, time.Duration(rc.at-start))
			}
		}
	}
	for i, s := range pdg {
		if pdgSet.conns[i] != nil { // a socket that failed to connect expects nothing
			expected += int64(len(r.starts))
		}
		check(s)
	}
	for _, s := range cli {
		check(s)
	}
	for _, s := range r.socks {
		if r.appSock[s.contact] {
			expected++
		}
		check(s)
	}
	missed := expected - delivered
	sum := summarize(lat)

	ops := r.ops.Load()
	steady := r.nPDG
	for _, s := range cliSets {
		steady += s.connected.Load()
	}
	e.res.add("soak.sockets", "soak: steady sockets (PDG + Client)", "count", float64(steady))
	e.res.add("soak.sockets_pdg", "soak: PDG sockets", "count", float64(r.nPDG))
	e.res.add("soak.sockets_applicant", "soak: applicant sockets (connected after their registration)", "count", float64(len(r.socks)))
	e.res.add("soak.ops", "soak: operations", "count", float64(ops))
	e.res.add("soak.ops_rate", "soak: operations per second", "ops/s", perSecond(int(ops), opsWall))
	e.res.add("soak.registrations", "soak: registrations (201)", "count", float64(newEvents))
	e.res.add("soak.decisions", "soak: decisions (200)", "count", float64(decisionEvents))
	e.res.add("soak.races", "soak: decisions sent twice at once (approve + reject)", "count", float64(r.races.Load()))
	e.res.add("soak.expected", "soak: expected deliveries", "count", float64(expected))
	e.res.add("soak.delivered", "soak: delivered", "count", float64(delivered))
	e.res.add("soak.missed", "soak: missed deliveries", "count", float64(missed))
	e.res.add("soak.duplicated", "soak: duplicated deliveries", "count", float64(dup))
	e.res.add("soak.unexpected", "soak: unexpected deliveries", "count", float64(unexpected))
	e.res.add("soak.5xx", "soak: 5xx answers", "count", float64(r.st5xx.Load()))
	e.res.add("soak.shed", "soak: registrations answered 503 with Retry-After, then tried again", "count", float64(r.shed.Load()))
	e.res.add("soak.p50", "soak: REST call -> receipt p50", "ms", ms(sum.P50))
	e.res.add("soak.p99", "soak: REST call -> receipt p99", "ms", ms(sum.P99))
	e.res.add("soak.max", "soak: REST call -> receipt max", "ms", ms(sum.Max))
	e.res.add("soak.drain", "soak: wait for the last deliveries after the last operation", "ms", ms(drainWall))
	e.res.add("soak.queue_max", "soak: longest wait of an operation for a worker", "ms", float64(r.maxQueue.Load())/1e6)
	if u.ServerOK {
		e.res.add("soak.server_cores", "soak: server CPU", "cores", u.Server.Seconds()/u.Wall.Seconds())
	}
	if rss > 0 {
		e.res.add("soak.server_rss", "soak: server RSS at the end", "MB", float64(rss)/(1<<20))
	}
	if u.DBOK {
		e.res.add("soak.db_cores", "soak: PostgreSQL CPU", "cores", u.DB.Seconds()/u.Wall.Seconds())
	}
	e.res.add("soak.bench_cores", "soak: bench CPU", "cores", u.Bench.Seconds()/u.Wall.Seconds())

	bad, _ := r.firstBad.Load().(string)
	sockErr, _ := r.firstSockErr.Load().(string)
	if sockErr == "" && pdgSet.err() != nil {
		sockErr = pdgSet.err().Error()
	}
	e.res.check("soak.all_ops", ops == int64(total), "%d of %d operations run", ops, total)
	e.res.check("soak.no_5xx", r.st5xx.Load() == 0, "%d 5xx answers %s", r.st5xx.Load(), bad)
	e.res.check("soak.statuses", r.stBad.Load() == 0 && r.transport.Load() == 0,
		"%d unexpected statuses, %d transport errors %s", r.stBad.Load(), r.transport.Load(), bad)
	e.res.check("soak.races", r.raceBad.Load() == 0, "%d of %d races without exactly one 200 and one 409",
		r.raceBad.Load(), r.races.Load())
	e.res.check("soak.pending", r.noPending.Load() == 0, "%d decisions found nothing pending", r.noPending.Load())
	e.res.check("soak.missed", missed == 0, "%d of %d deliveries missed", missed, expected)
	e.res.check("soak.duplicated", dup == 0, "%d duplicated deliveries", dup)
	e.res.check("soak.unexpected", unexpected == 0, "%d unexpected deliveries %s", unexpected, firstOdd)
	e.res.check("soak.applicant_connect", r.appConnFail.Load() == 0, "%d applicant sockets failed to connect %s",
		r.appConnFail.Load(), sockErr)
	e.res.check("soak.sockets_stay", dropped == 0, "%d sockets dropped %s", dropped, sockErr)
	e.logf("soak: %d ops (%.1f/s), %d 5xx, %d shed and tried again; deliveries expected %d, delivered %d, missed %d, duplicated %d, "+
		"unexpected %d; p50 %.1f ms, p99 %.1f ms, max %.1f ms; server %.2f cores, RSS %d MB",
		ops, perSecond(int(ops), opsWall), r.st5xx.Load(), r.shed.Load(), expected, delivered, missed, dup, unexpected,
		ms(sum.P50), ms(sum.P99), ms(sum.Max), u.Server.Seconds()/u.Wall.Seconds(), rss>>20)
	return nil
}
