package store

import "artisan-notify/impl/domain"

// Errors returned by Store methods: the domain's, named here for the administration commands.
var (
	ErrNotFound    = domain.ErrNotFound
	ErrConflict    = domain.ErrConflict
	ErrEmailTaken  = domain.ErrEmailTaken
	ErrUnavailable = domain.ErrUnavailable
)
