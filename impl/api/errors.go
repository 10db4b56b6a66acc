package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/ogen-go/ogen/ogenerrors"

	"artisan-notify/gen/oas"
	"artisan-notify/impl/store"
)

// Error codes of the contract's error shape.
const (
	CodeInvalidRequest   = "invalid_request"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeConflict         = "conflict"
	CodePayloadTooLarge  = "payload_too_large"
	CodeRateLimited      = "rate_limited"
	CodeInternal         = "internal"
	CodeUnavailable      = "unavailable"
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[string]int{
	CodeInvalidRequest:   http.StatusBadRequest,
	CodeUnauthorized:     http.StatusUnauthorized,
	CodeForbidden:        http.StatusForbidden,
	CodeNotFound:         http.StatusNotFound,
	CodeMethodNotAllowed: http.StatusMethodNotAllowed,
	CodeConflict:         http.StatusConflict,
	CodePayloadTooLarge:  http.StatusRequestEntityTooLarge,
	CodeRateLimited:      http.StatusTooManyRequests,
	CodeInternal:         http.StatusInternalServerError,
	CodeUnavailable:      http.StatusServiceUnavailable,
}

// Messages shown to people (French, as the original system).
const (
	msgUnauthorized = "Authentification requise ou jeton invalide."
	msgBadLogin     = "Email ou mot de passe incorrect."
	msgForbidden    = "Accès réservé au PDG."
	msgInternal     = "Erreur interne du serveur."
	msgUnavailable  = "Service momentanément indisponible, réessayez."
)

// fail returns the contract error for code; handlers return it as their error.
func fail(code, message string) *oas.ErrorStatusCode {
	return &oas.ErrorStatusCode{
		StatusCode: statusOf[code],
		Response:   oas.Error{Error: oas.ErrorBody{Code: code, Message: message}},
	}
}

// errForbidden is returned by the security handler when the user is not a PDG.
var errForbidden = errors.New("not a PDG")

// NewError maps an error returned by a handler or the security handler to the contract's shape.
func (h *Handler) NewError(ctx context.Context, err error) *oas.ErrorStatusCode {
	var secErr *ogenerrors.SecurityError
	switch {
	case errors.Is(err, store.ErrUnavailable):
		h.log.WarnContext(ctx, "database unavailable", "err", err)
		return fail(CodeUnavailable, msgUnavailable)
	case errors.Is(err, errForbidden):
		return fail(CodeForbidden, msgForbidden)
	case errors.As(err, &secErr):
		h.log.InfoContext(ctx, "auth failed", "operation", secErr.OperationContext.ID, "reason", err.Error(),
			"remote", clientIP(ctx))
		return fail(CodeUnauthorized, msgUnauthorized)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fail(CodeUnavailable, msgUnavailable)
	default:
		h.log.ErrorContext(ctx, "request failed", "err", err)
		return fail(CodeInternal, msgInternal)
	}
}

// HandleError answers the errors that ogen raises before a handler runs: bad parameters,
// invalid JSON, failed validation, a body too large.
func (h *Handler) HandleError(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &maxBytes):
		writeError(w, CodePayloadTooLarge, "Corps de requête trop volumineux.")
	case errors.Is(err, store.ErrUnavailable):
		writeError(w, CodeUnavailable, msgUnavailable)
	default:
		var (
			reqErr   *ogenerrors.DecodeRequestError
			paramErr *ogenerrors.DecodeParamsError
		)
		switch {
		case errors.As(err, &paramErr):
			writeError(w, CodeInvalidRequest, "Paramètre invalide : "+paramErr.Name+" ("+firstLine(paramErr.Err)+").")
		case errors.As(err, &reqErr):
			writeError(w, CodeInvalidRequest, "Requête invalide : "+firstLine(reqErr.Err)+".")
		default:
			h.log.WarnContext(ctx, "request rejected", "err", err)
			writeError(w, CodeInvalidRequest, "Requête invalide.")
		}
	}
}

// firstLine keeps an ogen error message short and free of internals.
func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.ToValidUTF8(s, "?")
}

// NotFound answers unknown routes.
func NotFound(w http.ResponseWriter, _ *http.Request) {
	writeError(w, CodeNotFound, "Ressource introuvable.")
}

// MethodNotAllowed answers a known route with the wrong method.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request, allowed string) {
	w.Header().Set("Allow", allowed)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeError(w, CodeMethodNotAllowed, "Méthode non autorisée.")
}

// writeError writes the contract's error shape outside ogen's encoders.
func writeError(w http.ResponseWriter, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(statusOf[code])
	_ = json.NewEncoder(w).Encode(&oas.Error{Error: oas.ErrorBody{Code: code, Message: message}})
}

// compile-time check: our error writer matches ogen's expected signature.
var _ ogenerrors.ErrorHandler = (*Handler)(nil).HandleError
