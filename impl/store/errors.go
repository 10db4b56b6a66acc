package store

import "errors"

// Errors returned by Store methods, independent of the database driver.
var (
	// ErrNotFound: no such row (contact, artisan request, PDG right).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the artisan request was already decided.
	ErrConflict = errors.New("already decided")
	// ErrEmailTaken: another contact has this email.
	ErrEmailTaken = errors.New("email taken")
)
