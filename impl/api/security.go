package api

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"artisan-notify/gen/oas"
	"artisan-notify/impl/store"
)

type userKey struct{}

// HandleBearerAuth implements oas.SecurityHandler: it verifies the token, loads the user (so a
// removed contact, a revoked token or a removed PDG right takes effect at once) and checks the
// PDG role when the operation requires it.
func (h *Handler) HandleBearerAuth(ctx context.Context, operation oas.OperationName, t oas.BearerAuth) (context.Context, error) {
	claims, err := h.tokens.Verify(t.Token)
	if err != nil {
		return nil, err
	}
	u, err := h.store.User(ctx, claims.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("token of unknown contact %d", claims.UserID)
	case err != nil:
		return nil, err
	case u.TokenVersion != claims.TokenVersion:
		return nil, fmt.Errorf("revoked token of contact %d", claims.UserID)
	}
	if slices.Contains(t.Roles, "pdg") && !u.IsPDG {
		h.log.InfoContext(ctx, "forbidden", "operation", operation, "contact_id", u.ID)
		return nil, errForbidden
	}
	return context.WithValue(ctx, userKey{}, u), nil
}

// userFrom returns the user that HandleBearerAuth put in the context.
func userFrom(ctx context.Context) store.User {
	u, _ := ctx.Value(userKey{}).(store.User)
	return u
}
