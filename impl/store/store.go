// Package store is the application's storage in PostgreSQL (domain.Store): every public method
// is one transaction (or one query), and database errors are translated to the domain's errors
// at the query site.
package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/artisan-notify/artisan-notify/gen/db"
	"github.com/artisan-notify/artisan-notify/gen/events"
	"github.com/artisan-notify/artisan-notify/impl/domain"
	"github.com/artisan-notify/artisan-notify/impl/tracing"
)

// Store is the PostgreSQL-backed storage.
type Store struct {
	pool *pgxpool.Pool
	q    *db.Queries
}

var _ domain.Store = (*Store)(nil)

// New returns a Store using pool.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, q: db.New(pool)}
}

// Ping returns an error wrapping domain.ErrUnavailable if the database does not answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return translate("ping database", err)
	}
	return nil
}

// Register stores a new contact; for an Artisan/Promoteur it opens a pending request and records
// artisan-request:new in the outbox, in the same transaction.
// Returns domain.ErrEmailTaken if another contact has the email.
func (s *Store) Register(ctx context.Context, c domain.NewContact) (_ domain.User, err error) {
	ctx, span := tracing.Child(ctx, "store.Register")
	defer func() { endSpan(span, err) }()
	var u domain.User
	err = s.inTx(ctx, func(q *db.Queries) error {
		status := domain.InitialStatus(c.TypeCompte)
		row, err := q.CreateContact(ctx, db.CreateContactParams{
			Prenom: c.Prenom, Nom: c.Nom, Email: c.Email, PasswordHash: c.PasswordHash,
			TypeCompte: db.AccountType(c.TypeCompte), ArtisanStatus: db.ArtisanStatus(status),
		})
		if err != nil {
			return translate("create contact", err)
		}
		u = userOf(db.GetUserRow(row))
		if status != domain.StatusPending {
			return nil
		}
		return events.EmitArtisanRequestNew(ctx, outbox{q}, events.ArtisanRequestNew{
			ContactID: row.ID, Prenom: row.Prenom, Nom: row.Nom, NomComplet: domain.FullName(row.Prenom, row.Nom),
			Email: row.Email, TypeCompte: string(row.TypeCompte), CreatedAt: row.CreatedAt.Truncate(time.Second), // as the REST API shows it
		})
	})
	if err != nil {
		return domain.User{}, fmt.Errorf("register %s: %w", c.TypeCompte, err)
	}
	return u, nil
}

// Credentials returns the id and password hash of the contact with this email.
// Returns domain.ErrNotFound if there is none.
func (s *Store) Credentials(ctx context.Context, email string) (id int64, passwordHash string, err error) {
	row, err := s.q.GetCredentialsByEmail(ctx, email)
	if err != nil {
		return 0, "", translate("get credentials", err)
	}
	return row.ID, row.PasswordHash, nil
}

// User returns the contact with its PDG right. Returns domain.ErrNotFound if there is none.
func (s *Store) User(ctx context.Context, id int64) (domain.User, error) {
	row, err := s.q.GetUser(ctx, id)
	if err != nil {
		return domain.User{}, translate(fmt.Sprintf("get user %d", id), err)
	}
	return userOf(row), nil
}

// userOf is the one mapping of a contact row to a user: CreateContact and ListPDG return the
// columns of GetUser, so their rows convert to its row type.
func userOf(row db.GetUserRow) domain.User {
	return domain.User{ID: row.ID, Prenom: row.Prenom, Nom: row.Nom, Email: row.Email, TypeCompte: domain.AccountType(row.TypeCompte),
		DemandeArtisan: row.DemandeArtisan, ArtisanStatus: domain.ArtisanStatus(row.ArtisanStatus), IsPDG: row.IsPdg,
		TokenVersion: row.TokenVersion, DecidedAt: timeOf(row.DecidedAt), DecisionReason: row.DecisionReason}
}

// timeOf returns a nullable timestamp's time, nil for NULL.
func timeOf(t pgtype.Timestamptz) *time.Time {
	if !t.Valid {
		return nil
	}
	at := t.Time
	return &at
}

// deciderOf returns the PDG who decided, nil when there is none (no decision, or that contact was removed).
func deciderOf(id *int64, prenom, nom *string) *domain.Decider {
	if id == nil || prenom == nil || nom == nil {
		return nil
	}
	return &domain.Decider{ID: *id, Name: domain.FullName(*prenom, *nom)}
}

// requestRow is the row of the request pages (ListPendingPage, ListAllRequestsPage and
// ListDecidedPage return the same columns).
type requestRow = db.ListPendingPageRow

