package tests

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/artisan-notify/artisan-notify/gen/events"
	"github.com/artisan-notify/artisan-notify/impl/apptest"
	"github.com/artisan-notify/artisan-notify/impl/proctest"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// TestHostilePollingClientThatNeverPollsIsCut: a long-polling session keeps what is sent to it
// until the client's next poll, and a client can keep its session alive without polling (a PONG
// needs no PING). A PDG client that connects and then never polls again would make the server hold
// every event of every PDG for as long as it liked. Once more than 1 MB waits for it, its session
// is closed; a polling client that reads, beside it, gets every event and stays connected.
func TestHostilePollingClientThatNeverPollsIsCut(t *testing.T) {
	db := testdb.New(t)
	srv := proctest.Start(t, apptest.LimitedEnv(db, "info"))
	pdg := makePDG(t, srv)
	hc := &http.Client{Timeout: 30 * time.Second}
	hostile, reader := pollingConnect(t, hc, srv.URL, pdg.Token), pollingConnect(t, hc, srv.URL, pdg.Token)

	// The reader polls without pause and counts the events it gets.
	var got atomic.Int64
	stop := make(chan struct{})
	readerDone := make(chan string, 1)
	go func() {
		for {
			select {
			case <-stop:
				readerDone <- ""
				return
			default:
			}
			r, err := hc.Get(reader)
			if err != nil {
				readerDone <- err.Error()
				return
			}
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if r.StatusCode != http.StatusOK {
				readerDone <- "poll answered " + r.Status + ": " + string(b)
				return
			}
			got.Add(int64(strings.Count(string(b), "artisan-request:new")))
		}
	}()

	// 3 MB of events for the PDGs, written as the relay delivers them: 30 commits of 100 events of
	// about 1 KB, 100 ms apart. The hostile client sends a PONG now and then and never polls.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	const batches, perBatch = 30, 100
	for i := range batches {
		if _, err := conn.Exec(ctx, `INSERT INTO outbox (event, rooms, payload)
			SELECT $1, ARRAY[$2], jsonb_build_object('contact_id', 1000000 + $3::int * 1000 + g,
				'nom_complet', repeat('n', 900), 'email', 'x' || g || '@example.test', 'created_at', '2026-11-30T10:00:00Z')
			FROM generate_series(1, $4::int) AS g`, events.EventArtisanRequestNew, events.RoomPDGNotifications, i, perBatch); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			r, err := hc.Post(hostile, "text/plain;charset=UTF-8", strings.NewReader("3"))
			if err == nil {
				r.Body.Close()
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	deadline := time.Now().Add(20 * time.Second)
	for got.Load() < batches*perBatch && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	if n := got.Load(); n != batches*perBatch {
		t.Fatalf("the reading client got %d of %d events", n, batches*perBatch)
	}
	select {
	case msg := <-readerDone:
		if msg != "" {
			t.Fatalf("the reading client: %s", msg)
		}
	default: // still in a poll, which waits for the next packet: connected
	}

	// The hostile session is gone: its next poll names an unknown session.
	r, err := hc.Get(hostile)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<22))
	r.Body.Close()
	if r.StatusCode != http.StatusBadRequest {
		t.Fatalf("a client that never polled while 3 MB of events were sent to it: its poll answered %d with %d bytes, want 400 (session closed)", r.StatusCode, len(b))
	}
	if !strings.Contains(srv.Logs(), "client not reading") {
		t.Fatalf("no log of the session cut")
	}
}
