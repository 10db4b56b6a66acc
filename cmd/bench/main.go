// Command bench measures servers that speak the wire contract (openapi.yaml and asyncapi.yaml: REST + Socket.IO) one
// after the other, on the same machine, and prints one side-by-side markdown table with the ratios ours/theirs and
// the performance targets. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	Targets         []Target
	Ours, Theirs    string
	Scenarios       map[string]bool
	RESTConns       int
	RESTDur         time.Duration
	RESTWarmup      time.Duration
	RESTPending     int
	DecisionsN      int
	DecisionsConc   int
	DecisionsRounds int
	RegisterConc    int
	RegisterDur     time.Duration
	FanoutSizes     []int
	FanoutEvents    int
	FanoutTimeout   time.Duration
	CapacityN       int
	CapacitySettle  time.Duration
	CapacityRest    time.Duration
	ConnectConc     int
	Settle          time.Duration
	SoakSockets     int
	SoakPDGShare    float64
	SoakRate        float64
	SoakDur         time.Duration
	SoakDrain       time.Duration
	SoakConc        int
	JSON            string
	Smoke           bool
}

// scenarioOrder is the order scenarios run in: capacity first, while the server process is fresh.
var scenarioOrder = []string{"capacity", "register", "rest", "decisions", "fanout", "soak"}

// defaultScenarios run without -scenarios: all but the soak, which is a test rather than a comparison.
var defaultScenarios = []string{"capacity", "register", "rest", "decisions", "fanout"}

type targetsFlag []Target

func (f *targetsFlag) String() string { return fmt.Sprint(len(*f), " targets") }
func (f *targetsFlag) Set(s string) error {
	t, err := parseTarget(s)
	if err != nil {
		return err
	}
	*f = append(*f, t)
	return nil
}

