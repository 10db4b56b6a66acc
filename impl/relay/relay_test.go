package relay_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/artisan-notify/artisan-notify/gen/db"
	"github.com/artisan-notify/artisan-notify/gen/events"
	"github.com/artisan-notify/artisan-notify/impl/relay"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// recorder is a Deliverer that remembers what it got.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) Deliver(_ context.Context, m events.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, string(m.Payload))
	return nil
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func (r *recorder) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if got := r.snapshot(); len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("delivered %v, want %d events", r.snapshot(), n)
	return nil
}

func start(t *testing.T, pool *pgxpool.Pool, out relay.Deliverer, node string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r := relay.New(pool, out, relay.Options{NodeID: node, PollInterval: 200 * time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	go func() { _ = r.Run(ctx); close(done) }()
	// stop returns when Run has: the relay has saved its progress, as a node's does at exit.
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	// Wait until the relay has recorded its starting point.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		_ = pool.QueryRow(context.Background(), "SELECT count(*) FROM relay_progress WHERE node_id = $1", node).Scan(&n)
		if n == 1 {
			return stop
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("relay did not start")
	return stop
}

// newPool returns a pool closed after the relays of the test have stopped.
func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testdb.New(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

const insertSQL = `INSERT INTO outbox (event, rooms, payload) VALUES ('artisan-request:rejected', '{pdg-notifications}', $1)`

// holdOpen begins a transaction on its own connection and gives it a transaction id, as any
// writing transaction has; it is rolled back at the end of the test unless committed.
func holdOpen(t *testing.T, pool *pgxpool.Pool) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(ctx) }) // a no-op once committed
	if _, err := tx.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
		t.Fatal(err)
	}
	return tx
}

