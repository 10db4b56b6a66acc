package relay_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"artisan-notify/gen/events"
	"artisan-notify/impl/relay"
	"artisan-notify/impl/testdb"
)

// recorder is a Deliverer that remembers what it got.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) Deliver(m events.Message) error {
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

func start(t *testing.T, pool *pgxpool.Pool, out relay.Deliverer, node string) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r := relay.New(pool, out, relay.Options{NodeID: node, PollInterval: 200 * time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	go func() { _ = r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	// Wait until the relay has recorded its starting point.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		_ = pool.QueryRow(context.Background(), "SELECT count(*) FROM relay_progress WHERE node_id = $1", node).Scan(&n)
		if n == 1 {
			return cancel
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("relay did not start")
	return cancel
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

// A transaction that commits after a later one must not be skipped, and nothing is delivered twice.
func TestRelayDeliversLateCommitsInOrderOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	rec := &recorder{}
	start(t, pool, rec, "node-a")

	early, err := pool.Begin(ctx) // takes its transaction id first, commits last
	if err != nil {
		t.Fatal(err)
	}
	defer early.Rollback(ctx) //nolint:errcheck // a no-op once committed
	if _, err := early.Exec(ctx, insertSQL, `{"contact_id":1}`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, insertSQL, `{"contact_id":2}`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // several polls: the committed event must wait for the earlier transaction
	if got := rec.snapshot(); len(got) != 0 {
		t.Fatalf("delivered %v while an earlier transaction was still open", got)
	}
	if err := early.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := rec.waitFor(t, 2)
	if len(got) != 2 || got[0] != `{"contact_id": 1}` || got[1] != `{"contact_id": 2}` {
		t.Fatalf("delivered %v, want contact 1 then 2", got)
	}
	time.Sleep(500 * time.Millisecond)
	if got := rec.snapshot(); len(got) != 2 {
		t.Fatalf("delivered again: %v", got)
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
