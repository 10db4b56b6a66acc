// Package relay delivers the events of the outbox to this process's sockets once their
// transaction has committed. Every server node runs one relay; together they make an event
// caused on any node reach the sockets of every node.
//
// The relay reads PostgreSQL snapshots (pg_current_snapshot): a transaction below a snapshot's
// xmax that is not in its in-progress list has finished, so its outbox rows are final. Each read
// delivers the events of every transaction that finished since the previous read, and remembers
// the transactions still in progress below the point it read to: their events are delivered when
// they commit, however late. A transaction left open (even one that never writes an event) does
// not hold back the events of the others. Each event is delivered once per node (at least once
// across a crash: the progress is saved at most every SaveInterval or SaveEvents events, and when
// Run returns, so a relay that dies delivers again after its restart what it delivered since its
// last save).
//
// Wake-ups: commits that write events send NOTIFY outbox, at most one per NotifyInterval (the
// trigger of migration 0006); after a notification the relay reads every BusyInterval (at once
// on the next notification) for twice that interval and as long as it finds events, then polls
// while transactions it saw in progress may still commit, at a growing interval up to
// PollInterval, its fallback.
//
// Order: the events of one transaction are delivered together, in the order they were written.
// Between transactions, the order is the order in which the relay's reads see them finished and,
// among those one read sees finished together (reads are a notification or a poll apart), the
// order of their transaction ids. Hence:
//   - if A had committed at a read at which B was still in progress (or not begun), A is
//     delivered before B;
//   - if A committed before B took its transaction id (at B's first write: e.g. B decides on the
//     request A created, after reading it), A is delivered before B: A has the smaller id, and
//     no read sees B finished before A;
//   - transactions that overlapped otherwise have no guaranteed order: a transaction left open
//     is delivered when it commits, after those that committed meanwhile, even those that took
//     their id after it; two nodes may order overlapping transactions differently.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/artisan-notify/artisan-notify/gen/db"
	"github.com/artisan-notify/artisan-notify/gen/events"
	"github.com/artisan-notify/artisan-notify/impl/tracing"
)

// Deliverer sends a message to the local sockets. ctx carries the delivery's span.
type Deliverer interface {
	Deliver(ctx context.Context, m events.Message) error
}

// Fanout returns a Deliverer that hands each message to each of ds, in order; the first error
// is returned after all have been called.
func Fanout(ds ...Deliverer) Deliverer { return fanout(ds) }

type fanout []Deliverer

