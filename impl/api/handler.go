// Package api implements the REST contract (openapi.yaml): the generated ogen Handler and
// SecurityHandler, and the net/http middleware around them.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/artisan-notify/artisan-notify/gen/oas"
	"github.com/artisan-notify/artisan-notify/impl/auth"
	"github.com/artisan-notify/artisan-notify/impl/domain"
)

// Service runs the application's flows (domain.Service).
type Service interface {
	Register(ctx context.Context, r domain.Registration) (domain.Session, error)
	Login(ctx context.Context, email, password string) (domain.Session, error)
	Authenticate(ctx context.Context, id int64, tokenVersion int32) (domain.User, error)
	Logout(ctx context.Context, u domain.User) error
	PendingRequests(ctx context.Context, limit int32) ([]domain.ArtisanRequest, int64, error)
	Requests(ctx context.Context, q domain.RequestQuery) (domain.RequestPage, error)
	CountPending(ctx context.Context) (int64, error)
	Approve(ctx context.Context, by domain.User, id int64) (domain.Decision, error)
	Reject(ctx context.Context, by domain.User, id int64, reason *string) (domain.Decision, error)
	Ping(ctx context.Context) error
}

// Tokens verifies access tokens.
type Tokens interface {
	Verify(token string) (auth.Claims, error)
}

// Handler implements the generated oas.Handler and oas.SecurityHandler: it maps the contract's
// types to the domain's and the domain's errors to the contract's.
type Handler struct {
	svc      Service
	tokens   Tokens
	cursors  cursors
	log      *slog.Logger
	draining atomic.Bool
}

var (
	_ oas.Handler         = (*Handler)(nil)
	_ oas.SecurityHandler = (*Handler)(nil)
)

// NewHandler returns the REST handler. cursorSecret keys the list's cursors: every node of a
// cluster must have the same (the token secret serves).
func NewHandler(svc Service, t Tokens, cursorSecret []byte, log *slog.Logger) *Handler {
	return &Handler{svc: svc, tokens: t, cursors: newCursors(cursorSecret), log: log}
}

// defaultList is the page size of listArtisanRequests without a limit.
const defaultList = 50

// Register implements register.
func (h *Handler) Register(ctx context.Context, req *oas.RegisterRequest) (*oas.AuthResponse, error) {
	s, err := h.svc.Register(ctx, domain.Registration{
		Prenom: req.Prenom, Nom: req.Nom, Email: req.Email, Password: req.Password,
		ConfirmPassword: req.ConfirmPassword, TypeCompte: domain.AccountType(req.TypeCompte),
	})
	if errors.Is(err, domain.ErrEmailTaken) {
		return nil, fail(CodeConflict, "Un compte existe déjà avec cette adresse email.")
	}
	if err != nil {
		return nil, invalidOr(err)
	}
	return authResponse(s), nil
}

// Login implements login. Every bad credential gets the same 401, after the same work.
func (h *Handler) Login(ctx context.Context, req *oas.LoginRequest) (*oas.AuthResponse, error) {
	s, err := h.svc.Login(ctx, req.Email, req.Password)
	var bad *domain.BadLoginError
	if errors.As(err, &bad) {
		h.log.InfoContext(ctx, "auth failed", "operation", "login", "reason", bad.Reason, "remote", clientIP(ctx))
		return nil, fail(CodeUnauthorized, msgBadLogin)
	}
	if err != nil {
		return nil, err
	}
	return authResponse(s), nil
}

func authResponse(s domain.Session) *oas.AuthResponse {
	return &oas.AuthResponse{Token: s.Token, User: toUser(s.User)}
}

// invalidOr maps a broken rule to the contract's 400, with the rule's message.
func invalidOr(err error) error {
	var inv *domain.InvalidError
	if errors.As(err, &inv) {
		return fail(CodeInvalidRequest, inv.Message)
	}
	return err
}

