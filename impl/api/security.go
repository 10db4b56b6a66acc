package api

import (
	"context"
	"slices"

	"github.com/artisan-notify/artisan-notify/gen/oas"
	"github.com/artisan-notify/artisan-notify/impl/domain"
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
	u, err := h.svc.Authenticate(ctx, claims.UserID, claims.TokenVersion)
	if err != nil {
		return nil, err
	}
	if slices.Contains(t.Roles, "pdg") && !u.MayDecide() {
		h.log.InfoContext(ctx, "forbidden", "operation", operation, "contact_id", u.ID)
		return nil, domain.ErrForbidden
	}
	return context.WithValue(ctx, userKey{}, u), nil
}

// userFrom returns the user that HandleBearerAuth put in the context.
func userFrom(ctx context.Context) domain.User {
	u, _ := ctx.Value(userKey{}).(domain.User)
	return u
}