// parseFlags parses args into a config. It returns an error for bad flags, no target, an unknown scenario or
// duplicate target names.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var targets targetsFlag
	c := &config{}
	fs.Var(&targets, "target", "server under test, repeatable: name=URL,pid=PID,grant='CMD {email}'"+
		"[,start='CMD'][,env=FILE][,db=URL][,dbpid=PID][,hash=LABEL]")
	fs.StringVar(&c.Ours, "ours", "", "target whose figures are the numerator of the ratios (default: the first)")
	fs.StringVar(&c.Theirs, "theirs", "", "target whose figures are the denominator (default: the second)")
	scen := fs.String("scenarios", strings.Join(defaultScenarios, ","), "scenarios to run (always in the order "+
		strings.Join(scenarioOrder, ",")+")")
	fs.IntVar(&c.RESTConns, "rest-conns", 64, "REST read: keep-alive connections")
	fs.DurationVar(&c.RESTDur, "rest-dur", 10*time.Second, "REST read: measured duration per endpoint")
	fs.DurationVar(&c.RESTWarmup, "rest-warmup", time.Second, "REST read: unmeasured warm-up per endpoint")
	fs.IntVar(&c.RESTPending, "rest-pending", 50, "REST read: pending requests during the run (list size)")
	fs.IntVar(&c.DecisionsN, "decisions-n", 200, "decisions: pending requests to decide (max 200)")
	fs.IntVar(&c.DecisionsConc, "decisions-conc", 64, "decisions: concurrent clients")
	fs.IntVar(&c.DecisionsRounds, "decisions-rounds", 3, "decisions: rounds of -decisions-n requests, measured together")
	fs.IntVar(&c.RegisterConc, "register-conc", 8, "registration: concurrent clients")
	fs.DurationVar(&c.RegisterDur, "register-dur", 10*time.Second, "registration: duration")
	sizes := fs.String("fanout-sizes", "2000,10000", "fan-out: PDG socket counts, one run each")
	fs.IntVar(&c.FanoutEvents, "fanout-events", 20, "fan-out: approvals per run (max 200)")
	fs.DurationVar(&c.FanoutTimeout, "fanout-timeout", 30*time.Second, "fan-out: wait for every socket per event")
	fs.IntVar(&c.CapacityN, "capacity-n", 10000, "capacity: idle sockets")
	fs.DurationVar(&c.CapacitySettle, "capacity-settle", 3*time.Second, "capacity: wait before reading RSS")
	fs.DurationVar(&c.CapacityRest, "capacity-rest", 30*time.Second,
		"capacity: then measure the server's CPU with the sockets idle this long (heartbeats; 0: skip)")
	fs.IntVar(&c.ConnectConc, "connect-conc", 64, "socket handshakes in flight")
	fs.DurationVar(&c.Settle, "settle", time.Second, "pause after connecting sockets, before measuring")
	fs.IntVar(&c.SoakSockets, "soak-sockets", 5000, "soak: sockets connected for the whole run (PDG and Client users; "+
		"each applicant adds its own)")
	fs.Float64Var(&c.SoakPDGShare, "soak-pdg-share", 0.8, "soak: share of -soak-sockets with the PDG token")
	fs.Float64Var(&c.SoakRate, "soak-rate", 50, "soak: operations per second (half registrations, half decisions)")
	fs.DurationVar(&c.SoakDur, "soak-dur", 60*time.Second, "soak: duration of the operations")
	fs.DurationVar(&c.SoakDrain, "soak-drain", 10*time.Second, "soak: wait for the expected deliveries after the run")
	fs.IntVar(&c.SoakConc, "soak-conc", 64, "soak: workers running the operations")
	fs.StringVar(&c.JSON, "json", "", "also write the results as JSON to this file")
	fs.BoolVar(&c.Smoke, "smoke", false, "tiny sizes (1 s, 20 sockets), correctness checks only: for CI")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.Smoke {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]string{
			"rest-dur": "1s", "rest-warmup": "200ms", "rest-pending": "10", "rest-conns": "8",
			"decisions-n": "20", "decisions-conc": "8", "decisions-rounds": "1", "register-dur": "1s", "fanout-sizes": "20",
			"fanout-events": "3", "fanout-timeout": "10s", "capacity-n": "20", "capacity-settle": "200ms", "capacity-rest": "0s",
			"settle": "200ms", "soak-sockets": "50", "soak-rate": "10", "soak-dur": "3s",
		} {
			if !set[name] {
				if err := fs.Set(name, v); err != nil {
					return nil, err
				}
			}
		}
	}
	c.Targets = targets
	if len(c.Targets) == 0 {
		return nil, errors.New("no -target given")
	}
	names := map[string]bool{}
	for _, t := range c.Targets {
		if names[t.Name] {
			return nil, fmt.Errorf("two targets named %q", t.Name)
		}
		names[t.Name] = true
	}
	if c.Ours == "" {
		c.Ours = c.Targets[0].Name
	}
	if c.Theirs == "" {
		c.Theirs = c.Targets[min(1, len(c.Targets)-1)].Name
	}
	if !names[c.Ours] || !names[c.Theirs] {
		return nil, fmt.Errorf("-ours %q / -theirs %q: no such target", c.Ours, c.Theirs)
	}
	c.Scenarios = map[string]bool{}
	for _, s := range strings.Split(*scen, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !contains(scenarioOrder, s) {
			return nil, fmt.Errorf("unknown scenario %q (have %s)", s, strings.Join(scenarioOrder, ","))
		}
		c.Scenarios[s] = true
	}
	for _, s := range strings.Split(*sizes, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-fanout-sizes: bad size %q", s)
		}
		c.FanoutSizes = append(c.FanoutSizes, n)
	}
	if c.SoakPDGShare < 0 || c.SoakPDGShare > 1 || c.SoakConc < 1 {
		return nil, errors.New("-soak-pdg-share must be in [0, 1] and -soak-conc at least 1")
	}
	if c.DecisionsN > maxList || c.FanoutEvents > maxList || c.RESTPending > maxList {
		return nil, fmt.Errorf("-decisions-n, -fanout-events and -rest-pending are at most %d", maxList)
	}
	return c, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// env is what a scenario works with on one target.