// Logout implements logout: it revokes the account's tokens, which every node applies through
// the outbox (REST 401, sockets disconnected).
func (h *Handler) Logout(ctx context.Context) error {
	return h.svc.Logout(ctx, userFrom(ctx))
}

// GetMe implements getMe.
func (h *Handler) GetMe(ctx context.Context) (*oas.User, error) {
	u := userFrom(ctx)
	out := toUser(u)
	return &out, nil
}

// ListArtisanRequests implements listArtisanRequests. The first page of the pending requests
// without a search is the cached read (PendingRequests); every other page is a query of its own.
func (h *Handler) ListArtisanRequests(ctx context.Context, params oas.ListArtisanRequestsParams) (*oas.ArtisanRequestList, error) {
	q := domain.RequestQuery{Filter: domain.RequestFilter(params.Status.Or(oas.RequestFilterPending)),
		Search: params.Q.Or(""), Limit: params.Limit.Or(defaultList)}
	search, err := domain.RequestSearch(q.Search)
	if err != nil {
		return nil, invalidOr(err)
	}
	q.Search = search
	if c, ok := params.Cursor.Get(); ok {
		k, err := h.cursors.open(c, q.Filter, q.Search)
		if err != nil {
			return nil, fail(CodeInvalidRequest, "cursor : curseur invalide (altéré, ou d'une autre recherche) ; recommencez sans cursor.")
		}
		q.After = &k
	}
	var page domain.RequestPage
	if q.Filter == domain.FilterPending && q.Search == "" && q.After == nil {
		reqs, total, err := h.svc.PendingRequests(ctx, q.Limit)
		if err != nil {
			return nil, err
		}
		page = domain.RequestPage{Requests: reqs, Total: total}
		if total > int64(len(reqs)) && len(reqs) > 0 {
			last := reqs[len(reqs)-1]
			page.Next = &domain.Keyset{At: last.CreatedAt, ID: last.ContactID}
		}
	} else if page, err = h.svc.Requests(ctx, q); err != nil {
		return nil, invalidOr(err)
	}
	out := &oas.ArtisanRequestList{Requests: make([]oas.ArtisanRequest, len(page.Requests)), Count: page.Total}
	for i, r := range page.Requests {
		out.Requests[i] = toRequest(r)
	}
	if page.Next != nil {
		out.NextCursor = oas.NewOptString(h.cursors.seal(*page.Next, q.Filter, q.Search))
	}
	return out, nil
}

func toRequest(r domain.ArtisanRequest) oas.ArtisanRequest {
	out := oas.ArtisanRequest{
		ContactID: r.ContactID, Prenom: r.Prenom, Nom: r.Nom, NomComplet: r.NomComplet(),
		Email: r.Email, TypeCompte: oas.AccountType(r.TypeCompte), CreatedAt: r.CreatedAt.UTC(),
	}
	status := r.Status
	if status == "" {
		status = domain.StatusPending // the pending list's rows
	}
	out.Status = oas.NewOptArtisanStatus(oas.ArtisanStatus(status))
	if r.DecidedBy != nil {
		out.DecidedBy = oas.NewOptDecider(oas.Decider{ID: r.DecidedBy.ID, Name: r.DecidedBy.Name})
	}
	if r.DecidedAt != nil {
		out.DecidedAt = oas.NewOptDateTime(r.DecidedAt.UTC())
	}
	if r.Reason != nil {
		out.Reason = oas.NewOptString(*r.Reason)
	}
	return out
}

// CountArtisanRequests implements countArtisanRequests.
func (h *Handler) CountArtisanRequests(ctx context.Context) (*oas.Count, error) {
	n, err := h.svc.CountPending(ctx)
	if err != nil {
		return nil, err
	}
	return &oas.Count{Count: n}, nil
}