func requestOf(r requestRow) domain.ArtisanRequest {
	return domain.ArtisanRequest{ContactID: r.ID, Prenom: r.Prenom, Nom: r.Nom, Email: r.Email,
		TypeCompte: domain.AccountType(r.TypeCompte), CreatedAt: r.CreatedAt, Status: domain.ArtisanStatus(r.ArtisanStatus),
		DecidedBy: deciderOf(r.DecidedBy, r.DeciderPrenom, r.DeciderNom), DecidedAt: timeOf(r.DecidedAt), Reason: r.DecisionReason}
}

// Requests returns the page of requests q asks for (q.Search already trimmed), and how many
// match q in all, from one snapshot.
func (s *Store) Requests(ctx context.Context, q domain.RequestQuery) (domain.RequestPage, error) {
	var page domain.RequestPage
	var pattern *string
	if q.Search != "" {
		p := "%" + likeEscaper.Replace(q.Search) + "%"
		pattern = &p
	}
	after := domain.Keyset{At: endOfTime, ID: math.MaxInt64}
	if q.After != nil {
		after = *q.After
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// Plan each query for its values: a search uses the trigram index, a page without one the
		// keyset index of its order (a generic plan could not choose between them).
		if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_custom_plan"); err != nil {
			return err
		}
		qtx := s.q.WithTx(tx)
		var (
			rows []requestRow
			err  error
		)
		limit := q.Limit + 1 // one more tells whether a next page exists
		switch q.Filter {
		case domain.FilterAll:
			var rs []db.ListAllRequestsPageRow
			rs, err = qtx.ListAllRequestsPage(ctx, db.ListAllRequestsPageParams{BeforeAt: after.At, BeforeID: after.ID, Pattern: pattern, MaxRows: limit})
			for _, r := range rs {
				rows = append(rows, requestRow(r))
			}
		case domain.FilterApproved, domain.FilterRejected:
			var rs []db.ListDecidedPageRow
			rs, err = qtx.ListDecidedPage(ctx, db.ListDecidedPageParams{Status: db.ArtisanStatus(q.Filter), BeforeAt: after.At,
				BeforeID: after.ID, Pattern: pattern, MaxRows: limit})
			for _, r := range rs {
				rows = append(rows, requestRow(r))
			}
		default:
			rows, err = qtx.ListPendingPage(ctx, db.ListPendingPageParams{BeforeAt: after.At, BeforeID: after.ID, Pattern: pattern, MaxRows: limit})
		}
		if err != nil {
			return err
		}
		if int32(len(rows)) > q.Limit {
			rows = rows[:q.Limit]
			last := requestOf(rows[len(rows)-1])
			next := domain.Keyset{At: last.CreatedAt, ID: last.ContactID}
			if q.Filter.ByDecision() && last.DecidedAt != nil {
				next.At = *last.DecidedAt
			}
			page.Next = &next
		}
		page.Requests = make([]domain.ArtisanRequest, len(rows))
		for i, r := range rows {
			page.Requests[i] = requestOf(r)
		}
		if q.After == nil && page.Next == nil {
			page.Total = int64(len(rows))
			return nil
		}
		var status *db.ArtisanStatus
		if q.Filter != domain.FilterAll {
			st := db.ArtisanStatus(q.Filter)
			status = &st
		}
		page.Total, err = qtx.CountRequests(ctx, db.CountRequestsParams{Status: status, Pattern: pattern})
		return err
	})
	if err != nil {
		return domain.RequestPage{}, translate(fmt.Sprintf("list %s requests", q.Filter), err)
	}
	return page, nil
}

// endOfTime is after every timestamp: the keyset of the first page.
var endOfTime = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// likeEscaper makes a search text match literally in an ILIKE pattern (backslash is the escape).
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// PendingRequests returns up to limit pending requests, newest first, and how many are pending in all.
func (s *Store) PendingRequests(ctx context.Context, limit int32) ([]domain.ArtisanRequest, int64, error) {
	var (
		out   []domain.ArtisanRequest
		total int64
	)
	// One snapshot for the page and the count, so that they agree.
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		rows, err := q.ListPendingRequests(ctx, limit)
		if err != nil {
			return err
		}
		out = make([]domain.ArtisanRequest, len(rows))
		for i, r := range rows {
			out[i] = domain.ArtisanRequest{ContactID: r.ID, Prenom: r.Prenom, Nom: r.Nom, Email: r.Email,
				TypeCompte: domain.AccountType(r.TypeCompte), CreatedAt: r.CreatedAt}
		}
		if int64(len(rows)) < int64(limit) {
			total = int64(len(rows))
			return nil
		}
		total, err = q.CountPendingRequests(ctx)
		return err
	})
	if err != nil {
		return nil, 0, translate("list pending requests", err)
	}
	return out, total, nil
}

