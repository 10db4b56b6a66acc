package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/artisan-notify/artisan-notify/impl/domain"
	"github.com/artisan-notify/artisan-notify/impl/store"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// BenchmarkApprove measures the decision transaction (the conditional UPDATE ... RETURNING and the
// outbox INSERT, one commit) on a fresh database: each iteration approves its own pending request.
// The requests are registered before the timer starts.
func BenchmarkApprove(b *testing.B) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.New(b))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)
	pdg, err := st.Register(ctx, domain.NewContact{Prenom: "P", Nom: "DG", Email: "pdg@bench.test", PasswordHash: "x", TypeCompte: "Client"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.GrantPDG(ctx, pdg.Email); err != nil { // only a PDG decides
		b.Fatal(err)
	}
	var ids []int64
	next := 0
	pending := func(n int) {
		for i := range n {
			u, err := st.Register(ctx, domain.NewContact{Prenom: "A", Nom: "B", Email: fmt.Sprintf("a%d-%d@bench.test", len(ids), i),
				PasswordHash: "x", TypeCompte: domain.TypeArtisan})
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if next == len(ids) {
			b.StopTimer()
			pending(256)
			b.StartTimer()
		}
		if _, err := st.Approve(ctx, ids[next], pdg.ID); err != nil {
			b.Fatal(err)
		}
		next++
	}
}

// BenchmarkDecideRace measures the decision path as the API runs it under load: every pending
// request gets an approve and a reject queued next to each other, taken by 64 concurrent callers
// over a pool of 16 connections, so two of them race on each request (one decides, the other gets
// the conflict). An op is one call. pg-us/op is the CPU of the PostgreSQL server's processes per
// call (read from /proc, so only when the server runs on this machine): run it with
// TEST_DATABASE_URL on a cluster with fsync on for figures that include the commits' flushes.
func BenchmarkDecideRace(b *testing.B) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testdb.New(b))
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)
	pdg, err := st.Register(ctx, domain.NewContact{Prenom: "P", Nom: "DG", Email: "pdg@bench.test", PasswordHash: "x", TypeCompte: "Client"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.GrantPDG(ctx, pdg.Email); err != nil { // only a PDG decides
		b.Fatal(err)
	}
	type call struct {
		id      int64
		approve bool
	}
	calls := make(chan call, b.N+1)
	var ids []int64
	rows, err := pool.Query(ctx, `WITH c AS (
			INSERT INTO contacts (prenom, nom, email, password_hash, type_compte)
			SELECT 'A', 'B', 'race' || g || '@bench.test', 'x', 'Artisan/Promoteur' FROM generate_series(1, $1::int) AS g
			RETURNING id, created_at
		)
		INSERT INTO artisan_requests (contact_id, status, created_at) SELECT id, 'pending', created_at FROM c RETURNING contact_id`, b.N/2+1)
	if err == nil {
		ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	}
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		calls <- call{ids[i/2], (i+i/2)%2 == 0} // approve first for even requests, reject first for odd ones
	}
	close(calls)
	// Open the pool's connections and prepare the statements outside the measurement.
	var warm sync.WaitGroup
	for range 16 {
		warm.Add(1)
		go func() {
			defer warm.Done()
			_, _ = st.Approve(ctx, -1, pdg.ID)
		}()
	}
	warm.Wait()
	pgCPU := serverCPU(b, pool)
	before := pgCPU()
	var conflicts atomic.Int64
	b.SetParallelism(32) // 64 callers on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := <-calls
			var err error
			if c.approve {
				_, err = st.Approve(ctx, c.id, pdg.ID)
			} else {
				_, err = st.Reject(ctx, c.id, pdg.ID, nil)
			}
			if errors.Is(err, domain.ErrConflict) {
				conflicts.Add(1)
			} else if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if used := pgCPU() - before; used >= 0 {
		b.ReportMetric(float64(used.Microseconds())/float64(b.N), "pg-us/op")
	}
	if b.N > 1 && conflicts.Load() != int64(b.N/2) {
		b.Fatalf("%d conflicts for %d calls, want one per request", conflicts.Load(), b.N)
	}
}

// serverCPU returns a function that reads the CPU time used so far by the PostgreSQL server of
// pool (the postmaster, its living processes and those it has reaped), or -1 when the server's
// processes cannot be read (another machine).
func serverCPU(tb testing.TB, pool *pgxpool.Pool) func() time.Duration {
	tb.Helper()
	var backend int
	if err := pool.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		tb.Fatal(err)
	}
	f, err := procStat(backend)
	if err != nil {
		return func() time.Duration { return -1 }
	}
	postmaster := int(f[1]) // field 4: ppid
	return func() time.Duration {
		pf, err := procStat(postmaster)
		if err != nil {
			return -1
		}
		ticks := pf[11] + pf[12] + pf[13] + pf[14] // utime, stime and the reaped children's
		kids, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", postmaster))
		for _, k := range kids {
			b, _ := os.ReadFile(k)
			for _, s := range strings.Fields(string(b)) {
				pid, _ := strconv.Atoi(s)
				if cf, err := procStat(pid); err == nil {
					ticks += cf[11] + cf[12]
				}
			}
		}
		return time.Duration(ticks) * time.Second / 100 // USER_HZ
	}
}

// procStat returns the numeric fields of /proc/PID/stat from field 3 (state, as 0) on.
func procStat(pid int) ([]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	out := make([]int64, len(fields))
	for k, s := range fields[1:] {
		out[k+1], _ = strconv.ParseInt(s, 10, 64)
	}
	return out, nil
}