// deliveredWithin fails unless rec holds exactly want within d, and returns how long it took.
func deliveredWithin(t *testing.T, rec *recorder, d time.Duration, want ...string) time.Duration {
	t.Helper()
	began := time.Now()
	for {
		got := rec.snapshot()
		if slices.Equal(got, want) {
			return time.Since(began)
		}
		if len(got) > len(want) || time.Since(began) > d {
			t.Fatalf("after %v delivered %v, want %v", time.Since(began).Round(time.Millisecond), got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An open transaction that has nothing to do with the outbox does not hold back the events of
// the transactions that commit while it stays open.
func TestRelayDeliversPastAnOpenTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	rec := &recorder{}
	start(t, pool, rec, "node-open")

	open := holdOpen(t, pool)
	for i, payload := range []string{`{"contact_id":1}`, `{"contact_id":2}`} {
		if _, err := pool.Exec(ctx, insertSQL, payload); err != nil {
			t.Fatal(err)
		}
		want := []string{`{"contact_id": 1}`, `{"contact_id": 2}`}[:i+1]
		took := deliveredWithin(t, rec, time.Second, want...)
		t.Logf("event %d delivered %v after its commit, with a transaction open", i+1, took.Round(time.Millisecond))
	}
	if err := open.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // several polls
	deliveredWithin(t, rec, 0, `{"contact_id": 1}`, `{"contact_id": 2}`)
}

// A transaction that commits after a later one (it took its id first) is not skipped: its event
// is delivered when it commits, the later one's at once; nothing is delivered twice.
func TestRelayDeliversLateCommitsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	rec := &recorder{}
	start(t, pool, rec, "node-a")

	early := holdOpen(t, pool) // takes its transaction id first, commits last
	if _, err := early.Exec(ctx, insertSQL, `{"contact_id":1}`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, insertSQL, `{"contact_id":2}`); err != nil {
		t.Fatal(err)
	}
	deliveredWithin(t, rec, time.Second, `{"contact_id": 2}`)
	time.Sleep(500 * time.Millisecond) // several polls: the open transaction's event waits
	deliveredWithin(t, rec, 0, `{"contact_id": 2}`)
	if err := early.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	deliveredWithin(t, rec, time.Second, `{"contact_id": 2}`, `{"contact_id": 1}`)
	if _, err := pool.Exec(ctx, insertSQL, `{"contact_id":3}`); err != nil {
		t.Fatal(err)
	}
	deliveredWithin(t, rec, time.Second, `{"contact_id": 2}`, `{"contact_id": 1}`, `{"contact_id": 3}`)
	time.Sleep(500 * time.Millisecond)
	deliveredWithin(t, rec, 0, `{"contact_id": 2}`, `{"contact_id": 1}`, `{"contact_id": 3}`)
}

// A relay stopped while it waits for an open transaction resumes waiting for it: the event that
// transaction commits while the relay is down is delivered after the restart, once, and the
// events delivered before are not delivered again.
func TestRelayResumesWaitingForOpenTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	first := &recorder{}
	stop := start(t, pool, first, "node-w")

	early := holdOpen(t, pool)
	if _, err := early.Exec(ctx, insertSQL, `{"contact_id":1}`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, insertSQL, `{"contact_id":2}`); err != nil { // saves the relay's progress
		t.Fatal(err)
	}
	deliveredWithin(t, first, time.Second, `{"contact_id": 2}`)
	stop()
	if err := early.Commit(ctx); err != nil { // while the relay is down
		t.Fatal(err)
	}
	second := &recorder{}
	start(t, pool, second, "node-w")
	deliveredWithin(t, second, 5*time.Second, `{"contact_id": 1}`)
	time.Sleep(500 * time.Millisecond)
	deliveredWithin(t, second, 0, `{"contact_id": 1}`)
}

// After a failure that followed a working connection, the relay reconnects quickly: its backoff
// starts again from the minimum instead of growing with every failure since the start.
func TestRelayBackoffResetsAfterSuccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.New(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "relay-under-test"
	relayPool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(relayPool.Close)
	rec := &recorder{}
	start(t, relayPool, rec, "node-k")

	var want []string
	for round := range 7 { // without a reset, the 6th wait would be 3.2 s, the 7th 5 s
		if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE application_name = 'relay-under-test' AND datname = current_database()`); err != nil {
			t.Fatal(err)
		}
		payload := fmt.Sprintf(`{"contact_id": %d}`, round+1)
		if _, err := pool.Exec(ctx, insertSQL, payload); err != nil {
			t.Fatal(err)
		}
		want = append(want, payload)
		took := deliveredWithin(t, rec, 2*time.Second, want...)
		t.Logf("round %d: delivered %v after the connection was killed", round+1, took.Round(time.Millisecond))
	}
}

// The prune statement finds the old rows through the created_at index, not by reading the table.
func TestPruneUsesTheCreatedAtIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.New(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	tracer := &testdb.Statements{}
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	// A day of events, one every few seconds, the oldest beyond the retention window.
	if _, err := pool.Exec(ctx, `INSERT INTO outbox (event, rooms, payload, created_at)
		SELECT 'artisan-request:new', '{pdg-notifications}', '{}', now() - g * interval '3 seconds'
		FROM generate_series(1, 40000) AS g`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "ANALYZE outbox"); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-24 * time.Hour)
	n, err := db.New(pool).PruneOutbox(ctx, db.PruneOutboxParams{Before: before, MaxRows: 5000})
	if err != nil || n != 5000 { // one batch of the 11200 old rows
		t.Fatalf("pruned %d rows (%v), want a batch of 5000", n, err)
	}
	stmt := tracer.Last("DELETE FROM outbox")
	if stmt == "" {
		t.Fatal("the prune statement was not seen")
	}
	rows, err := pool.Query(ctx, "EXPLAIN "+stmt, before, 5000)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	t.Logf("plan:\n%s", plan)
	if !strings.Contains(plan, "outbox_created_at_idx") || strings.Contains(plan, "Seq Scan") {
		t.Fatalf("the prune does not use outbox_created_at_idx:\n%s", plan)
	}
}

// A relay that stops and starts again resumes where it stopped: events committed while it was
// down are delivered once, events delivered before are not delivered again.
func TestRelayResumesFromItsWatermark(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	first := &recorder{}
	stop := start(t, pool, first, "node-b")
	if _, err := pool.Exec(ctx, insertSQL, `{"contact_id":1}`); err != nil {
		t.Fatal(err)
	}
	first.waitFor(t, 1)
	stop()
	time.Sleep(100 * time.Millisecond)
	if _, err := pool.Exec(ctx, insertSQL, `{"contact_id":2}`); err != nil { // committed while down
		t.Fatal(err)
	}
	second := &recorder{}
	start(t, pool, second, "node-b")
	got := second.waitFor(t, 1)
	time.Sleep(500 * time.Millisecond)
	if got = second.snapshot(); len(got) != 1 || got[0] != `{"contact_id": 2}` {
		t.Fatalf("after restart delivered %v, want only contact 2", got)
	}
	// Another node sharing the database gets new events too, from where it started.
	other := &recorder{}
	start(t, pool, other, "node-c")
	if _, err := pool.Exec(ctx, insertSQL, `{"contact_id":3}`); err != nil {
		t.Fatal(err)
	}
	if got := other.waitFor(t, 1); got[0] != `{"contact_id": 3}` {
		t.Fatalf("second node delivered %v", got)
	}
	if got := second.waitFor(t, 2); got[1] != `{"contact_id": 3}` {
		t.Fatalf("first node delivered %v", got)
	}
}

// runRelay runs a relay with opts until the returned stop is called (stop waits for Run to return).
func runRelay(t *testing.T, pool *pgxpool.Pool, out relay.Deliverer, opts relay.Options) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r := relay.New(pool, out, opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	go func() { _ = r.Run(ctx); close(done) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		_ = pool.QueryRow(context.Background(), "SELECT count(*) FROM relay_progress WHERE node_id = $1", opts.NodeID).Scan(&n)
		if n == 1 {
			return stop
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("relay did not start")
	return stop
}

func savedWatermark(t *testing.T, pool *pgxpool.Pool, node string) int64 {
	t.Helper()
	var w int64
	if err := pool.QueryRow(context.Background(), "SELECT watermark FROM relay_progress WHERE node_id = $1", node).Scan(&w); err != nil {
		t.Fatal(err)
	}
	return w
}

// The relay saves its progress in batches: not after each event, but once SaveEvents were
// delivered since the last save or SaveInterval has passed, and when it stops. A relay that dies
// between two saves (here: its last save refused, as a crash would skip it) delivers again after
// its restart the events delivered since its last save, and the events committed while it was down:
// at least once, none lost.
func TestRelaySavesProgressInBatchesAndLosesNothingOnACrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	opts := relay.Options{NodeID: "node-batch", PollInterval: 200 * time.Millisecond, SaveInterval: time.Hour, SaveEvents: 3}
	first := &recorder{}
	stop := runRelay(t, pool, first, opts)
	started := savedWatermark(t, pool, "node-batch")

	// Two events: below SaveEvents, within SaveInterval: delivered, not saved.
	for _, p := range []string{`{"contact_id":1}`, `{"contact_id":2}`} {
		if _, err := pool.Exec(ctx, insertSQL, p); err != nil {
			t.Fatal(err)
		}
	}
	deliveredWithin(t, first, 2*time.Second, `{"contact_id": 1}`, `{"contact_id": 2}`)
	time.Sleep(300 * time.Millisecond) // drains and polls: still no save
	if w := savedWatermark(t, pool, "node-batch"); w != started {
		t.Fatalf("progress saved after 2 events (watermark %d -> %d), want a save every 3", started, w)
	}
	// The third reaches SaveEvents: saved.
	if _, err := pool.Exec(ctx, insertSQL, `{"contact_id":3}`); err != nil {
		t.Fatal(err)
	}
	deliveredWithin(t, first, 2*time.Second, `{"contact_id": 1}`, `{"contact_id": 2}`, `{"contact_id": 3}`)
	deadline := time.Now().Add(2 * time.Second)
	for savedWatermark(t, pool, "node-batch") == started {
		if time.Now().After(deadline) {
			t.Fatal("progress not saved after 3 events")
		}
		time.Sleep(10 * time.Millisecond)
	}
	saved := savedWatermark(t, pool, "node-batch")

	// Two more events, delivered but not saved; then the relay dies without saving them.
	for _, p := range []string{`{"contact_id":4}`, `{"contact_id":5}`} {
		if _, err := pool.Exec(ctx, insertSQL, p); err != nil {
			t.Fatal(err)
		}
	}
	deliveredWithin(t, first, 2*time.Second, `{"contact_id": 1}`, `{"contact_id": 2}`, `{"contact_id": 3}`,
		`{"contact_id": 4}`, `{"contact_id": 5}`)
	if _, err := pool.Exec(ctx, `CREATE FUNCTION crash() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'the process died before saving'; END $$;
		CREATE TRIGGER crash BEFORE UPDATE ON relay_progress FOR EACH ROW EXECUTE FUNCTION crash()`); err != nil {
		t.Fatal(err)
	}
	stop()
	if w := savedWatermark(t, pool, "node-batch"); w != saved {
		t.Fatalf("the crashed relay's progress moved %d -> %d", saved, w)
	}
	if _, err := pool.Exec(ctx, `DROP TRIGGER crash ON relay_progress`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, insertSQL, `{"contact_id":6}`); err != nil { // committed while down
		t.Fatal(err)
	}

	second := &recorder{}
	runRelay(t, pool, second, opts)
	deliveredWithin(t, second, 5*time.Second, `{"contact_id": 4}`, `{"contact_id": 5}`, `{"contact_id": 6}`)
	time.Sleep(300 * time.Millisecond)
	deliveredWithin(t, second, 0, `{"contact_id": 4}`, `{"contact_id": 5}`, `{"contact_id": 6}`)
}

// Commits notify the relays at most once per NotifyInterval; the relay reads on after each
// notification, so no event waits for the poll: bursts of concurrent commits, with pauses around
// the intervals between them, are all delivered within a fraction of a second, with a poll
// interval of an hour.
func TestRelayDeliversBurstsWithoutPolling(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	rec := &recorder{}
	runRelay(t, pool, rec, relay.Options{NodeID: "node-burst", PollInterval: time.Hour})
	time.Sleep(100 * time.Millisecond) // idle: the next event is woken by its notification
	var want []string
	next := 0
	for _, pause := range []time.Duration{0, 3, 8, 12, 19, 23, 40, 100, 5, 1} {
		time.Sleep(pause * time.Millisecond)
		var wg sync.WaitGroup
		for range 8 {
			next++
			payload := fmt.Sprintf(`{"contact_id": %d}`, next)
			want = append(want, payload)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := pool.Exec(ctx, insertSQL, payload); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	deadline := time.Now().Add(time.Second)
	for {
		got := rec.snapshot()
		slices.Sort(got)
		sorted := slices.Clone(want)
		slices.Sort(sorted)
		if slices.Equal(got, sorted) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 1 s delivered %d of %d events", len(got), len(want))
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Alone after a pause: woken by its notification.
	time.Sleep(500 * time.Millisecond)
	before := rec.snapshot() // before the insert: its event may be delivered before Exec returns
	if _, err := pool.Exec(ctx, insertSQL, `{"contact_id": 0}`); err != nil {
		t.Fatal(err)
	}
	took := deliveredWithin(t, rec, 500*time.Millisecond, append(before, `{"contact_id": 0}`)...)
	t.Logf("an event after a pause delivered %v after its commit", took.Round(time.Millisecond))
}