func (f fanout) Deliver(ctx context.Context, m events.Message) error {
	var first error
	for _, d := range f {
		if err := d.Deliver(ctx, m); err != nil && first == nil {
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
	// BusyInterval is how soon the relay reads again after a read that delivered events or a
	// notification, without waiting for one (a notification meanwhile makes it read at once):
	// while events keep coming it reads at this pace, each read taking every event committed since
	// the previous one.
	BusyInterval time.Duration
	// NotifyInterval is the interval within which commits send one notification (migration 0006:
	// 10 ms); the relay keeps reading for twice this after each notification.
	NotifyInterval time.Duration
	// SaveInterval and SaveEvents bound how far the saved progress may lag behind the delivered
	// events: it is written once either is reached, and when Run returns. A relay that crashes
	// delivers these again after its restart (at least once), never fewer.
	SaveInterval time.Duration
	SaveEvents   int
	// Retention is how long delivered events are kept before they are pruned.
	Retention time.Duration
	// ReplayDelay is how long a restarted relay waits before delivering events committed while
	// it was down, so that clients have reconnected to receive them.
	ReplayDelay time.Duration
	// BeforeDeliver, when set, is called before each delivery (a test-only fault hook).
	BeforeDeliver func(events.Message)
	// Observer, when set, is told of each delivery.
	Observer Observer
	// TracerProvider, when set, records a span for each delivery, a child of the trace context
	// its outbox row carries (the operation that wrote it), else a root.
	TracerProvider trace.TracerProvider
}

// Observer is told of each event the relay delivers, with the time its outbox row was written
// (in the event's transaction).
type Observer interface {
	Delivered(event string, createdAt time.Time)
}

// Relay tails the outbox.
type Relay struct {
	pool   *pgxpool.Pool
	q      *db.Queries
	out    Deliverer
	opts   Options
	log    *slog.Logger
	tracer trace.Tracer

	mu      sync.Mutex
	started bool     // false until the relay has read its starting position
	pos     position // what has been delivered (published after each read)

	// Used by Run's goroutine only: what the saved progress lacks.
	unsaved int       // events delivered since the last save
	dirty   bool      // pos is ahead of the saved progress
	savedAt time.Time // when the progress was last saved
}

// position is how far a relay has delivered: every transaction below reached has been delivered,
// except those in waiting, which were still in progress when the relay read up to reached.
type position struct {
	reached int64
	// waiting maps the id of each transaction the relay waits for to the time it first saw it
	// in progress. It is never modified once built (a new read builds a new map).
	waiting map[int64]time.Time
}

// waitingIDs returns the ids of the transactions p waits for, never nil (a nil slice is NULL).
func (p position) waitingIDs() []int64 {
	ids := make([]int64, 0, len(p.waiting))
	for x := range maps.Keys(p.waiting) {
		ids = append(ids, x)
	}
	slices.Sort(ids)
	return ids
}

func newPosition(reached int64, waiting []int64, now time.Time) position {
	p := position{reached: reached, waiting: make(map[int64]time.Time, len(waiting))}
	for _, x := range waiting {
		p.waiting[x] = now
	}
	return p
}

const (
	// minBackoff is the wait before reconnecting after a failure that followed a success.
	minBackoff = 100 * time.Millisecond
	// maxBackoff bounds the wait between reconnection attempts while the database stays unreachable.
	maxBackoff = 5 * time.Second
	// pruneBatch is how many rows one prune statement deletes at most (one short transaction).
	pruneBatch = 5000
)

// New returns a relay that delivers to out.
func New(pool *pgxpool.Pool, out Deliverer, opts Options, log *slog.Logger) *Relay {
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Retention <= 0 {
		opts.Retention = 24 * time.Hour
	}
	if opts.TracerProvider == nil {
		opts.TracerProvider = noop.NewTracerProvider()
	}
	if opts.BusyInterval <= 0 {
		opts.BusyInterval = 5 * time.Millisecond
	}
	if opts.NotifyInterval <= 0 {
		opts.NotifyInterval = 10 * time.Millisecond
	}
	if opts.SaveInterval <= 0 {
		opts.SaveInterval = 200 * time.Millisecond
	}
	if opts.SaveEvents <= 0 {
		opts.SaveEvents = 1000
	}
	return &Relay{pool: pool, q: db.New(pool), out: out, opts: opts, log: log,
		tracer: opts.TracerProvider.Tracer(tracing.Scope + "/impl/relay")}
}

func (r *Relay) publish(p position) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started, r.pos = true, p
}

func (r *Relay) position() (position, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pos, r.started
}

// Backlog returns how many committed events this relay has not delivered yet and how long the
// oldest of them has waited. Before the relay has started it returns 0, 0.
func (r *Relay) Backlog(ctx context.Context) (int64, time.Duration, error) {
	p, ok := r.position()
	if !ok {
		return 0, 0, nil
	}
	b, err := r.q.OutboxBacklog(ctx, db.OutboxBacklogParams{FromTx: p.reached, Earlier: p.waitingIDs()})
	if err != nil {
		return 0, 0, fmt.Errorf("relay: read backlog: %w", err)
	}
	return b.Events, time.Duration(b.OldestAgeSeconds * float64(time.Second)), nil
}

// InProgress returns how many transactions (of any session on the database server, with a
// transaction id) the relay saw in progress at its last read and waits for, and how long the
// oldest of them has been seen in progress by this relay. Their events, if they write any, are
// delivered when they commit; the other transactions' events are not held back by them.
func (r *Relay) InProgress() (transactions int, oldest time.Duration) {
	p, _ := r.position()
	now := time.Now()
	for _, seen := range p.waiting {
		oldest = max(oldest, now.Sub(seen))
	}
	return len(p.waiting), oldest
}

// Run delivers events until ctx ends. It survives database outages, retrying with backoff.
func (r *Relay) Run(ctx context.Context) error {
	pos, err := r.start(ctx)
	for err != nil {
		r.log.Warn("relay: cannot start, retrying", "err", err)
		if !sleep(ctx, 2*time.Second) {
			return nil
		}
		pos, err = r.start(ctx)
	}
	r.publish(pos)
	r.savedAt = time.Now()
	defer r.saveOnExit(ctx)
	go r.prune(ctx)
	backoff := minBackoff
	for ctx.Err() == nil {
		var drained bool
		pos, drained, err = r.listen(ctx, pos)
		if ctx.Err() != nil {
			return nil
		}
		if drained {
			// The connection worked before it failed: not an outage (yet), retry quickly.
			backoff = minBackoff
		}
		r.log.Warn("relay: connection lost, reconnecting", "err", err, "backoff", backoff)
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, maxBackoff)
	}
	return nil
}