type env struct {
	cfg  *config
	t    *Target
	s    *session
	res  *TargetResult
	sio  *sioDialer
	logw io.Writer
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.logw, "%s [%s] %s\n", time.Now().Format("15:04:05"), e.t.Name, fmt.Sprintf(format, args...))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	limit, err := raiseFileLimit()
	if err != nil {
		return fmt.Errorf("raise open-file limit: %w", err)
	}
	need := cfg.CapacityN
	for _, n := range cfg.FanoutSizes {
		need = max(need, n)
	}
	if cfg.Scenarios["soak"] { // the steady sockets, one per applicant, and the decisions' connections
		need = max(need, cfg.SoakSockets+int(cfg.SoakRate*cfg.SoakDur.Seconds())/2+int(2*cfg.SoakRate)+2*cfg.SoakConc)
	}
	if need+cfg.RESTConns+cfg.DecisionsConc+256 > int(limit) {
		return fmt.Errorf("%d sockets need more open files than the limit %d (ulimit -n)", need, limit)
	}
	rep := &Report{Machine: machine(), Started: time.Now(), Command: strings.Join(os.Args, " "),
		Ours: cfg.Ours, Theirs: cfg.Theirs}
	for i := range cfg.Targets {
		if ctx.Err() != nil {
			break
		}
		rep.Load = append(rep.Load, loadAverage())
		rep.Targets = append(rep.Targets, runTarget(ctx, cfg, &cfg.Targets[i], stderr))
	}
	fmt.Fprintln(stdout)
	rep.Markdown(stdout)
	if cfg.JSON != "" {
		if err := rep.writeJSON(cfg.JSON); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, t := range rep.Targets {
		if len(t.failed()) > 0 {
			return errors.New("correctness checks failed")
		}
	}
	return nil
}

// runTarget runs the selected scenarios on t and returns what it measured; a scenario's error becomes a failed
// check and the next scenario still runs.
func runTarget(ctx context.Context, cfg *config, t *Target, logw io.Writer) *TargetResult {
	res := &TargetResult{Name: t.Name, URL: t.URL}
	e := &env{cfg: cfg, t: t, res: res, logw: logw}
	if t.Start != "" {
		logf, err := os.CreateTemp("", "bench-"+t.Name+"-*.log") // one per run: benches running at once keep theirs
		if err != nil {
			res.check("start", false, "server log: %v", err)
			return res
		}
		e.logf("starting: %s (log %s)", t.Start, logf.Name())
		if err := t.startServer(ctx, logf); err != nil {
			res.check("start", false, "%v", err)
			t.stopServer()
			return res
		}
		defer t.stopServer()
	}
	if t.PID > 0 {
		t.PID = resolveServerPID(t.PID)
		e.logf("server pid %d (%s)", t.PID, processComm(t.PID))
	} else {
		e.logf("no pid: server CPU and RSS are not measured")
	}
	res.PID = t.PID
	sio, err := newSIODialer(t.URL)
	if err != nil {
		res.check("setup", false, "%v", err)
		return res
	}
	e.sio = sio
	e.s = &session{t: t, api: &api{base: t.URL, hc: newHTTPClient(0)},
		runID: strconv.FormatInt(time.Now().UnixNano(), 36)}
	defer e.s.api.hc.CloseIdleConnections()
	if err := e.s.setupPDG(ctx); err != nil {
		res.check("setup", false, "%v", err)
		return res
	}
	contractChecks(ctx, e)
	for _, name := range scenarioOrder {
		if !cfg.Scenarios[name] || ctx.Err() != nil {
			continue
		}
		var err error
		switch name {
		case "capacity":
			err = runCapacity(ctx, e)
		case "register":
			err = runRegister(ctx, e)
		case "rest":
			err = runREST(ctx, e)
		case "decisions":
			err = runDecisions(ctx, e)
		case "soak":
			err = runSoak(ctx, e)
		case "fanout":
			for _, n := range cfg.FanoutSizes {
				if err = runFanout(ctx, e, n); err != nil {
					break
				}
			}
		}
		if err != nil {
			e.logf("%s: %v", name, err)
			res.check(name+".run", false, "%v", err)
		}
	}
	return res
}

// contractChecks verifies the authentication rules the scenarios rely on: no token is 401 on REST and
// connect_error "unauthorized" on Socket.IO, and the PDG token connects.
func contractChecks(ctx context.Context, e *env) {
	st, _ := e.s.api.get(ctx, "/api/users/me", "")
	e.res.check("contract.me_401", st == 401, "GET /api/users/me without token: HTTP %d", st)
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := e.sio.dial(dctx, "not-a-token")
	if c != nil {
		c.ws.Close()
	}
	e.res.check("contract.socket_unauthorized", errors.Is(err, errUnauthorized), "bad token: %v", err)
	c, err = e.sio.dial(dctx, e.s.pdgToken)
	if c != nil {
		c.ws.Close()
	}
	e.res.check("contract.socket_connect", err == nil, "PDG token: %v", err)
}
