package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/artisan-notify/artisan-notify/gen/events"
	"github.com/artisan-notify/artisan-notify/impl/domain"
	"github.com/artisan-notify/artisan-notify/impl/store"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// decideEnv is a fresh database with two PDGs and a store on it.
type decideEnv struct {
	pool   *pgxpool.Pool
	st     *store.Store
	a, b   domain.User // two PDGs
	client domain.User // a contact without artisan request
}

func newDecideEnv(t *testing.T, cfg func(*pgxpool.Config)) *decideEnv {
	t.Helper()
	ctx := context.Background()
	pc, err := pgxpool.ParseConfig(testdb.New(t))
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		cfg(pc)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	e := &decideEnv{pool: pool, st: store.New(pool)}
	for _, u := range []*domain.User{&e.a, &e.b, &e.client} {
		*u = e.register(t, domain.TypeClient)
	}
	for _, u := range []domain.User{e.a, e.b} {
		if _, err := e.st.GrantPDG(ctx, u.Email); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *decideEnv) register(t *testing.T, typ domain.AccountType) domain.User {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM contacts").Scan(&n); err != nil {
		t.Fatal(err)
	}
	u, err := e.st.Register(context.Background(), domain.NewContact{Prenom: "Amina", Nom: fmt.Sprintf("Diallo%d", n),
		Email: fmt.Sprintf("c%d@example.com", n), PasswordHash: "x", TypeCompte: typ})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// outboxRow is an event the outbox holds for a contact.
type outboxRow struct {
	Event   string
	Rooms   []string
	Payload map[string]any
}

// decisionEvents returns the decision events recorded for contact id, in write order.
func (e *decideEnv) decisionEvents(t *testing.T, id int64) []outboxRow {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT event, rooms, payload FROM outbox
		WHERE event IN ('artisan-request:approved', 'artisan-request:rejected') AND (payload->>'contact_id')::bigint = $1
		ORDER BY id`, id)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (outboxRow, error) {
		var o outboxRow
		var payload []byte
		err := r.Scan(&o.Event, &o.Rooms, &payload)
		if err == nil {
			err = json.Unmarshal(payload, &o.Payload)
		}
		return o, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// asRow returns a function giving the outbox row the generated emit helpers record for a message.
func asRow(t *testing.T) func(m events.Message, err error) outboxRow {
	return func(m events.Message, err error) outboxRow {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		o := outboxRow{Event: m.Event, Rooms: m.Rooms}
		if err := json.Unmarshal(m.Payload, &o.Payload); err != nil {
			t.Fatal(err)
		}
		return o
	}
}

func (e *decideEnv) status(t *testing.T, id int64) domain.ArtisanStatus {
	t.Helper()
	var s string
	if err := e.pool.QueryRow(context.Background(), "SELECT status FROM artisan_requests WHERE contact_id = $1", id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return domain.ArtisanStatus(s)
}

// Two PDGs deciding the same request at the same moment, one approving, the other rejecting:
// exactly one wins, its event is recorded once, and the other learns what was decided, by whom
// and when.
func TestDecisionRaceHasOneWinner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDecideEnv(t, nil)
	wins := map[string]int{}
	for round := range 30 {
		applicant := e.register(t, domain.TypeArtisan)
		type outcome struct {
			d   domain.Decision
			err error
			at  time.Time
		}
		var approve, reject outcome
		var wg sync.WaitGroup
		gate := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-gate
			approve.d, approve.err = e.st.Approve(ctx, applicant.ID, e.a.ID)
			approve.at = time.Now()
		}()
		go func() {
			defer wg.Done()
			<-gate
			reject.d, reject.err = e.st.Reject(ctx, applicant.ID, e.b.ID, nil)
			reject.at = time.Now()
		}()
		close(gate)
		wg.Wait()

		winner, loser, by, status := approve, reject, e.a.ID, domain.StatusApproved
		if approve.err != nil {
			winner, loser, by, status = reject, approve, e.b.ID, domain.StatusRejected
		}
		if winner.err != nil || winner.d.ContactID != applicant.ID {
			t.Fatalf("round %d: no winner: approve %+v %v, reject %+v %v", round, approve.d, approve.err, reject.d, reject.err)
		}
		var taken *domain.AlreadyDecidedError
		if !errors.As(loser.err, &taken) || !errors.Is(loser.err, domain.ErrConflict) {
			t.Fatalf("round %d: the loser got %v, want a *domain.AlreadyDecidedError", round, loser.err)
		}
		if taken.Decision.Status != status || taken.Decision.DecidedBy == nil || taken.Decision.DecidedBy.ID != by ||
			taken.Decision.DecidedAt.IsZero() || taken.Decision.DecidedAt.After(winner.at) {
			t.Fatalf("round %d: the loser learned %+v (by %v), want %s by %d before %v", round, taken.Decision,
				taken.Decision.DecidedBy, status, by, winner.at)
		}
		if got := e.status(t, applicant.ID); got != status {
			t.Fatalf("round %d: stored status %s, want %s", round, got, status)
		}
		if got := e.decisionEvents(t, applicant.ID); len(got) != 1 || got[0].Event != "artisan-request:"+string(status) {
			t.Fatalf("round %d: events %+v, want one artisan-request:%s", round, got, status)
		}
		wins[string(status)]++
	}
	t.Logf("winners over 30 races: %v", wins)
}

// A request decided earlier answers the conflict with its outcome, its PDG and its time; a contact
// without request and an unknown id are not found; neither records an event.
func TestDecisionConflictAndNotFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDecideEnv(t, nil)
	applicant := e.register(t, domain.TypeArtisan)
	reason := "Dossier incomplet"
	before := time.Now()
	d, err := e.st.Reject(ctx, applicant.ID, e.b.ID, &reason)
	if err != nil || d.ContactID != applicant.ID {
		t.Fatalf("reject: %+v %v", d, err)
	}
	var taken *domain.AlreadyDecidedError
	_, err = e.st.Approve(ctx, applicant.ID, e.a.ID)
	if !errors.As(err, &taken) || !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("approve after reject: %v, want a *domain.AlreadyDecidedError", err)
	}
	if taken.Decision.Status != domain.StatusRejected || taken.Decision.DecidedBy == nil || taken.Decision.DecidedBy.ID != e.b.ID ||
		taken.Decision.DecidedAt.Before(before.Add(-time.Second)) || taken.Decision.DecidedAt.After(time.Now()) {
		t.Fatalf("conflict says %+v, want rejected by %d just now", taken.Decision, e.b.ID)
	}
	if !strings.Contains(err.Error(), "rejected") {
		t.Errorf("the conflict's message %q does not say what was decided", err)
	}
	for _, id := range []int64{e.client.ID, 987654} {
		if _, err := e.st.Approve(ctx, id, e.a.ID); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("approve %d: %v, want not found", id, err)
		}
		if _, err := e.st.Reject(ctx, id, e.a.ID, nil); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("reject %d: %v, want not found", id, err)
		}
	}
	if got := e.decisionEvents(t, applicant.ID); len(got) != 1 {
		t.Fatalf("events %+v, want the rejection only", got)
	}
	if got := e.decisionEvents(t, e.client.ID); len(got) != 0 {
		t.Fatalf("events for a contact without request: %+v", got)
	}
}

// The decision and its event are one transaction: when the event cannot be written, the request
// stays pending and nothing is recorded; the events written are those the generated emit helpers
// write (same event, rooms and payload).
func TestDecisionAndEventAreOneTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDecideEnv(t, nil)
	applicant := e.register(t, domain.TypeArtisan)
	if _, err := e.pool.Exec(ctx, `ALTER TABLE outbox ADD CONSTRAINT refuse_approvals CHECK (event <> 'artisan-request:approved')`); err != nil {
		t.Fatal(err)
	}
	_, err := e.st.Approve(ctx, applicant.ID, e.a.ID)
	if err == nil || errors.Is(err, domain.ErrConflict) || errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("approve with its event refused: %v, want the database's error", err)
	}
	if got := e.status(t, applicant.ID); got != domain.StatusPending {
		t.Fatalf("the event was refused but the request is %s", got)
	}
	if got := e.decisionEvents(t, applicant.ID); len(got) != 0 {
		t.Fatalf("events %+v after the refused approval", got)
	}
	if _, err := e.pool.Exec(ctx, `ALTER TABLE outbox DROP CONSTRAINT refuse_approvals`); err != nil {
		t.Fatal(err)
	}
	d, err := e.st.Approve(ctx, applicant.ID, e.a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.ContactID != applicant.ID || d.NomComplet != domain.FullName(applicant.Prenom, applicant.Nom) || d.Email != applicant.Email ||
		d.Status != domain.StatusApproved || d.DecidedBy == nil || d.DecidedBy.ID != e.a.ID || d.DecidedAt.IsZero() {
		t.Fatalf("decision %+v, want %d approved by %d", d, applicant.ID, e.a.ID)
	}
	want := asRow(t)(events.NewArtisanRequestApproved(events.ArtisanRequestApproved{
		ContactID: d.ContactID, NomComplet: d.NomComplet, Email: d.Email,
		DecidedBy: events.ArtisanRequestApprovedDecidedBy{ID: d.DecidedBy.ID, Name: d.DecidedBy.Name}, DecidedAt: d.DecidedAt.Truncate(time.Second)}))
	if got := e.decisionEvents(t, applicant.ID); len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("recorded %+v, want %+v", got, want)
	}

	rejected := e.register(t, domain.TypeArtisan)
	r, err := e.st.Reject(ctx, rejected.ID, e.a.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = asRow(t)(events.NewArtisanRequestRejected(events.ArtisanRequestRejected{ContactID: rejected.ID,
		DecidedBy: events.ArtisanRequestRejectedDecidedBy{ID: e.a.ID, Name: domain.FullName(e.a.Prenom, e.a.Nom)}, DecidedAt: r.DecidedAt.Truncate(time.Second)}))
	if got := e.decisionEvents(t, rejected.ID); len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("recorded %+v, want %+v", got, want)
	}
}

// names returns the sqlc names ("-- name: X") of the statements log recorded since the last
// call, or the SQL itself for unnamed ones.
func names(log *testdb.Statements) []string {
	var out []string
	for _, s := range log.Take() {
		if rest, ok := strings.CutPrefix(s, "-- name: "); ok {
			s = strings.Fields(rest)[0]
		}
		out = append(out, s)
	}
	return out
}

// A decision is one prepared statement, without BEGIN and COMMIT; a conflict seen in the
// statement's snapshot costs nothing more.
func TestDecisionIsOnePreparedStatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log := &testdb.Statements{}
	e := newDecideEnv(t, func(c *pgxpool.Config) {
		c.MaxConns = 1
		c.ConnConfig.Tracer = log
	})
	if mode := e.pool.Config().ConnConfig.DefaultQueryExecMode; mode != pgx.QueryExecModeCacheStatement {
		t.Fatalf("query exec mode %v, want the prepared statements' cache", mode)
	}
	applicant := e.register(t, domain.TypeArtisan)
	names(log)
	if _, err := e.st.Approve(ctx, applicant.ID, e.a.ID); err != nil {
		t.Fatal(err)
	}
	if got := names(log); !slices.Equal(got, []string{"DecideRequest"}) {
		t.Fatalf("an approval ran %q, want only DecideRequest", got)
	}
	if _, err := e.st.Reject(ctx, applicant.ID, e.a.ID, nil); !errors.Is(err, domain.ErrConflict) {
		t.Fatal(err)
	}
	if got := names(log); !slices.Equal(got, []string{"DecideRequest"}) {
		t.Fatalf("a conflict ran %q, want only DecideRequest", got)
	}
	var prepared int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '-- name: DecideRequest %'`).
		Scan(&prepared); err != nil {
		t.Fatal(err)
	}
	if prepared != 1 {
		t.Fatalf("the decision is prepared %d times on the connection, want once", prepared)
	}
}

