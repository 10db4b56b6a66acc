// Package relay delivers the events of the outbox to this process's sockets, in commit order,
// once their transaction has committed. Every server node runs one relay; together they make
// an event caused on any node reach the sockets of every node.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"artisan-notify/gen/db"
	"artisan-notify/gen/events"
)

// Deliverer sends a message to the local sockets.
type Deliverer interface {
	Deliver(m events.Message) error
}

// Fanout returns a Deliverer that hands each message to each of ds, in order; the first error
// is returned after all have been called.
func Fanout(ds ...Deliverer) Deliverer { return fanout(ds) }

type fanout []Deliverer

func (f fanout) Deliver(m events.Message) error {
	var first error
	for _, d := range f {
		if err := d.Deliver(m); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Options configures a relay.
type Options struct {
	NodeID string
	// PollInterval bounds the delay when a notification is missed (the fallback to LISTEN/NOTIFY).
	PollInterval time.Duration
	// Retention is how long delivered events are kept before they are pruned.
	Retention time.Duration
	// ReplayDelay is how long a restarted relay waits before delivering events committed while
	// it was down, so that clients have reconnected to receive them.
	ReplayDelay time.Duration
	// BeforeDeliver, when set, is called before each delivery (a test-only fault hook).
	BeforeDeliver func(events.Message)
	// Observer, when set, is told of each delivery.
	Observer Observer
}

// Observer is told of each event the relay delivers, with the time its outbox row was written
// (in the event's transaction).
type Observer interface {
	Delivered(event string, createdAt time.Time)
}

// Relay tails the outbox.
type Relay struct {
	pool *pgxpool.Pool
	q    *db.Queries
	out  Deliverer
	opts Options
	log  *slog.Logger
	// delivered is the watermark: every event of a transaction below it was delivered; -1 until started.
	delivered atomic.Int64
}

// New returns a relay that delivers to out.
func New(pool *pgxpool.Pool, out Deliverer, opts Options, log *slog.Logger) *Relay {
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Retention <= 0 {
		opts.Retention = 24 * time.Hour
	}
	r := &Relay{pool: pool, q: db.New(pool), out: out, opts: opts, log: log}
	r.delivered.Store(-1)
	return r
}

// Backlog returns how many committed events this relay has not delivered yet and how long the
// oldest of them has waited. Before the relay has started it returns 0, 0.
func (r *Relay) Backlog(ctx context.Context) (int64, time.Duration, error) {
	w := r.delivered.Load()
	if w < 0 {
		return 0, 0, nil
	}
	b, err := r.q.OutboxBacklog(ctx, w)
	if err != nil {
		return 0, 0, fmt.Errorf("relay: read backlog: %w", err)
	}
	return b.Events, time.Duration(b.OldestAgeSeconds * float64(time.Second)), nil
}

// Run delivers events until ctx ends. It survives database outages, retrying with backoff.
func (r *Relay) Run(ctx context.Context) error {
	watermark, err := r.start(ctx)
	for err != nil {
		r.log.Warn("relay: cannot start, retrying", "err", err)
		if !sleep(ctx, 2*time.Second) {
			return nil
		}
		watermark, err = r.start(ctx)
	}
	r.delivered.Store(watermark)
	go r.prune(ctx)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		watermark, err = r.listen(ctx, watermark)
		if ctx.Err() != nil {
			return nil
		}
		r.log.Warn("relay: connection lost, reconnecting", "err", err, "backoff", backoff)
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return nil
}

// start returns where to resume: the node's saved watermark, or (for a new node) now.
func (r *Relay) start(ctx context.Context) (int64, error) {
	w, err := r.q.GetRelayWatermark(ctx, r.opts.NodeID)
	if errors.Is(err, pgx.ErrNoRows) {
		w, err = r.q.FinishedTxHorizon(ctx)
		if err != nil {
			return 0, fmt.Errorf("relay: read horizon: %w", err)
		}
		return w, r.q.SaveRelayWatermark(ctx, db.SaveRelayWatermarkParams{NodeID: r.opts.NodeID, Watermark: w})
	}
	if err != nil {
		return 0, fmt.Errorf("relay: read watermark of %s: %w", r.opts.NodeID, err)
	}
	if r.opts.ReplayDelay > 0 {
		h, err := r.q.FinishedTxHorizon(ctx)
		if err != nil {
			return 0, fmt.Errorf("relay: read horizon: %w", err)
		}
		backlog, err := r.q.ListOutboxBetween(ctx, db.ListOutboxBetweenParams{FromTx: w, ToTx: h})
		if err != nil {
			return 0, fmt.Errorf("relay: read backlog: %w", err)
		}
		if len(backlog) > 0 {
			// Events committed while this node was down: give its clients time to reconnect.
			r.log.Info("relay: backlog to replay", "node", r.opts.NodeID, "events", len(backlog), "after", r.opts.ReplayDelay)
			sleep(ctx, r.opts.ReplayDelay)
		}
	}
	return w, nil
}

// listen holds a connection with LISTEN outbox and drains after every notification (or poll).
func (r *Relay) listen(ctx context.Context, watermark int64) (int64, error) {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return watermark, fmt.Errorf("relay: acquire: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN outbox"); err != nil {
		conn.Conn().Close(ctx) //nolint:errcheck // discarding a broken connection
		return watermark, fmt.Errorf("relay: listen: %w", err)
	}
	defer func() {
		// Do not return a LISTENing connection to the pool.
		conn.Conn().Close(context.WithoutCancel(ctx)) //nolint:errcheck
	}()
	q := db.New(conn)
	for {
		watermark, err = r.drain(ctx, q, watermark)
		if err != nil {
			return watermark, err
		}
		wctx, cancel := context.WithTimeout(ctx, r.opts.PollInterval)
		_, err = conn.Conn().WaitForNotification(wctx)
		cancel()
		if err != nil && ctx.Err() != nil {
			return watermark, ctx.Err()
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return watermark, fmt.Errorf("relay: wait: %w", err)
		}
	}
}

// drain delivers the events of every transaction finished since watermark and returns the new one.
func (r *Relay) drain(ctx context.Context, q *db.Queries, watermark int64) (int64, error) {
	horizon, err := q.FinishedTxHorizon(ctx)
	if err != nil {
		return watermark, fmt.Errorf("relay: read horizon: %w", err)
	}
	if horizon <= watermark {
		return watermark, nil
	}
	rows, err := q.ListOutboxBetween(ctx, db.ListOutboxBetweenParams{FromTx: watermark, ToTx: horizon})
	if err != nil {
		return watermark, fmt.Errorf("relay: read outbox: %w", err)
	}
	for _, row := range rows {
		m := events.Message{Event: row.Event, Rooms: row.Rooms, Payload: row.Payload}
		if r.opts.BeforeDeliver != nil {
			r.opts.BeforeDeliver(m)
		}
		if err := r.out.Deliver(m); err != nil {
			r.log.Error("relay: deliver", "outbox_id", row.ID, "event", row.Event, "err", err)
		}
		if r.opts.Observer != nil {
			r.opts.Observer.Delivered(row.Event, row.CreatedAt)
		}
	}
	r.delivered.Store(horizon)
	if len(rows) > 0 {
		if err := q.SaveRelayWatermark(ctx, db.SaveRelayWatermarkParams{NodeID: r.opts.NodeID, Watermark: horizon}); err != nil {
			return horizon, fmt.Errorf("relay: save watermark: %w", err)
		}
	}
	return horizon, nil
}

// prune deletes events older than the retention window, every few minutes.
func (r *Relay) prune(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		n, err := r.q.PruneOutbox(ctx, time.Now().Add(-r.opts.Retention))
		if err != nil && ctx.Err() == nil {
			r.log.Warn("relay: prune outbox", "err", err)
		} else if n > 0 {
			r.log.Info("relay: pruned outbox", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
