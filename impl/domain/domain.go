// Package domain is what the application is about, apart from HTTP, Socket.IO and PostgreSQL:
// contacts and their artisan requests, the errors its rules return, the rules themselves
// (registration, login, who may decide) and the Service that runs the flows on a Store.
package domain

import (
	"errors"
	"fmt"
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

// ArtisanRequest is a pending request as PDGs see it.
type ArtisanRequest struct {
	ContactID          int64
	Prenom, Nom, Email string
	TypeCompte         AccountType
	CreatedAt          time.Time
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
}

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

// DecidedError is the ErrConflict of a decision on a request that was already decided: what it
// was decided to, by whom and when. errors.Is(err, ErrConflict) holds for it.
type DecidedError struct {
	Status ArtisanStatus // StatusApproved or StatusRejected
	// DecidedBy is the id of the PDG who decided; nil if that contact no longer exists.
	DecidedBy *int64
	DecidedAt time.Time
}

func (e *DecidedError) Error() string {
	return fmt.Sprintf("%s: %s at %s", ErrConflict, e.Status, e.DecidedAt.Format(time.RFC3339))
}

// Is reports whether target is ErrConflict.
func (e *DecidedError) Is(target error) bool { return target == ErrConflict }

// InvalidError is a request that breaks a rule; Message says which, to the user, in the
// contract's words.
type InvalidError struct{ Message string }

func (e *InvalidError) Error() string { return "invalid: " + e.Message }

func invalid(message string) error { return &InvalidError{Message: message} }

// BadLoginError is a login whose credentials name no account. Everyone who fails gets the same
// answer; Reason (malformed credentials, unknown email, wrong password) is for the logs.
type BadLoginError struct{ Reason string }

func (e *BadLoginError) Error() string { return "bad login: " + e.Reason }