// ApproveArtisanRequest implements approveArtisanRequest.
func (h *Handler) ApproveArtisanRequest(ctx context.Context, params oas.ApproveArtisanRequestParams) (*oas.ApproveResponse, error) {
	d, err := h.svc.Approve(ctx, userFrom(ctx), params.ID)
	if err != nil {
		return nil, decisionError(err)
	}
	return &oas.ApproveResponse{ContactID: d.ContactID, NomComplet: d.NomComplet, Email: d.Email,
		Status: oas.ApproveResponseStatusApproved}, nil
}

// RejectArtisanRequest implements rejectArtisanRequest.
func (h *Handler) RejectArtisanRequest(ctx context.Context, req oas.OptRejectRequest, params oas.RejectArtisanRequestParams) (*oas.RejectResponse, error) {
	var reason *string
	if r, ok := req.Get(); ok {
		if text, ok := r.Reason.Get(); ok {
			reason = &text
		}
	}
	d, err := h.svc.Reject(ctx, userFrom(ctx), params.ID, reason)
	if err != nil {
		return nil, decisionError(err)
	}
	return &oas.RejectResponse{ContactID: d.ContactID, Status: oas.RejectResponseStatusRejected}, nil
}

func decisionError(err error) error {
	var taken *domain.AlreadyDecidedError
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return fail(CodeNotFound, "Demande introuvable.")
	case errors.As(err, &taken):
		return conflictDecided(taken.Decision)
	case errors.Is(err, domain.ErrConflict):
		return fail(CodeConflict, "Cette demande a déjà été traitée.")
	default:
		return invalidOr(err)
	}
}

// conflictDecided is the 409 of deciding a request already decided: the message and
// error.decision say which request, which decision, by whom and when.
func conflictDecided(d domain.Decision) error {
	verb := "approuvée"
	if d.Status == domain.StatusRejected {
		verb = "rejetée"
	}
	by := ""
	dec := oas.Decision{ContactID: d.ContactID, Status: oas.DecisionStatus(d.Status), DecidedAt: d.DecidedAt.UTC()}
	if d.DecidedBy != nil {
		by = " par " + d.DecidedBy.Name
		dec.DecidedBy = oas.NewOptDecider(oas.Decider{ID: d.DecidedBy.ID, Name: d.DecidedBy.Name})
	}
	if d.Reason != nil {
		dec.Reason = oas.NewOptString(*d.Reason)
	}
	e := fail(CodeConflict, fmt.Sprintf("La demande %d a déjà été %s%s le %s.", d.ContactID, verb, by,
		d.DecidedAt.UTC().Format("2006-01-02 15:04:05 UTC")))
	e.Response.Error.Decision = oas.NewOptDecision(dec)
	return e
}

// Healthz implements healthz: the process answers.
func (h *Handler) Healthz(context.Context) (*oas.Health, error) {
	return &oas.Health{Status: "ok"}, nil
}

// Drain makes readyz answer 503 from now on, so that load balancers stop sending new requests
// while the node finishes the ones it has.
func (h *Handler) Drain() { h.draining.Store(true) }

// Readyz implements readyz: the database answers and the node is not shutting down.
func (h *Handler) Readyz(ctx context.Context) (*oas.Health, error) {
	if h.draining.Load() {
		return nil, fail(CodeUnavailable, "Arrêt en cours.")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := h.svc.Ping(ctx); err != nil {
		return nil, err
	}
	return &oas.Health{Status: "ok"}, nil
}

func toUser(u domain.User) oas.User {
	out := oas.User{
		ID: u.ID, Prenom: u.Prenom, Nom: u.Nom, Email: u.Email, TypeCompte: oas.AccountType(u.TypeCompte),
		DemandeArtisan: u.DemandeArtisan, IsPdg: u.IsPDG,
		ArtisanStatus: oas.NewOptArtisanStatus(oas.ArtisanStatus(u.ArtisanStatus)),
	}
	if u.DecidedAt != nil {
		out.ArtisanDecidedAt = oas.NewOptDateTime(u.DecidedAt.UTC())
	}
	if u.DecisionReason != nil {
		out.ArtisanReason = oas.NewOptString(*u.DecisionReason)
	}
	return out
}
