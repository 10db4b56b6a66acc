// Package api implements the REST contract (openapi.yaml): the generated ogen Handler and
// SecurityHandler, and the net/http middleware around them.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"artisan-notify/gen/oas"
	"artisan-notify/impl/auth"
	"artisan-notify/impl/store"
)

// Store is the storage the handlers need.
type Store interface {
	Ping(ctx context.Context) error
	Register(ctx context.Context, c store.NewContact) (store.User, error)
	Credentials(ctx context.Context, email string) (int64, string, error)
	User(ctx context.Context, id int64) (store.User, error)
	PendingRequests(ctx context.Context, limit int32) ([]store.ArtisanRequest, int64, error)
	CountPending(ctx context.Context) (int64, error)
	Approve(ctx context.Context, id, decidedBy int64) (store.Decision, error)
	Reject(ctx context.Context, id, decidedBy int64, reason *string) (store.Decision, error)
	RevokeTokens(ctx context.Context, email string) (int64, error)
}

// Tokens issues and verifies access tokens.
type Tokens interface {
	Issue(userID int64, tokenVersion int32) (string, time.Time, error)
	Verify(token string) (auth.Claims, error)
}

// Passwords hashes and verifies passwords.
type Passwords interface {
	Hash(password string) (string, error)
	Verify(hash, password string) error
	VerifyDummy(password string) error
}

// Handler implements the generated oas.Handler and oas.SecurityHandler.
type Handler struct {
	store     Store
	tokens    Tokens
	passwords Passwords
	log       *slog.Logger
	draining  atomic.Bool
}

var (
	_ oas.Handler         = (*Handler)(nil)
	_ oas.SecurityHandler = (*Handler)(nil)
)

// NewHandler returns the REST handler.
func NewHandler(s Store, t Tokens, p Passwords, log *slog.Logger) *Handler {
	return &Handler{store: s, tokens: t, passwords: p, log: log}
}

// Limits of the contract.
const (
	minPassword = 8
	maxPassword = 128
	maxName     = 100
	maxEmail    = 254
	maxReason   = 1000
	defaultList = 50
)

// Register implements register.
func (h *Handler) Register(ctx context.Context, req *oas.RegisterRequest) (*oas.AuthResponse, error) {
	prenom, nom := strings.TrimSpace(req.Prenom), strings.TrimSpace(req.Nom)
	email := store.NormalizeEmail(req.Email)
	switch {
	case !validName(prenom):
		return nil, fail(CodeInvalidRequest, "Le prénom est requis (100 caractères au plus, au moins une lettre, sans caractère de contrôle ni de direction d'écriture).")
	case !validName(nom):
		return nil, fail(CodeInvalidRequest, "Le nom est requis (100 caractères au plus, au moins une lettre, sans caractère de contrôle ni de direction d'écriture).")
	case !validEmail(email):
		return nil, fail(CodeInvalidRequest, "Adresse email invalide.")
	case !utf8.ValidString(req.Password):
		return nil, fail(CodeInvalidRequest, "Le mot de passe contient des caractères invalides.")
	case utf8.RuneCountInString(req.Password) < minPassword || utf8.RuneCountInString(req.Password) > maxPassword:
		return nil, fail(CodeInvalidRequest, "Le mot de passe doit contenir entre 8 et 128 caractères.")
	case req.Password != req.ConfirmPassword:
		return nil, fail(CodeInvalidRequest, "Les mots de passe ne correspondent pas.")
	}
	hash, err := h.passwords.Hash(req.Password)
	if err != nil {
		return nil, err
	}
	u, err := h.store.Register(ctx, store.NewContact{
		Prenom: prenom, Nom: nom, Email: email, PasswordHash: hash, TypeCompte: string(req.TypeCompte),
	})
	if errors.Is(err, store.ErrEmailTaken) {
		return nil, fail(CodeConflict, "Un compte existe déjà avec cette adresse email.")
	}
	if err != nil {
		return nil, err
	}
	if u.ArtisanStatus == store.StatusPending {
		h.log.InfoContext(ctx, "artisan request opened", "contact_id", u.ID)
	}
	return h.authResponse(u)
}

// Login implements login. Every bad credential gets the same 401, after the same work.
func (h *Handler) Login(ctx context.Context, req *oas.LoginRequest) (*oas.AuthResponse, error) {
	email := store.NormalizeEmail(req.Email)
	n := utf8.RuneCountInString(req.Password)
	if !validEmail(email) || n > maxPassword || !utf8.ValidString(req.Password) {
		if err := h.passwords.VerifyDummy(req.Password[:min(len(req.Password), 4*maxPassword)]); errors.Is(err, auth.ErrBusy) {
			return nil, err
		}
		return nil, h.badLogin(ctx, "malformed credentials")
	}
	id, hash, err := h.store.Credentials(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		if err := h.passwords.VerifyDummy(req.Password); errors.Is(err, auth.ErrBusy) {
			return nil, err
		}
		return nil, h.badLogin(ctx, "unknown email")
	}
	if err != nil {
		return nil, err
	}
	if err := h.passwords.Verify(hash, req.Password); err != nil {
		if errors.Is(err, auth.ErrBusy) {
			return nil, err
		}
		if !errors.Is(err, auth.ErrMismatch) {
			h.log.ErrorContext(ctx, "verify password", "contact_id", id, "err", err)
		}
		return nil, h.badLogin(ctx, "wrong password")
	}
	u, err := h.store.User(ctx, id)
	if err != nil {
		return nil, err
	}
	return h.authResponse(u)
}