// start returns where to resume: the node's saved position, or (for a new node) now.
func (r *Relay) start(ctx context.Context) (position, error) {
	now := time.Now()
	saved, err := r.q.GetRelayProgress(ctx, r.opts.NodeID)
	if errors.Is(err, pgx.ErrNoRows) {
		snap, err := r.q.CurrentSnapshot(ctx)
		if err != nil {
			return position{}, fmt.Errorf("relay: read snapshot: %w", err)
		}
		p := newPosition(snap.Xmax, snap.InProgress, now)
		if err := r.save(ctx, r.q, p); err != nil {
			return position{}, err
		}
		return p, nil
	}
	if err != nil {
		return position{}, fmt.Errorf("relay: read progress of %s: %w", r.opts.NodeID, err)
	}
	p := newPosition(saved.Watermark, saved.InProgress, now)
	if r.opts.ReplayDelay > 0 {
		backlog, err := r.q.OutboxBacklog(ctx, db.OutboxBacklogParams{FromTx: p.reached, Earlier: p.waitingIDs()})
		if err != nil {
			return position{}, fmt.Errorf("relay: read backlog: %w", err)
		}
		if backlog.Events > 0 {
			// Events committed while this node was down: give its clients time to reconnect.
			r.log.Info("relay: backlog to replay", "node", r.opts.NodeID, "events", backlog.Events, "after", r.opts.ReplayDelay)
			sleep(ctx, r.opts.ReplayDelay)
		}
	}
	return p, nil
}

func (r *Relay) save(ctx context.Context, q *db.Queries, p position) error {
	err := q.SaveRelayProgress(ctx, db.SaveRelayProgressParams{NodeID: r.opts.NodeID, Watermark: p.reached, InProgress: p.waitingIDs()})
	if err != nil {
		return fmt.Errorf("relay: save progress of %s: %w", r.opts.NodeID, err)
	}
	return nil
}

// delivered records that p was reached by delivering n events (n > 0), not saved yet.
func (r *Relay) delivered(n int) {
	r.unsaved += n
	r.dirty = true
}

// saveDue saves p if the saved progress lags behind it by SaveEvents events or for SaveInterval.
func (r *Relay) saveDue(ctx context.Context, q *db.Queries, p position, now time.Time) error {
	if !r.dirty || (r.unsaved < r.opts.SaveEvents && now.Sub(r.savedAt) < r.opts.SaveInterval) {
		return nil
	}
	if err := r.save(ctx, q, p); err != nil {
		return err
	}
	r.unsaved, r.dirty, r.savedAt = 0, false, now
	return nil
}

