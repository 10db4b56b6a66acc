package tests

// An attacker (or a forgotten psql session) with access to the database holds a transaction open:
// the events of the transactions that commit meanwhile, and the revocations that travel the same
// outbox, still reach the sockets at once.

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/artisan-notify/artisan-notify/impl/proctest"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// TestHostileRelayLongTransactionDoesNotStallEvents: another session runs BEGIN; SELECT
// pg_current_xact_id(); SELECT pg_sleep(15) on the server's database. While it runs, an Artisan's
// registration reaches a PDG socket, and a revoke-tokens disconnects a socket, within 2 s each.
func TestHostileRelayLongTransactionDoesNotStallEvents(t *testing.T) {
	dbURL := testdb.New(t)
	srv := proctest.Start(t, nodeEnv(dbURL, "node-a"))
	pdg, victim := makePDG(t, srv), makePDG(t, srv)
	c := newClients(t)
	c.open("pdg", pdg.Token, srv.URL)
	c.open("victim", victim.Token, srv.URL)
	c.waitConnected(1, "pdg", "victim")

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
		t.Fatal(err)
	}
	sleepCtx, cancel := context.WithCancel(ctx)
	slept, finished := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(finished)
		_, err := conn.Exec(sleepCtx, "SELECT pg_sleep(15)")
		slept <- err
	}()
	t.Cleanup(func() { cancel(); <-finished }) // before the connection is closed
	time.Sleep(1500 * time.Millisecond)        // the relay reads (polls) with the transaction open
	stillOpen := func(what string) {
		t.Helper()
		select {
		case err := <-slept:
			t.Fatalf("the long transaction ended (%v) before %s", err, what)
		default:
		}
	}

	artisan := register(t, srv.URL, typeArtisan)
	committed := time.Now() // the registration answered: its transaction committed
	c.waitEvent("pdg", evNew, artisan.ID)
	took := time.Since(committed)
	stillOpen("the event arrived")
	if took > 2*time.Second {
		t.Fatalf("%s reached the PDG socket %v after its commit, with a transaction open", evNew, took)
	}
	t.Logf("%s reached the PDG socket %v after its commit, with a transaction open", evNew, took.Round(time.Millisecond))

	operator(t, srv, "revoke-tokens", victim.Email)
	revoked := time.Now()
	c.waitUntil(waitLong, "victim to be disconnected", func() bool { return len(c.socks["victim"].disconnects) > 0 })
	took = time.Since(revoked)
	stillOpen("the revocation acted")
	if took > 2*time.Second {
		t.Fatalf("revoke-tokens disconnected the socket %v after its commit, with a transaction open", took)
	}
	t.Logf("revoke-tokens disconnected the socket %v after its commit, with a transaction open", took.Round(time.Millisecond))
	mustCall(t, "GET", srv.URL+"/api/users/me", victim.Token, nil, http.StatusUnauthorized)
}