// CountPending returns the number of pending requests.
func (s *Store) CountPending(ctx context.Context) (int64, error) {
	n, err := s.q.CountPendingRequests(ctx)
	if err != nil {
		return 0, translate("count pending requests", err)
	}
	return n, nil
}

// Approve approves the pending request of contact id, decided by the PDG decidedBy, and records
// artisan-request:approved in the outbox, in one transaction.
// Returns domain.ErrNotFound if the contact has no artisan request, a *domain.AlreadyDecidedError
// (which is domain.ErrConflict) if it was already decided.
func (s *Store) Approve(ctx context.Context, id, decidedBy int64) (_ domain.Decision, err error) {
	ctx, span := tracing.Child(ctx, "store.Approve")
	defer func() { endSpan(span, err) }()
	m, err := events.NewArtisanRequestApproved(events.ArtisanRequestApproved{ContactID: id})
	if err != nil {
		return domain.Decision{}, fmt.Errorf("approve request %d: %w", id, err)
	}
	d, err := s.decide(ctx, id, decidedBy, domain.StatusApproved, nil, m)
	if err != nil {
		return domain.Decision{}, fmt.Errorf("approve request %d: %w", id, err)
	}
	return d, nil
}

// Reject rejects the pending request of contact id, keeping the optional reason, and records
// artisan-request:rejected in the outbox, in one transaction.
// Returns domain.ErrNotFound if the contact has no artisan request, a *domain.AlreadyDecidedError
// (which is domain.ErrConflict) if it was already decided.
func (s *Store) Reject(ctx context.Context, id, decidedBy int64, reason *string) (_ domain.Decision, err error) {
	ctx, span := tracing.Child(ctx, "store.Reject")
	defer func() { endSpan(span, err) }()
	m, err := events.NewArtisanRequestRejected(events.ArtisanRequestRejected{ContactID: id})
	if err != nil {
		return domain.Decision{}, fmt.Errorf("reject request %d: %w", id, err)
	}
	d, err := s.decide(ctx, id, decidedBy, domain.StatusRejected, reason, m)
	if err != nil {
		return domain.Decision{}, fmt.Errorf("reject request %d: %w", id, err)
	}
	return d, nil
}