// saveOnExit saves what was delivered since the last save, when Run returns (ctx has ended).
func (r *Relay) saveOnExit(ctx context.Context) {
	if !r.dirty {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	p, _ := r.position()
	if err := r.save(sctx, r.q, p); err != nil {
		r.log.Warn("relay: progress not saved at exit: the events since the last save will be delivered again",
			"events", r.unsaved, "err", err)
		return
	}
	r.unsaved, r.dirty = 0, false
}

// untilSave returns how long the relay may wait before its progress must be saved.
func (r *Relay) untilSave(now time.Time) time.Duration {
	if !r.dirty {
		return r.opts.PollInterval
	}
	return max(r.savedAt.Add(r.opts.SaveInterval).Sub(now), time.Millisecond)
}

// listen holds a connection with LISTEN outbox and drains after a notification or a poll. A
// commit notifies only when no notification was sent in the last NotifyInterval (migration
// 0006), so after a notification (and after connecting) the relay keeps draining every
// BusyInterval (at once on a notification) for twice that interval, and as long as its drains
// deliver events: under load it reads at that pace whatever the number of commits, plus at most
// one read per notification. Then, while transactions it saw in progress may still commit (one
// may be a commit that skipped its NOTIFY, still flushing), it polls at a growing interval, up to
// PollInterval. drained tells whether at least one drain succeeded on the connection.
func (r *Relay) listen(ctx context.Context, pos position) (_ position, drained bool, _ error) {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return pos, false, fmt.Errorf("relay: acquire: %w", err)
	}
	defer conn.Release()
	// The drains' statements keep one plan each: their custom plans cost more to make than to run.
	if _, err := conn.Exec(ctx, "LISTEN outbox; SET plan_cache_mode = force_generic_plan"); err != nil {
		conn.Conn().Close(ctx) //nolint:errcheck // discarding a broken connection
		return pos, false, fmt.Errorf("relay: listen: %w", err)
	}
	defer func() {
		// Do not return a LISTENing connection to the pool.
		conn.Conn().Close(context.WithoutCancel(ctx)) //nolint:errcheck
	}()
	q := db.New(conn)
	window := 2 * r.opts.NotifyInterval
	busyUntil := time.Now().Add(window) // commits may have skipped their NOTIFY before LISTEN
	idleWait := r.opts.BusyInterval
	for {
		// The notifications received so far are for commits this drain sees (its snapshot is later).
		if dropNotifications(conn.Conn()) > 0 {
			busyUntil = time.Now().Add(window)
		}
		var n int
		pos, n, err = r.drain(ctx, q, pos)
		if err != nil {
			return pos, drained, err
		}
		drained = true
		now := time.Now()
		if err := r.saveDue(ctx, q, pos, now); err != nil {
			return pos, drained, err
		}
		wait := min(r.opts.PollInterval, r.untilSave(now))
		if n > 0 || now.Before(busyUntil) {
			// Busy: read again soon without waiting for a notification, or at once on one (a
			// notification is sent at most every NotifyInterval: at most that many more reads).
			idleWait = r.opts.BusyInterval
			wait = r.opts.BusyInterval
		} else if len(pos.waiting) > 0 && idleWait < r.opts.PollInterval {
			wait = min(wait, idleWait)
			idleWait *= 2
		}
		wctx, cancel := context.WithTimeout(ctx, wait)
		_, err = conn.Conn().WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			busyUntil, idleWait = time.Now().Add(window), r.opts.BusyInterval
		case ctx.Err() != nil:
			return pos, drained, ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded):
			return pos, drained, fmt.Errorf("relay: wait: %w", err)
		}
	}
}

// dropNotifications discards the notifications c has received and not returned yet, and
// returns how many there were.
func dropNotifications(c *pgx.Conn) int {
	done, cancel := context.WithCancel(context.Background())
	cancel() // WaitForNotification returns a received one, else fails at once without reading
	for n := 0; ; n++ {
		if got, _ := c.WaitForNotification(done); got == nil {
			return n
		}
	}
}

