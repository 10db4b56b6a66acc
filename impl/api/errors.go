package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ogen-go/ogen/ogenerrors"
	"github.com/ogen-go/ogen/validate"

	"github.com/artisan-notify/artisan-notify/gen/oas"
	"github.com/artisan-notify/artisan-notify/impl/auth"
	"github.com/artisan-notify/artisan-notify/impl/domain"
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
	msgBusy         = "Serveur saturé, réessayez dans un instant."
)

// fail returns the contract error for code; handlers return it as their error.
func fail(code, message string) *oas.ErrorStatusCode {
	return &oas.ErrorStatusCode{
		StatusCode: statusOf[code],
		Response:   oas.Error{Error: oas.ErrorBody{Code: code, Message: message}},
	}
}

// NewError maps an error returned by a handler or the security handler to the contract's shape.
func (h *Handler) NewError(ctx context.Context, err error) *oas.ErrorStatusCode {
	var secErr *ogenerrors.SecurityError
	switch {
	case errors.Is(err, domain.ErrUnavailable):
		h.log.WarnContext(ctx, "database unavailable", "err", err)
		return fail(CodeUnavailable, msgUnavailable)
	case errors.Is(err, auth.ErrBusy):
		h.log.WarnContext(ctx, "password hasher saturated", "remote", clientIP(ctx))
		retryAfter(ctx, time.Second)
		return fail(CodeUnavailable, msgBusy)
	case errors.Is(err, domain.ErrForbidden):
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
// invalid JSON, failed validation, a body too large. Its messages say what is wrong in the
// contract's words; the decoder's own message (Go internals) is only logged.
func (h *Handler) HandleError(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &maxBytes):
		writeError(w, CodePayloadTooLarge, "Corps de requête trop volumineux.")
	case errors.Is(err, domain.ErrUnavailable):
		writeError(w, CodeUnavailable, msgUnavailable)
	default:
		var (
			reqErr   *ogenerrors.DecodeRequestError
			paramErr *ogenerrors.DecodeParamError
		)
		switch {
		case errors.As(err, &paramErr):
			writeError(w, CodeInvalidRequest, paramMessage(paramErr.Name))
		case errors.As(err, &reqErr):
			writeError(w, CodeInvalidRequest, bodyMessage(reqErr.Err))
		default:
			h.log.WarnContext(ctx, "request rejected", "err", err)
			writeError(w, CodeInvalidRequest, "Requête invalide.")
			return
		}
		h.log.DebugContext(ctx, "request rejected", "err", err)
	}
}

// paramMessage says what the contract expects of the parameter name.
func paramMessage(name string) string {
	switch name {
	case "id":
		return "id : un entier positif est attendu."
	case "limit":
		return "limit : un entier entre 1 et 200 est attendu."
	case "status":
		return "status : pending, approved, rejected ou all est attendu."
	case "q":
		return "q : 100 caractères au plus, sans caractère nul (U+0000)."
	case "cursor":
		return "cursor : curseur invalide (altéré, ou d'une autre recherche) ; recommencez sans cursor."
	default:
		return "Paramètre invalide : " + safeName(name) + "."
	}
}

// fieldRules says the rule of each constrained field of a request body (openapi.yaml), in the
// words of the domain's own checks, for a value that the generated validation refuses.
var fieldRules = map[string]string{
	"prenom":           "Le prénom est requis (100 caractères au plus, au moins une lettre, sans caractère de contrôle ni de direction d'écriture).",
	"nom":              "Le nom est requis (100 caractères au plus, au moins une lettre, sans caractère de contrôle ni de direction d'écriture).",
	"email":            "Adresse email invalide.",
	"password":         "Le mot de passe doit contenir entre 8 et 128 caractères.",
	"confirm_password": "Le mot de passe doit contenir entre 8 et 128 caractères.",
	"reason":           "Le motif doit contenir 1000 caractères au plus, sans caractère nul (U+0000).",
}

// decodeField finds the field the generated JSON decoder was reading ("decode field \"x\"").
var decodeField = regexp.MustCompile(`decode field "([A-Za-z0-9_]{1,40})"`)

// bodyMessage says what is wrong with a request body, without the decoder's internals.
func bodyMessage(err error) string {
	var (
		ctErr *validate.InvalidContentTypeError
		vErr  *validate.Error
	)
	switch {
	case errors.Is(err, validate.ErrBodyRequired):
		return "Corps JSON requis."
	case errors.As(err, &ctErr), strings.Contains(err.Error(), "media type"):
		return "Content-Type application/json attendu."
	case errors.As(err, &vErr) && len(vErr.Fields) > 0:
		f := vErr.Fields[0]
		name := safeName(f.Name)
		switch {
		case errors.Is(f.Error, validate.ErrFieldRequired):
			return "Corps JSON invalide : le champ " + name + " est requis."
		case f.Name == "type_compte":
			return "Corps JSON invalide : type_compte doit valoir Client ou Artisan/Promoteur."
		case fieldRules[f.Name] != "":
			return fieldRules[f.Name]
		default:
			return "Corps JSON invalide : valeur du champ " + name + " invalide."
		}
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "unexpected field"):
		return "Corps JSON invalide : champ inconnu."
	case strings.Contains(msg, "trailing data"):
		return "Corps JSON invalide : données après l'objet JSON."
	}
	if m := decodeField.FindStringSubmatch(msg); m != nil {
		return "Corps JSON invalide : valeur du champ " + m[1] + " invalide."
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(msg, "unexpected EOF") {
		return "Corps JSON invalide : JSON incomplet."
	}
	return "Corps JSON invalide : un objet JSON est attendu."
}

// safeName keeps a name from the request short and printable before it is shown.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 40 {
			break
		}
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-') {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "?"
	}
	return b.String()
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

type headerKey struct{}

// retryAfter sets Retry-After on the response of the request of ctx (Middleware puts its
// header in the context), for errors that handlers return through ogen's encoder.
func retryAfter(ctx context.Context, wait time.Duration) {
	if h, ok := ctx.Value(headerKey{}).(http.Header); ok {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	}
}

// writeError writes the contract's error shape outside ogen's encoders.
func writeError(w http.ResponseWriter, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(statusOf[code])
	_ = json.NewEncoder(w).Encode(&oas.Error{Error: oas.ErrorBody{Code: code, Message: message}})
}

// compile-time check: our error writer matches ogen's expected signature.
var _ ogenerrors.ErrorHandler = (*Handler)(nil).HandleError
