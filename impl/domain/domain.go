// Package domain is what the application is about, apart from HTTP, Socket.IO and PostgreSQL:
// contacts and their artisan requests, the errors its rules return, the rules themselves
// (registration, login, who may decide) and the Service that runs the flows on a Store.
package domain

import (
	"errors"
	"strconv"
	"time"
)

// ArtisanStatus is where a contact's artisan request stands (the database's artisan_status enum).
type ArtisanStatus string

// Artisan request statuses.
const (
	StatusNone     ArtisanStatus = "none"
	StatusPending  ArtisanStatus = "pending"
	StatusApproved ArtisanStatus = "approved"
	StatusRejected ArtisanStatus = "rejected"
)

// AccountType is the kind of account a contact opened (the database's account_type enum).
type AccountType string

// Account types.
const (
	TypeClient AccountType = "Client"
	// TypeArtisan is the account type that opens an artisan request.
	TypeArtisan AccountType = "Artisan/Promoteur"
)

// InitialStatus returns the artisan status a contact of this account type registers with:
// pending for an Artisan/Promoteur (the registration opens a request), none otherwise.
func InitialStatus(typeCompte AccountType) ArtisanStatus {
	if typeCompte == TypeArtisan {
		return StatusPending
	}
	return StatusNone
}

// User is a contact as the API shows it.
type User struct {
	ID             int64
	Prenom         string
	Nom            string
	Email          string
	TypeCompte     AccountType
	DemandeArtisan bool
	ArtisanStatus  ArtisanStatus
	IsPDG          bool
	TokenVersion   int32
	// DecidedAt and DecisionReason describe the decision on the user's artisan request: when it
	// was approved or rejected (nil while none was), and the rejection's reason (nil when none).
	DecidedAt      *time.Time
	DecisionReason *string
}

// MayDecide reports whether u may approve or reject artisan requests: PDGs only.
func (u User) MayDecide() bool { return u.IsPDG }

// Accepts reports whether a token issued at tokenVersion is still valid for u: revoking a
// contact's tokens moves its version.
func (u User) Accepts(tokenVersion int32) bool { return u.TokenVersion == tokenVersion }

// NewContact is what registration stores.
type NewContact struct {
	Prenom, Nom, Email, PasswordHash string
	TypeCompte                       AccountType
}

// ArtisanRequest is a request as PDGs see it: pending, or decided (then DecidedAt is set, and
// DecidedBy unless the PDG who decided was removed; Reason when a rejection gave one).
type ArtisanRequest struct {
	ContactID          int64
	Prenom, Nom, Email string
	TypeCompte         AccountType
	CreatedAt          time.Time
	Status             ArtisanStatus
	DecidedBy          *Decider
	DecidedAt          *time.Time
	Reason             *string
}

// Decider is the PDG who decided a request.
type Decider struct {
	ID   int64
	Name string
}

// RequestFilter chooses the requests a PDG lists.
type RequestFilter string

// Request filters.
const (
	FilterPending  RequestFilter = "pending"
	FilterApproved RequestFilter = "approved"
	FilterRejected RequestFilter = "rejected"
	FilterAll      RequestFilter = "all"
)

// ByDecision reports whether the requests of f are ordered by their decision (newest first)
// rather than by their creation.
func (f RequestFilter) ByDecision() bool { return f == FilterApproved || f == FilterRejected }

// Keyset is a position in a list of requests: the sort time (created_at, or decided_at for the
// history) and the id of the last request of a page. The next page starts after it.
type Keyset struct {
	At time.Time
	ID int64
}

// RequestQuery is what a PDG asks the list of requests for.
type RequestQuery struct {
	Filter RequestFilter
	// Search keeps the requests whose names or email contain it (case-insensitive); "" keeps all.
	Search string
	// After is where the page starts (nil: the first page).
	After *Keyset
	Limit int32
}

// RequestPage is a page of requests: Total is how many match the query in all; Next is set when
// more follow, the position of the next page.
type RequestPage struct {
	Requests []ArtisanRequest
	Total    int64
	Next     *Keyset
}

// NomComplet is the applicant's full name.
func (r ArtisanRequest) NomComplet() string { return FullName(r.Prenom, r.Nom) }

// FullName is how a contact's full name is shown: first and last name, separated by a space.
func FullName(prenom, nom string) string { return prenom + " " + nom }

// Decision is the outcome of an approval or a rejection.
type Decision struct {
	ContactID  int64
	NomComplet string
	Email      string
	Status     ArtisanStatus
	// DecidedBy is nil when the PDG who decided was removed.
	DecidedBy *Decider
	DecidedAt time.Time
	Reason    *string
}

// AlreadyDecidedError is the conflict of deciding a request that was decided: Decision is the
// decision taken (ContactID, Status, DecidedBy, DecidedAt, Reason). It matches ErrConflict.
type AlreadyDecidedError struct{ Decision Decision }

func (e *AlreadyDecidedError) Error() string {
	return "request " + strconv.FormatInt(e.Decision.ContactID, 10) + " already " + string(e.Decision.Status)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *AlreadyDecidedError) Is(target error) bool { return target == ErrConflict }

// Errors of the rules and of the Store, independent of HTTP and of the database driver.
var (
	// ErrNotFound: no such contact, artisan request or PDG right.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the artisan request was already decided.
	ErrConflict = errors.New("already decided")
	// ErrEmailTaken: another contact has this email.
	ErrEmailTaken = errors.New("email taken")
	// ErrForbidden: the user may not do this (only PDGs decide).
	ErrForbidden = errors.New("not a PDG")
	// ErrRevoked: the token was issued before the contact's tokens were revoked.
	ErrRevoked = errors.New("revoked token")
	// ErrUnavailable wraps errors caused by the storage being unreachable.
	ErrUnavailable = errors.New("database unavailable")
)

// InvalidError is a request that breaks a rule; Message says which, to the user, in the
// contract's words.
type InvalidError struct{ Message string }

func (e *InvalidError) Error() string { return "invalid: " + e.Message }

func invalid(message string) error { return &InvalidError{Message: message} }

// BadLoginError is a login whose credentials name no account. Everyone who fails gets the same
// answer; Reason (malformed credentials, unknown email, wrong password) is for the logs.
type BadLoginError struct{ Reason string }

func (e *BadLoginError) Error() string { return "bad login: " + e.Reason }
