package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/artisan-notify/artisan-notify/impl/auth"
)

// FuzzVerify: no input panics, every refusal wraps ErrInvalidToken, and an accepted token
// names a positive contact id.
func FuzzVerify(f *testing.F) {
	tokens := tokensAt(t0)
	valid := issue(f, tokens)
	f.Add(valid)
	f.Add(issue(f, tokensAt(t0.Add(-2*ttl)))) // expired
	f.Add(forge(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claimsAt(t0)))
	f.Add(forge(f, jwt.SigningMethodHS512, []byte(secret), claimsAt(t0)))
	f.Add(forge(f, jwt.SigningMethodHS256, []byte(secret), with("sub", "007")))
	f.Add(valid[:len(valid)-1])
	f.Add("")
	f.Add("..")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := tokens.Verify(token)
		if err != nil {
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("Verify(%q) = %v, which does not wrap ErrInvalidToken", token, err)
			}
			return
		}
		if c.UserID <= 0 {
			t.Fatalf("Verify(%q) accepted contact id %d", token, c.UserID)
		}
		if !c.ExpiresAt.After(t0.Add(-5 * time.Second)) {
			t.Fatalf("Verify(%q) accepted a token that expired at %v", token, c.ExpiresAt)
		}
	})
}
