package domain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/artisan-notify/artisan-notify/impl/auth"
)

// Store is the storage the flows need. Each method is one transaction; its errors are this
// package's (ErrNotFound, ErrConflict, ErrEmailTaken, ErrUnavailable), wrapped.
type Store interface {
	Ping(ctx context.Context) error
	// Register stores c, with the status InitialStatus gives its account type.
	Register(ctx context.Context, c NewContact) (User, error)
	Credentials(ctx context.Context, email string) (id int64, passwordHash string, err error)
	User(ctx context.Context, id int64) (User, error)
	PendingRequests(ctx context.Context, limit int32) ([]ArtisanRequest, int64, error)
	// Requests returns the page of requests q asks for.
	Requests(ctx context.Context, q RequestQuery) (RequestPage, error)
	CountPending(ctx context.Context) (int64, error)
	Approve(ctx context.Context, id, decidedBy int64) (Decision, error)
	Reject(ctx context.Context, id, decidedBy int64, reason *string) (Decision, error)
	RevokeTokens(ctx context.Context, email string) (int64, error)
}

// Passwords hashes and verifies passwords. Its errors wrap auth.ErrBusy when it is saturated,
// and Verify's wrap auth.ErrMismatch for a wrong password.
type Passwords interface {
	Hash(password string) (string, error)
	Verify(hash, password string) error
	// VerifyDummy does the work of Verify for an unknown account, so that failing costs the
	// same whatever the reason.
	VerifyDummy(password string) error
}

// Tokens issues access tokens.
type Tokens interface {
	Issue(userID int64, tokenVersion int32) (string, time.Time, error)
}

// Session is a signed-in user and its access token.
type Session struct {
	User  User
	Token string
}

// Service runs the application's flows on a Store.
type Service struct {
	store     Store
	passwords Passwords
	tokens    Tokens
	log       *slog.Logger
}

// NewService returns the Service.
func NewService(s Store, p Passwords, t Tokens, log *slog.Logger) *Service {
	return &Service{store: s, passwords: p, tokens: t, log: log}
}

// Register opens an account (and, for an Artisan/Promoteur, a pending request) and signs it in.
// It returns an *InvalidError if r breaks a rule, ErrEmailTaken if the email has an account.
func (s *Service) Register(ctx context.Context, r Registration) (Session, error) {
	c, err := r.Validate()
	if err != nil {
		return Session{}, err
	}
	if c.PasswordHash, err = s.passwords.Hash(r.Password); err != nil {
		return Session{}, err
	}
	u, err := s.store.Register(ctx, c)
	if err != nil {
		return Session{}, err
	}
	if u.ArtisanStatus == StatusPending {
		s.log.InfoContext(ctx, "artisan request opened", "contact_id", u.ID)
	}
	return s.session(u)
}

// Login signs in the account of email. Every bad credential (malformed, unknown email, wrong
// password) costs the same password work and returns a *BadLoginError; a saturated hasher
// returns its error (auth.ErrBusy).
func (s *Service) Login(ctx context.Context, email, password string) (Session, error) {
	email = NormalizeEmail(email)
	if !ValidEmail(email) || utf8.RuneCountInString(password) > MaxPassword || !utf8.ValidString(password) {
		if err := s.passwords.VerifyDummy(password[:min(len(password), 4*MaxPassword)]); errors.Is(err, auth.ErrBusy) {
			return Session{}, err
		}
		return Session{}, &BadLoginError{Reason: "malformed credentials"}
	}
	id, hash, err := s.store.Credentials(ctx, email)
	if errors.Is(err, ErrNotFound) {
		if err := s.passwords.VerifyDummy(password); errors.Is(err, auth.ErrBusy) {
			return Session{}, err
		}
		return Session{}, &BadLoginError{Reason: "unknown email"}
	}
	if err != nil {
		return Session{}, err
	}
	if err := s.passwords.Verify(hash, password); err != nil {
		if errors.Is(err, auth.ErrBusy) {
			return Session{}, err
		}
		if !errors.Is(err, auth.ErrMismatch) {
			s.log.ErrorContext(ctx, "verify password", "contact_id", id, "err", err)
		}
		return Session{}, &BadLoginError{Reason: "wrong password"}
	}
	u, err := s.store.User(ctx, id)
	if err != nil {
		return Session{}, err
	}
	return s.session(u)
}

