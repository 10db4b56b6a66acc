package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// runRegister registers Client users with cfg.RegisterConc concurrent clients for cfg.RegisterDur and reports
// users/s and the password hashing parameters.
func runRegister(ctx context.Context, e *env) error {
	conc := e.cfg.RegisterConc
	hc := newHTTPClient(conc)
	defer hc.CloseIdleConnections()
	a := &api{base: e.t.URL, hc: hc}
	e.logf("register: %d clients for %v", conc, e.cfg.RegisterDur)
	lctx, cancel := context.WithTimeout(ctx, e.cfg.RegisterDur)
	defer cancel()
	var failed atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, conc)
	var lastEmail atomic.Value
	var wg sync.WaitGroup
	m := startMeter(e.t)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lctx.Err() == nil {
				email := e.s.newEmail()
				t0 := time.Now()
				_, st, err := a.register(ctx, email, typeClient) // the last call may finish after the deadline
				d := time.Since(t0)
				if err != nil || st != 201 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("HTTP %d %v", st, err))
					continue
				}
				lat[w] = append(lat[w], d)
				lastEmail.Store(email)
			}
		}()
	}
	wg.Wait()
	u := m.stop()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	s := summarize(all)
	e.res.add("register.ups", "registration: throughput", "users/s", perSecond(s.N, u.Wall))
	e.res.add("register.p50", "registration: p50", "ms", ms(s.P50))
	e.res.add("register.p99", "registration: p99", "ms", ms(s.P99))
	e.res.addUsage("register", "registration", u, s.N, "user", time.Millisecond)
	detail, _ := firstErr.Load().(string)
	e.res.check("register.201", failed.Load() == 0 && s.N > 0, "%d created, %d failed %s", s.N, failed.Load(), detail)
	hash := e.t.Hash
	if email, ok := lastEmail.Load().(string); ok && hash == "" {
		hash = storedHashParams(ctx, e.t.DBURL, email)
	}
	if hash != "" {
		e.res.addText("register.hash", "registration: password hashing", hash)
	}
	e.logf("register: %.1f users/s, p99 %.0f ms, hashing %s", perSecond(s.N, u.Wall), ms(s.P99), hash)
	return nil
}

// storedHashParams reads the stored password hash of email (table contacts, column password_hash) and returns its
// parameters, or "" if dbURL is empty or the query fails.
func storedHashParams(ctx context.Context, dbURL, email string) string {
	if dbURL == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return ""
	}
	defer conn.Close(ctx)
	var h string
	if err := conn.QueryRow(ctx, "SELECT password_hash FROM contacts WHERE email = $1", email).Scan(&h); err != nil {
		return ""
	}
	return hashParams(h)
}

// hashParams describes a PHC or modular-crypt hash string without its salt and digest, e.g. "bcrypt cost 10" or
// "argon2id v=19 m=65536,t=3,p=2".
func hashParams(h string) string {
	f := strings.Split(h, "$") // "", id, params..., salt, digest
	if len(f) < 3 || f[0] != "" {
		return "unknown"
	}
	switch f[1] {
	case "2a", "2b", "2y", "2x":
		return "bcrypt cost " + f[2]
	case "argon2id", "argon2i", "argon2d", "scrypt", "pbkdf2-sha256", "pbkdf2-sha512", "pbkdf2":
		var p []string
		for _, s := range f[2:] {
			if strings.Contains(s, "=") {
				p = append(p, s)
			}
		}
		return strings.TrimSpace(f[1] + " " + strings.Join(p, " "))
	}
	return f[1]
}