// A call that waits for the row while another transaction decides it (its statement began before
// that commit) answers with that transaction's decision, read after the commit in the same
// statement.
func TestDecisionWaitingForTheRowLearnsTheOutcome(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log := &testdb.Statements{}
	e := newDecideEnv(t, func(c *pgxpool.Config) { c.ConnConfig.Tracer = log })
	applicant := e.register(t, domain.TypeArtisan)
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op once committed
	var decidedAt time.Time
	if err := tx.QueryRow(ctx, `UPDATE artisan_requests SET status = 'approved', decided_by = $2,
		decided_at = now() WHERE contact_id = $1 RETURNING decided_at`, applicant.ID, e.b.ID).Scan(&decidedAt); err != nil {
		t.Fatal(err)
	}
	names(log)
	done := make(chan error, 1)
	go func() {
		_, err := e.st.Reject(ctx, applicant.ID, e.a.ID, nil)
		done <- err
	}()
	// Wait until the call waits for the row lock.
	for waiting := false; !waiting; {
		if err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '-- name: DecideRequest%')`).
			Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("the call did not wait for the row: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	err = <-done
	var taken *domain.AlreadyDecidedError
	if !errors.As(err, &taken) || taken.Decision.Status != domain.StatusApproved || taken.Decision.DecidedBy == nil ||
		taken.Decision.DecidedBy.ID != e.b.ID || !taken.Decision.DecidedAt.Equal(decidedAt) {
		t.Fatalf("the waiting call got %v (%+v), want approved by %d at %v", err, taken.Decision, e.b.ID, decidedAt)
	}
	var ran []string
	for _, n := range names(log) {
		if n != "commit" && !strings.Contains(n, "pg_stat_activity") { // the test's own
			ran = append(ran, n)
		}
	}
	if !slices.Equal(ran, []string{"DecideRequest"}) {
		t.Fatalf("the call ran %q, want only DecideRequest", ran)
	}
	if got := e.decisionEvents(t, applicant.ID); len(got) != 0 {
		t.Fatalf("the losing call recorded %+v", got)
	}
}

// The decision's event payload, built by the statement itself, is the contract's: the generated
// types decode it to exactly what the store answered (who, when, the reason), and it has no other
// field.
func TestDecisionEventIsTheContractsPayload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDecideEnv(t, nil)
	rawEvent := func(id int64) (events.Message, map[string]any) {
		t.Helper()
		var m events.Message
		if err := e.pool.QueryRow(ctx, `SELECT event, rooms, payload FROM outbox
			WHERE event IN ('artisan-request:approved', 'artisan-request:rejected') AND (payload->>'contact_id')::bigint = $1`, id).
			Scan(&m.Event, &m.Rooms, &m.Payload); err != nil {
			t.Fatal(err)
		}
		var fields map[string]any
		if err := json.Unmarshal(m.Payload, &fields); err != nil {
			t.Fatal(err)
		}
		return m, fields
	}
	keys := func(m map[string]any) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	by := events.ArtisanRequestApprovedDecidedBy{ID: e.a.ID, Name: domain.FullName(e.a.Prenom, e.a.Nom)}

	applicant := e.register(t, domain.TypeArtisan)
	d, err := e.st.Approve(ctx, applicant.ID, e.a.ID)
	if err != nil {
		t.Fatal(err)
	}
	m, fields := rawEvent(applicant.ID)
	got, err := events.DecodeArtisanRequestApproved(m)
	want := events.ArtisanRequestApproved{ContactID: applicant.ID, NomComplet: domain.FullName(applicant.Prenom, applicant.Nom),
		Email: applicant.Email, DecidedBy: by, DecidedAt: d.DecidedAt.Truncate(time.Second).UTC()}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("approved payload %s decodes to %+v (%v), want %+v", m.Payload, got, err, want)
	}
	if k := keys(fields); !slices.Equal(k, []string{"contact_id", "decided_at", "decided_by", "email", "nom_complet"}) {
		t.Errorf("approved payload fields %v", k)
	}
	if d.DecidedBy == nil || d.DecidedBy.ID != by.ID || d.DecidedBy.Name != by.Name || d.Status != domain.StatusApproved {
		t.Errorf("the store answered %+v, want approved by %+v", d, by)
	}

	for _, reason := range []*string{ptr("Pièces manquantes"), nil} {
		applicant := e.register(t, domain.TypeArtisan)
		d, err := e.st.Reject(ctx, applicant.ID, e.a.ID, reason)
		if err != nil {
			t.Fatal(err)
		}
		m, fields := rawEvent(applicant.ID)
		got, err := events.DecodeArtisanRequestRejected(m)
		want := events.ArtisanRequestRejected{ContactID: applicant.ID,
			DecidedBy: events.ArtisanRequestRejectedDecidedBy(by), DecidedAt: d.DecidedAt.Truncate(time.Second).UTC()}
		wantKeys := []string{"contact_id", "decided_at", "decided_by"}
		if reason != nil {
			want.Reason = *reason
			wantKeys = append(wantKeys, "reason")
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("rejected payload %s decodes to %+v (%v), want %+v", m.Payload, got, err, want)
		}
		if k := keys(fields); !slices.Equal(k, wantKeys) {
			t.Errorf("rejected payload fields %v, want %v", k, wantKeys)
		}
	}

	// The loser learns the winner's name and reason too, for the 409.
	_, err = e.st.Approve(ctx, applicant.ID, e.b.ID)
	var taken *domain.AlreadyDecidedError
	if !errors.As(err, &taken) || taken.Decision.DecidedBy == nil || taken.Decision.DecidedBy.Name != by.Name ||
		taken.Decision.Status != domain.StatusApproved {
		t.Fatalf("second approval: %v, want the first decision by %s", err, by.Name)
	}
}

func ptr[T any](v T) *T { return &v }

// A request goes with its contact, even when the contact is deleted while a decision of its request
// is being written: the deletion waits for the decision and then removes the decided request too,
// so no request is left without its contact (counted by CountRequests, listed nowhere).
func TestDecisionRacingTheApplicantsDeletionLeavesNoRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDecideEnv(t, nil)
	applicant := e.register(t, domain.TypeArtisan)
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op once committed
	// The decision, as DecideRequest writes it: the pending row replaced by the decided one.
	if _, err := tx.Exec(ctx, `WITH p AS (DELETE FROM artisan_requests WHERE contact_id = $1 AND status = 'pending'
		RETURNING contact_id, created_at)
		INSERT INTO artisan_requests (contact_id, status, created_at, decided_by, decided_at)
		SELECT contact_id, 'approved', created_at, $2, now() FROM p`, applicant.ID, e.a.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := e.pool.Exec(ctx, "-- the deletion\nDELETE FROM contacts WHERE id = $1", applicant.ID)
		done <- err
	}()
	for waiting := false; !waiting; {
		if err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '-- the deletion%')`).
			Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("the deletion did not wait for the decision: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var left int
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM artisan_requests WHERE contact_id = $1", applicant.ID).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d request rows left for the deleted contact %d", left, applicant.ID)
	}
	page, err := e.st.Requests(ctx, domain.RequestQuery{Filter: domain.FilterAll, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != int64(len(page.Requests)) {
		t.Fatalf("the list counts %d requests and shows %d", page.Total, len(page.Requests))
	}
}

// Only a PDG decides, checked by the statement that decides: a decider whose PDG right was revoked,
// or whose contact was deleted, after its call was authorized is refused, the request stays
// pending, no event is recorded, and a PDG can still decide it.
func TestDecisionByAFormerPDGIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDecideEnv(t, nil)
	applicant := e.register(t, domain.TypeArtisan)
	if _, err := e.st.RevokePDG(ctx, e.a.Email); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Approve(ctx, applicant.ID, e.a.ID); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("approve by a revoked PDG: %v, want forbidden", err)
	}
	if _, err := e.pool.Exec(ctx, "DELETE FROM contacts WHERE id = $1", e.b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Reject(ctx, applicant.ID, e.b.ID, nil); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("reject by a deleted PDG: %v, want forbidden", err)
	}
	if got := e.status(t, applicant.ID); got != domain.StatusPending {
		t.Fatalf("the request is %q, want still pending", got)
	}
	if got := e.decisionEvents(t, applicant.ID); len(got) != 0 {
		t.Fatalf("refused decisions recorded %+v", got)
	}
	if _, err := e.st.GrantPDG(ctx, e.a.Email); err != nil {
		t.Fatal(err)
	}
	if d, err := e.st.Approve(ctx, applicant.ID, e.a.ID); err != nil || d.DecidedBy == nil || d.DecidedBy.ID != e.a.ID {
		t.Fatalf("approve by a PDG again: %+v %v", d, err)
	}
}

// Requests go with their contacts when the contacts are emptied at once (TRUNCATE ... CASCADE,
// which fires no row trigger): no request is left counted or listed without its contact.
func TestEmptyingTheContactsLeavesNoRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDecideEnv(t, nil)
	pending, decided := e.register(t, domain.TypeArtisan), e.register(t, domain.TypeArtisan)
	if _, err := e.st.Approve(ctx, decided.ID, e.a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, "TRUNCATE contacts CASCADE"); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM artisan_requests").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d request rows left after emptying the contacts (contacts %d and %d)", left, pending.ID, decided.ID)
	}
	if n, err := e.st.CountPending(ctx); err != nil || n != 0 {
		t.Fatalf("CountPending = %d, %v; want 0", n, err)
	}
	page, err := e.st.Requests(ctx, domain.RequestQuery{Filter: domain.FilterAll, Limit: 10})
	if err != nil || page.Total != 0 || len(page.Requests) != 0 {
		t.Fatalf("Requests after emptying the contacts: %d of %d (%v), want none", len(page.Requests), page.Total, err)
	}
}