// decide runs the decision as one statement (DecideRequest: the request's row and the outbox row, so one
// implicit transaction and one round trip), which records the event m names (its name and rooms;
// the statement builds the payload from the decided row) and, when the request was not pending,
// returns its decision as it stands.
func (s *Store) decide(ctx context.Context, id, decidedBy int64, status domain.ArtisanStatus, reason *string,
	m events.Message) (domain.Decision, error) {
	row, err := s.q.DecideRequest(ctx, db.DecideRequestParams{ID: id, Status: db.ArtisanStatus(status),
		DecidedBy: decidedBy, Reason: reason, Event: m.Event, Rooms: m.Rooms, TraceContext: tracing.Carry(ctx)})
	if err != nil {
		return domain.Decision{}, translate("decide request", err)
	}
	if row.DecidedID != nil {
		d := domain.Decision{ContactID: *row.DecidedID, NomComplet: domain.FullName(deref(row.Prenom), deref(row.Nom)),
			Email: deref(row.Email), Status: status, DecidedAt: row.DecidedAt.Time, Reason: reason}
		if row.DeciderName != nil {
			d.DecidedBy = &domain.Decider{ID: decidedBy, Name: *row.DeciderName}
		}
		return d, nil
	}
	switch current := row.CurrentStatus; {
	case current == nil || *current == db.ArtisanStatusNone:
		return domain.Decision{}, domain.ErrNotFound
	case *current == db.ArtisanStatusPending: // the pending row was there: the decider is no PDG (any more)
		return domain.Decision{}, fmt.Errorf("decide request %d: contact %d is no PDG: %w", id, decidedBy, domain.ErrForbidden)
	default:
		taken := domain.Decision{ContactID: id, Status: domain.ArtisanStatus(*current), DecidedAt: row.CurrentDecidedAt.Time,
			Reason: row.CurrentReason}
		if row.CurrentDecidedBy != nil && row.CurrentDeciderName != nil {
			taken.DecidedBy = &domain.Decider{ID: *row.CurrentDecidedBy, Name: *row.CurrentDeciderName}
		}
		return domain.Decision{}, &domain.AlreadyDecidedError{Decision: taken}
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// GrantPDG makes the contact with this email a PDG and returns its id; its connected sockets
// join the PDG room. Returns domain.ErrNotFound if no contact has the email.
func (s *Store) GrantPDG(ctx context.Context, email string) (int64, error) {
	return s.changeRights(ctx, "grant PDG", true, func(q *db.Queries) (int64, error) { return q.GrantPDG(ctx, email) })
}

// RevokePDG removes the PDG right of the contact with this email and returns its id; its
// connected sockets leave the PDG room. Returns domain.ErrNotFound if that contact is not a PDG.
func (s *Store) RevokePDG(ctx context.Context, email string) (int64, error) {
	return s.changeRights(ctx, "revoke PDG", false, func(q *db.Queries) (int64, error) { return q.RevokePDG(ctx, email) })
}

// changeRights runs change, which sets the contact's PDG right to isPDG, and records
// internal:user-changed then user:rights-changed, in one transaction. The relay delivers them in
// that order: each node moves the contact's sockets in or out of the PDG room, then tells them.
func (s *Store) changeRights(ctx context.Context, op string, isPDG bool, change func(*db.Queries) (int64, error)) (int64, error) {
	return s.changeUser(ctx, op, change, func(q *db.Queries, id int64) error {
		return events.EmitUserRightsChanged(ctx, outbox{q}, events.UserRightsChanged{ContactID: id, IsPDG: isPDG})
	})
}

// RevokeTokens invalidates every token of the contact with this email and disconnects its
// sockets. Returns domain.ErrNotFound if no contact has the email.
func (s *Store) RevokeTokens(ctx context.Context, email string) (int64, error) {
	return s.changeUser(ctx, "revoke tokens", func(q *db.Queries) (int64, error) { return q.BumpTokenVersion(ctx, email) }, nil)
}

// changeUser runs change and records internal:user-changed for the contact it returns, then runs
// then (when not nil) with it, in one transaction.
func (s *Store) changeUser(ctx context.Context, op string, change func(*db.Queries) (int64, error), then func(*db.Queries, int64) error) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(q *db.Queries) error {
		var err error
		if id, err = change(q); err != nil {
			return translate(op, err)
		}
		if err := events.EmitInternalUserChanged(ctx, outbox{q}, events.InternalUserChanged{ContactID: id}); err != nil {
			return err
		}
		if then == nil {
			return nil
		}
		return then(q, id)
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	return id, nil
}

// PDGs returns every PDG, by id.
func (s *Store) PDGs(ctx context.Context) ([]domain.User, error) {
	rows, err := s.q.ListPDG(ctx)
	if err != nil {
		return nil, translate("list PDG", err)
	}
	out := make([]domain.User, len(rows))
	for i, r := range rows {
		out[i] = userOf(db.GetUserRow(r))
	}
	return out, nil
}

func (s *Store) inTx(ctx context.Context, fn func(*db.Queries) error) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(s.q.WithTx(tx)) })
	if err != nil {
		return translate("transaction", err)
	}
	return nil
}

// outbox is the events.Emitter of a transaction: it records the message in the outbox table,
// to be delivered by the relay once the transaction has committed, with the trace context of
// ctx (the relays record their deliveries in the same trace).
type outbox struct{ q *db.Queries }

func (o outbox) Emit(ctx context.Context, m events.Message) error {
	err := o.q.InsertOutbox(ctx, db.InsertOutboxParams{Event: m.Event, Rooms: m.Rooms, Payload: m.Payload, TraceContext: tracing.Carry(ctx)})
	if err != nil {
		return translate("record "+m.Event, err)
	}
	return nil
}

// translate maps driver errors to this package's errors, keeping the cause for logs.
func translate(op string, err error) error {
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.Is(err, domain.ErrNotFound), errors.Is(err, domain.ErrConflict), errors.Is(err, domain.ErrEmailTaken), errors.Is(err, domain.ErrUnavailable):
		return err
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%s: %w", op, domain.ErrNotFound)
	case errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "contacts_email_key":
		return fmt.Errorf("%s: %w", op, domain.ErrEmailTaken)
	case errors.As(err, &pgErr) && (pgErr.Code == "57P01" || pgErr.Code == "57P03" || strings.HasPrefix(pgErr.Code, "08")):
		return fmt.Errorf("%s: %w: %w", op, domain.ErrUnavailable, err)
	case pgconn.Timeout(err), errors.As(err, &netErr), isConnectError(err):
		return fmt.Errorf("%s: %w: %w", op, domain.ErrUnavailable, err)
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

func isConnectError(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}