func (s *Service) session(u User) (Session, error) {
	token, _, err := s.tokens.Issue(u.ID, u.TokenVersion)
	if err != nil {
		return Session{}, err
	}
	return Session{User: u, Token: token}, nil
}

// Authenticate returns the user of a verified token (its contact id and token version), loaded
// afresh so that a removed contact or revoked tokens take effect at once. It returns an error
// wrapping ErrNotFound for a removed contact, ErrRevoked for a revoked token.
func (s *Service) Authenticate(ctx context.Context, id int64, tokenVersion int32) (User, error) {
	u, err := s.store.User(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return User{}, fmt.Errorf("token of unknown contact %d: %w", id, err)
	case err != nil:
		return User{}, err
	case !u.Accepts(tokenVersion):
		return User{}, fmt.Errorf("contact %d: %w", id, ErrRevoked)
	}
	return u, nil
}

// Logout revokes every token of u, on every node.
func (s *Service) Logout(ctx context.Context, u User) error {
	if _, err := s.store.RevokeTokens(ctx, u.Email); err != nil {
		return fmt.Errorf("logout contact %d: %w", u.ID, err)
	}
	s.log.InfoContext(ctx, "logged out", "contact_id", u.ID)
	return nil
}

// PendingRequests returns up to limit pending requests, newest first, and how many are pending.
func (s *Service) PendingRequests(ctx context.Context, limit int32) ([]ArtisanRequest, int64, error) {
	return s.store.PendingRequests(ctx, limit)
}

// Requests returns the page of requests q asks for, and how many match it in all. It returns an
// *InvalidError if q's search is too long.
func (s *Service) Requests(ctx context.Context, q RequestQuery) (RequestPage, error) {
	search, err := RequestSearch(q.Search)
	if err != nil {
		return RequestPage{}, err
	}
	q.Search = search
	return s.store.Requests(ctx, q)
}

// CountPending returns the number of pending requests.
func (s *Service) CountPending(ctx context.Context) (int64, error) {
	return s.store.CountPending(ctx)
}

// Approve approves the pending request of contact id on behalf of by. It returns ErrForbidden
// if by may not decide, ErrNotFound if the contact has no request, ErrConflict if it was decided.
func (s *Service) Approve(ctx context.Context, by User, id int64) (Decision, error) {
	if !by.MayDecide() {
		return Decision{}, ErrForbidden
	}
	d, err := s.store.Approve(ctx, id, by.ID)
	if err != nil {
		return Decision{}, err
	}
	s.log.InfoContext(ctx, "artisan request approved", "contact_id", d.ContactID, "by", by.ID)
	return d, nil
}

// Reject rejects the pending request of contact id on behalf of by, with an optional reason.
// It returns an *InvalidError if the reason breaks RejectReason's rule, ErrForbidden if by may
// not decide, ErrNotFound if the contact has no request, ErrConflict if it was decided.
func (s *Service) Reject(ctx context.Context, by User, id int64, reason *string) (Decision, error) {
	if !by.MayDecide() {
		return Decision{}, ErrForbidden
	}
	if reason != nil {
		var err error
		if reason, err = RejectReason(*reason); err != nil {
			return Decision{}, err
		}
	}
	d, err := s.store.Reject(ctx, id, by.ID, reason)
	if err != nil {
		return Decision{}, err
	}
	s.log.InfoContext(ctx, "artisan request rejected", "contact_id", d.ContactID, "by", by.ID)
	return d, nil
}

// Ping returns an error wrapping ErrUnavailable if the storage does not answer.
func (s *Service) Ping(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("readiness: %w", ErrUnavailable)
	}
	return nil
}
