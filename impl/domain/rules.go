package domain

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the contract.
const (
	MinPassword = 8
	MaxPassword = 128
	MaxName     = 100
	MaxEmail    = 254
	MaxReason   = 1000
	MaxSearch   = 100
)

// NormalizeEmail is how every email is compared and stored: trimmed and lowercased.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Registration is what a person sends to open an account.
type Registration struct {
	Prenom, Nom, Email, Password, ConfirmPassword string
	TypeCompte                                    AccountType
}

// Validate returns the registration as it is stored (names trimmed, email normalized; no hash
// yet), or an *InvalidError saying the first rule it breaks.
func (r Registration) Validate() (NewContact, error) {
	prenom, nom := strings.TrimSpace(r.Prenom), strings.TrimSpace(r.Nom)
	email := NormalizeEmail(r.Email)
	switch {
	case !ValidName(prenom):
		return NewContact{}, invalid("Le prénom est requis (100 caractères au plus, au moins une lettre, sans caractère de contrôle ni de direction d'écriture).")
	case !ValidName(nom):
		return NewContact{}, invalid("Le nom est requis (100 caractères au plus, au moins une lettre, sans caractère de contrôle ni de direction d'écriture).")
	case !ValidEmail(email):
		return NewContact{}, invalid("Adresse email invalide.")
	case !utf8.ValidString(r.Password):
		return NewContact{}, invalid("Le mot de passe contient des caractères invalides.")
	case utf8.RuneCountInString(r.Password) < MinPassword || utf8.RuneCountInString(r.Password) > MaxPassword:
		return NewContact{}, invalid("Le mot de passe doit contenir entre 8 et 128 caractères.")
	case r.Password != r.ConfirmPassword:
		return NewContact{}, invalid("Les mots de passe ne correspondent pas.")
	}
	return NewContact{Prenom: prenom, Nom: nom, Email: email, TypeCompte: r.TypeCompte}, nil
}

// RejectReason returns the reason a PDG gives for a rejection as it is stored: trimmed, nil when
// empty. It returns an *InvalidError if the reason is too long, holds U+0000 (which PostgreSQL text
// cannot hold: NoNulPattern) or is not valid UTF-8.
func RejectReason(text string) (*string, error) {
	text = strings.TrimSpace(text)
	if !utf8.ValidString(text) || utf8.RuneCountInString(text) > MaxReason {
		return nil, invalid("Le motif doit contenir 1000 caractères au plus.")
	}
	if strings.ContainsRune(text, 0) {
		return nil, invalid("Le motif ne peut pas contenir le caractère nul (U+0000).")
	}
	if text == "" {
		return nil, nil
	}
	return &text, nil
}

// RequestSearch returns the text a PDG searches the requests for as it is used: trimmed ("" keeps
// every request). It returns an *InvalidError if it is longer than MaxSearch characters or not
// valid UTF-8.
func RequestSearch(text string) (string, error) {
	if !utf8.ValidString(text) || utf8.RuneCountInString(text) > MaxSearch {
		return "", invalid("q : 100 caractères au plus.")
	}
	if strings.ContainsRune(text, 0) {
		return "", invalid("q : le caractère nul (U+0000) n'est pas admis.")
	}
	return strings.TrimSpace(text), nil
}

// The patterns of openapi.yaml (RegisterRequest's email, and prenom and nom), character for character:
// a test checks that they are the contract's. They match the text as sent: surrounding white space
// (unicode.IsSpace, which strings.TrimSpace removes) is allowed around the value.
const (
	// EmailPattern is an addr-spec local@domain whose local part and domain are dot-separated runs
	// of RFC 5322 atom characters (non-ASCII ones too, RFC 6532, but no white space, control or
	// bidirectional control), with at least one dot in the domain.
	EmailPattern = "^[\\t\\n\\x0B\\f\\r \\x85\\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\\x00-\\x20\"(),.:;<>@\\[\\\\\\]\\x7F-\\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u202A-\u202E\u2066-\u2069]+(\\.[^\\x00-\\x20\"(),.:;<>@\\[\\\\\\]\\x7F-\\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u202A-\u202E\u2066-\u2069]+)*@[^\\x00-\\x20\"(),.:;<>@\\[\\\\\\]\\x7F-\\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u202A-\u202E\u2066-\u2069]+(\\.[^\\x00-\\x20\"(),.:;<>@\\[\\\\\\]\\x7F-\\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u202A-\u202E\u2066-\u2069]+)+[\\t\\n\\x0B\\f\\r \\x85\\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
	// NamePattern is a name with at least one letter and no control character nor bidirectional
	// control (ValidName), once trimmed.
	// NoNulPattern is a text without U+0000, which PostgreSQL text cannot hold (a rejection's
	// reason, a search).
	NoNulPattern = "^[^\\x00]*$"
	NamePattern  = "^[\\t\\n\\x0B\\f\\r \\x85\\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\\x00-\\x1F\\x7F-\\x9F\u202A-\u202E\u2066-\u2069]*\\p{L}[^\\x00-\\x1F\\x7F-\\x9F\u202A-\u202E\u2066-\u2069]*[\\t\\n\\x0B\\f\\r \\x85\\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
)

var emailRule = regexp.MustCompile(EmailPattern)

// ValidEmail accepts an address of at most MaxEmail characters that matches EmailPattern
// (normalized or not: the pattern allows the white space that NormalizeEmail trims).
func ValidEmail(email string) bool {
	return utf8.ValidString(email) && utf8.RuneCountInString(email) <= MaxEmail && emailRule.MatchString(email)
}

// ValidName accepts a name of at most MaxName characters with at least one letter (so not only
// spaces, punctuation or invisible characters such as U+200B), without control characters nor
// the bidirectional embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069),
// which would reorder the text shown around the name.
func ValidName(s string) bool {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxName {
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