func (h *Handler) badLogin(ctx context.Context, reason string) error {
	h.log.InfoContext(ctx, "auth failed", "operation", "login", "reason", reason, "remote", clientIP(ctx))
	return fail(CodeUnauthorized, msgBadLogin)
}

func (h *Handler) authResponse(u store.User) (*oas.AuthResponse, error) {
	token, _, err := h.tokens.Issue(u.ID, u.TokenVersion)
	if err != nil {
		return nil, err
	}
	return &oas.AuthResponse{Token: token, User: toUser(u)}, nil
}

// Logout implements logout: it revokes the account's tokens, which every node applies through
// the outbox (REST 401, sockets disconnected).
func (h *Handler) Logout(ctx context.Context) error {
	u := userFrom(ctx)
	if _, err := h.store.RevokeTokens(ctx, u.Email); err != nil {
		return fmt.Errorf("logout contact %d: %w", u.ID, err)
	}
	h.log.InfoContext(ctx, "logged out", "contact_id", u.ID)
	return nil
}

// GetMe implements getMe.
func (h *Handler) GetMe(ctx context.Context) (*oas.User, error) {
	u := userFrom(ctx)
	out := toUser(u)
	return &out, nil
}

// ListArtisanRequests implements listArtisanRequests.
func (h *Handler) ListArtisanRequests(ctx context.Context, params oas.ListArtisanRequestsParams) (*oas.ArtisanRequestList, error) {
	reqs, total, err := h.store.PendingRequests(ctx, params.Limit.Or(defaultList))
	if err != nil {
		return nil, err
	}
	out := &oas.ArtisanRequestList{Requests: make([]oas.ArtisanRequest, len(reqs)), Count: total}
	for i, r := range reqs {
		out.Requests[i] = oas.ArtisanRequest{
			ContactID: r.ContactID, Prenom: r.Prenom, Nom: r.Nom, NomComplet: r.NomComplet(),
			Email: r.Email, TypeCompte: oas.AccountType(r.TypeCompte), CreatedAt: r.CreatedAt.UTC(),
		}
	}
	return out, nil
}

// CountArtisanRequests implements countArtisanRequests.
func (h *Handler) CountArtisanRequests(ctx context.Context) (*oas.Count, error) {
	n, err := h.store.CountPending(ctx)
	if err != nil {
		return nil, err
	}
	return &oas.Count{Count: n}, nil
}

// ApproveArtisanRequest implements approveArtisanRequest.
func (h *Handler) ApproveArtisanRequest(ctx context.Context, params oas.ApproveArtisanRequestParams) (*oas.ApproveResponse, error) {
	pdg := userFrom(ctx)
	d, err := h.store.Approve(ctx, params.ID, pdg.ID)
	if err != nil {
		return nil, decisionError(err)
	}
	h.log.InfoContext(ctx, "artisan request approved", "contact_id", d.ContactID, "by", pdg.ID)
	return &oas.ApproveResponse{ContactID: d.ContactID, NomComplet: d.NomComplet, Email: d.Email,
		Status: oas.ApproveResponseStatusApproved}, nil
}

// RejectArtisanRequest implements rejectArtisanRequest.
func (h *Handler) RejectArtisanRequest(ctx context.Context, req oas.OptRejectRequest, params oas.RejectArtisanRequestParams) (*oas.RejectResponse, error) {
	pdg := userFrom(ctx)
	var reason *string
	if r, ok := req.Get(); ok {
		if text, ok := r.Reason.Get(); ok {
			text = strings.TrimSpace(text)
			if !utf8.ValidString(text) || utf8.RuneCountInString(text) > maxReason {
				return nil, fail(CodeInvalidRequest, "Le motif doit contenir 1000 caractères au plus.")
			}
			if text != "" {
				reason = &text
			}
		}
	}
	d, err := h.store.Reject(ctx, params.ID, pdg.ID, reason)
	if err != nil {
		return nil, decisionError(err)
	}
	h.log.InfoContext(ctx, "artisan request rejected", "contact_id", d.ContactID, "by", pdg.ID)
	return &oas.RejectResponse{ContactID: d.ContactID, Status: oas.RejectResponseStatusRejected}, nil
}

func decisionError(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fail(CodeNotFound, "Demande introuvable.")
	case errors.Is(err, store.ErrConflict):
		return fail(CodeConflict, "Cette demande a déjà été traitée.")
	default:
		return err
	}
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
	if err := h.store.Ping(ctx); err != nil {
		return nil, fmt.Errorf("readiness: %w", store.ErrUnavailable)
	}
	return &oas.Health{Status: "ok"}, nil
}

func toUser(u store.User) oas.User {
	return oas.User{
		ID: u.ID, Prenom: u.Prenom, Nom: u.Nom, Email: u.Email, TypeCompte: oas.AccountType(u.TypeCompte),
		DemandeArtisan: u.DemandeArtisan, IsPdg: u.IsPDG,
		ArtisanStatus: oas.NewOptArtisanStatus(oas.ArtisanStatus(u.ArtisanStatus)),
	}
}

// validEmail accepts a plain addr-spec (local@domain.tld), as browsers' type=email does.
func validEmail(email string) bool {
	if len(email) > maxEmail || !utf8.ValidString(email) {
		return false
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(email, '@')
	domain := email[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// validName accepts a name of at most maxName characters with at least one letter (so not only
// spaces, punctuation or invisible characters such as U+200B), without control characters nor
// the bidirectional embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069),
// which would reorder the text shown around the name.
func validName(s string) bool {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxName {
		return false
	}
	letter := false
	for _, r := range s {
		switch {
		case unicode.IsControl(r), r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
			return false
		case unicode.IsLetter(r):
			letter = true
		}
	}
	return letter
}