// drain delivers the events of every transaction that finished since pos and returns the new
// position and the number of events delivered. Saving the position is the caller's (saveDue).
func (r *Relay) drain(ctx context.Context, q *db.Queries, pos position) (position, int, error) {
	now := time.Now()
	snap, err := q.CurrentSnapshot(ctx)
	if err != nil {
		return pos, 0, fmt.Errorf("relay: read snapshot: %w", err)
	}
	if snap.InProgress == nil {
		snap.InProgress = []int64{} // NULL would match no row
	}
	running := make(map[int64]bool, len(snap.InProgress))
	for _, x := range snap.InProgress {
		running[x] = true
	}
	next := position{reached: max(snap.Xmax, pos.reached), waiting: make(map[int64]time.Time)}
	ended := make([]int64, 0) // waited for, finished since
	for x, seen := range pos.waiting {
		if running[x] {
			next.waiting[x] = seen
		} else {
			ended = append(ended, x)
		}
	}
	for _, x := range snap.InProgress {
		// Below pos.reached, a running transaction is one already waited for.
		if x >= pos.reached && x < next.reached {
			next.waiting[x] = now
		}
	}
	if next.reached == pos.reached && len(ended) == 0 {
		return pos, 0, nil
	}
	// A later statement: its snapshot sees every transaction finished in snap.
	rows, err := q.ListOutboxFinished(ctx, db.ListOutboxFinishedParams{
		FromTx: pos.reached, ToTx: next.reached, Earlier: ended, InProgress: snap.InProgress,
	})
	if err != nil {
		return pos, 0, fmt.Errorf("relay: read outbox: %w", err)
	}
	for _, row := range rows {
		r.deliver(ctx, row)
	}
	r.publish(next)
	if len(rows) > 0 {
		// Without events, the saved position stays valid: resuming from it delivers nothing again.
		r.delivered(len(rows))
	}
	return next, len(rows), nil
}

// deliver hands the event of row to the Deliverer, in a span of its own (see Options.TracerProvider).
func (r *Relay) deliver(ctx context.Context, row db.Outbox) {
	m := events.Message{Event: row.Event, Rooms: row.Rooms, Payload: row.Payload}
	ctx, span := r.tracer.Start(tracing.Resume(ctx, row.TraceContext), "deliver "+row.Event, trace.WithSpanKind(trace.SpanKindConsumer))
	if span.IsRecording() {
		span.SetAttributes(
			semconv.MessagingOperationTypeProcess, semconv.MessagingDestinationName(row.Event),
			attribute.String("artisan_notify.event", row.Event),
			attribute.StringSlice("artisan_notify.rooms", row.Rooms),
			attribute.String("artisan_notify.node_id", r.opts.NodeID),
			attribute.Int64("artisan_notify.outbox.tx", row.Tx),
			attribute.Int64("artisan_notify.outbox.id", row.ID),
		)
	}
	if r.opts.BeforeDeliver != nil {
		r.opts.BeforeDeliver(m)
	}
	err := r.out.Deliver(ctx, m)
	if err != nil {
		r.log.ErrorContext(ctx, "relay: deliver", "outbox_id", row.ID, "event", row.Event, "err", err)
	}
	if r.opts.Observer != nil {
		r.opts.Observer.Delivered(row.Event, row.CreatedAt)
	}
	tracing.End(span, err)
}

// prune deletes events older than the retention window, every few minutes, a batch at a time.
func (r *Relay) prune(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		before := time.Now().Add(-r.opts.Retention)
		var total int64
		for ctx.Err() == nil {
			n, err := r.q.PruneOutbox(ctx, db.PruneOutboxParams{Before: before, MaxRows: pruneBatch})
			if err != nil {
				if ctx.Err() == nil {
					r.log.Warn("relay: prune outbox", "err", err)
				}
				break
			}
			total += n
			if n < pruneBatch {
				break
			}
		}
		if total > 0 {
			r.log.Info("relay: pruned outbox", "rows", total)
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
