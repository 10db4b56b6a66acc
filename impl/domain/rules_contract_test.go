package domain_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"pgregory.net/rapid"

	"github.com/artisan-notify/artisan-notify/impl/domain"
)

// The patterns the server applies are the contract's, character for character.
func TestPatternsAreTheContracts(t *testing.T) {
	b, err := os.ReadFile("../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Pattern string `yaml:"pattern"`
				} `yaml:"properties"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"prenom", "nom"} {
		if got := doc.Components.Schemas["RegisterRequest"].Properties[name].Pattern; got != domain.NamePattern {
			t.Errorf("RegisterRequest.%s.pattern\n%q\nwant domain.NamePattern\n%q", name, got, domain.NamePattern)
		}
	}
	if got := doc.Components.Schemas["RejectRequest"].Properties["reason"].Pattern; got != domain.NoNulPattern {
		t.Errorf("RejectRequest.reason.pattern %q, want domain.NoNulPattern %q", got, domain.NoNulPattern)
	}
	if got := doc.Components.Schemas["RegisterRequest"].Properties["email"].Pattern; got != domain.EmailPattern {
		t.Errorf("RegisterRequest.email.pattern\n%q\nwant domain.EmailPattern\n%q", got, domain.EmailPattern)
	}
}

// interesting is an alphabet of the characters the rules treat apart: letters (ASCII and not),
// digits, punctuation and the email specials, every kind of white space, controls, bidirectional
// controls, and invisible characters.
var interesting = []rune("aZé李9 .@-_'\"()[]\\,;:<>%!~\t\n\v\f\r\x00\x1f\x7f\u0085\u00a0\u009f\u1680\u2000\u200a\u200b\u2028\u2029\u202a\u202e\u202f\u205f\u2066\u2069\u3000\ufeff")

func textOf(t *rapid.T, label string) string {
	return string(rapid.SliceOfN(rapid.SampledFrom(interesting), 0, 12).Draw(t, label))
}

// ValidName after trimming (what registration does) accepts exactly what NamePattern matches.
func TestNamePatternIsValidName(t *testing.T) {
	re := regexp.MustCompile(domain.NamePattern)
	rapid.Check(t, func(t *rapid.T) {
		s := textOf(t, "name")
		if want, got := domain.ValidName(strings.TrimSpace(s)), re.MatchString(s); got != want {
			t.Fatalf("%q: pattern %v, ValidName %v", s, got, want)
		}
	})
}

// ValidEmail of the normalized address agrees with the pattern on the address as sent.
func TestEmailPatternIsValidEmail(t *testing.T) {
	re := regexp.MustCompile(domain.EmailPattern)
	rapid.Check(t, func(t *rapid.T) {
		s := textOf(t, "local") + rapid.SampledFrom([]string{"@", "@@", ""}).Draw(t, "at") + textOf(t, "domain") +
			rapid.SampledFrom([]string{"", ".com", ".", "..fr"}).Draw(t, "tld")
		if want, got := domain.ValidEmail(domain.NormalizeEmail(s)), re.MatchString(s); got != want {
			t.Fatalf("%q: pattern %v, ValidEmail(normalized) %v", s, got, want)
		}
	})
	for _, ok := range []string{"amina.diallo@example.com", " A.B+tag@Sub.Example.FR ", "élise@exämple.fr", "a!#$%&'*+/=?^_`{|}~-@x.io"} {
		if !domain.ValidEmail(domain.NormalizeEmail(ok)) || !re.MatchString(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"a@b", "a@.b.c", "a@b.c.", ".a@b.c", "a..b@c.d", `"a b"@c.d`, "a@[1.2.3.4]", "a@b.c (x)", "a\u00a0b@c.d", "a\u202eb@c.d", "a@b@c.d"} {
		if domain.ValidEmail(domain.NormalizeEmail(bad)) || re.MatchString(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}
