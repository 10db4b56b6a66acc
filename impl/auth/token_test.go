package auth_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/artisan-notify/artisan-notify/impl/auth"
)

const (
	secret   = "token-test-secret-0123456789abcdef"
	issuer   = "artisan-notify"
	audience = "artisan-notify"
	ttl      = time.Hour
)

// t0 is the fixed instant the token tests run at.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// tokensAt returns the token service with the test secret and a clock stopped at now.
func tokensAt(now time.Time) *auth.Tokens {
	return auth.NewTokens([]byte(secret), issuer, audience, ttl, func() time.Time { return now })
}

// claimsAt returns the claims Issue would put in a token for user 42 issued at now; edit
// them to forge a token that differs in one respect.
func claimsAt(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"sub": "42",
		"iss": issuer,
		"aud": []string{audience},
		"iat": now.Unix(),
		"exp": now.Add(ttl).Unix(),
		"tv":  1,
	}
}

// forge signs claims with method and key, the way an attacker with a JWT library would.
func forge(tb testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	tb.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		tb.Fatalf("forge %s token: %v", method.Alg(), err)
	}
	return s
}

// with returns the test claims with key set to v (deleted when v is nil).
func with(key string, v any) jwt.MapClaims {
	c := claimsAt(t0)
	if v == nil {
		delete(c, key)
	} else {
		c[key] = v
	}
	return c
}

// issue returns a token issued by the service for user 42.
func issue(tb testing.TB, tokens *auth.Tokens) string {
	tb.Helper()
	tok, _, err := tokens.Issue(42, 1)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	tokens := tokensAt(t0)
	for _, tc := range []struct {
		name    string
		userID  int64
		version int32
	}{
		{"first user", 1, 0},
		{"revoked once", 42, 1},
		{"largest id", 1<<63 - 1, 1<<31 - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, exp, err := tokens.Issue(tc.userID, tc.version)
			if err != nil {
				t.Fatal(err)
			}
			if !exp.Equal(t0.Add(ttl)) {
				t.Errorf("Issue expiry = %v, want %v", exp, t0.Add(ttl))
			}
			c, err := tokens.Verify(tok)
			if err != nil {
				t.Fatalf("Verify(own token) = %v", err)
			}
			want := auth.Claims{UserID: tc.userID, TokenVersion: tc.version, ExpiresAt: t0.Add(ttl)}
			if c.UserID != want.UserID || c.TokenVersion != want.TokenVersion || !c.ExpiresAt.Equal(want.ExpiresAt) {
				t.Errorf("Verify = %+v, want %+v", c, want)
			}
		})
	}
}

func TestVerifyAccepts(t *testing.T) {
	key := []byte(secret)
	for _, tc := range []struct {
		name  string
		token string
		at    time.Time // when Verify runs
	}{
		{"token issued by a forger with our secret and our claims", forge(t, jwt.SigningMethodHS256, key, claimsAt(t0)), t0},
		{"aud as a single string", forge(t, jwt.SigningMethodHS256, key, with("aud", audience)), t0},
		{"expired less than the 5 s leeway ago", issue(t, tokensAt(t0)), t0.Add(ttl + 4*time.Second)},
		{"issued less than the leeway in the future (clock skew)", forge(t, jwt.SigningMethodHS256, key, with("iat", t0.Add(4*time.Second).Unix())), t0},
		// WithIssuedAt checks iat only when present; Issue always sets it, and only holders of
		// the secret can mint a token without it.
		{"no iat", forge(t, jwt.SigningMethodHS256, key, with("iat", nil)), t0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tokensAt(tc.at).Verify(tc.token)
			if err != nil {
				t.Fatalf("Verify = %v, want accepted", err)
			}
			if c.UserID != 42 {
				t.Errorf("UserID = %d, want 42", c.UserID)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	key := []byte(secret)
	hs256 := jwt.SigningMethodHS256
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	valid := issue(t, tokensAt(t0))
	parts := strings.Split(valid, ".")

	for _, tc := range []struct {
		name  string
		token string
		at    time.Time // when Verify runs
	}{
		{"alg none", forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claimsAt(t0)), t0},
		{"alg none with our signature kept", headerSwap(t, valid, `{"alg":"none","typ":"JWT"}`), t0},
		{"HS384 with our secret", forge(t, jwt.SigningMethodHS384, key, claimsAt(t0)), t0},
		{"HS512 with our secret", forge(t, jwt.SigningMethodHS512, key, claimsAt(t0)), t0},
		{"RS256 signed with an RSA key", forge(t, jwt.SigningMethodRS256, rsaKey, claimsAt(t0)), t0},
		{"RS256 header, HMAC signature with our secret (alg confusion)", hmacWithHeader(t, `{"alg":"RS256","typ":"JWT"}`, claimsAt(t0)), t0},
		{"wrong secret", forge(t, hs256, []byte("another-secret-0123456789abcdef0123"), claimsAt(t0)), t0},
		{"payload changed after signing", payloadSwap(t, valid, `{"sub":"1","iss":"artisan-notify","aud":["artisan-notify"],"iat":1,"exp":99999999999,"tv":1}`), t0},
		{"signature removed", parts[0] + "." + parts[1] + ".", t0},
		{"expired beyond the leeway", valid, t0.Add(ttl + 6*time.Second)},
		{"expired long ago", valid, t0.Add(30 * 24 * time.Hour)},
		{"missing exp", forge(t, hs256, key, with("exp", nil)), t0},
		{"exp not a number", forge(t, hs256, key, with("exp", "tomorrow")), t0},
		{"issued in the future", forge(t, hs256, key, with("iat", t0.Add(time.Hour).Unix())), t0},
		{"not valid yet (nbf)", forge(t, hs256, key, with("nbf", t0.Add(time.Hour).Unix())), t0},
		{"wrong iss", forge(t, hs256, key, with("iss", "someone-else")), t0},
		{"missing iss", forge(t, hs256, key, with("iss", nil)), t0},
		{"wrong aud", forge(t, hs256, key, with("aud", []string{"another-app"})), t0},
		{"missing aud", forge(t, hs256, key, with("aud", nil)), t0},
		{"sub not numeric", forge(t, hs256, key, with("sub", "admin")), t0},
		{"sub 0", forge(t, hs256, key, with("sub", "0")), t0},
		{"sub -1", forge(t, hs256, key, with("sub", "-1")), t0},
		{"sub with leading zeros 007", forge(t, hs256, key, with("sub", "007")), t0},
		{"sub with a plus sign", forge(t, hs256, key, with("sub", "+7")), t0},
		{"sub with spaces", forge(t, hs256, key, with("sub", " 7")), t0},
		{"sub beyond int64", forge(t, hs256, key, with("sub", "9223372036854775808")), t0},
		{"sub huge", forge(t, hs256, key, with("sub", strings.Repeat("9", 100))), t0},
		{"sub as a JSON number", forge(t, hs256, key, with("sub", 42)), t0},
		{"missing sub", forge(t, hs256, key, with("sub", nil)), t0},
		{"empty", "", t0},
		{"oversized but correctly signed", forge(t, hs256, key, with("pad", strings.Repeat("x", auth.MaxTokenLength))), t0},
		{"truncated by one character", valid[:len(valid)-1], t0},
		{"truncated to header and payload", parts[0] + "." + parts[1], t0},
		{"truncated to the header", parts[0], t0},
		{"garbage", "not a token", t0},
		{"three empty parts", "..", t0},
		{"three non-base64 parts", "a*b.c*d.e*f", t0},
		{"Bearer prefix left on", "Bearer " + valid, t0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tokensAt(tc.at).Verify(tc.token)
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("Verify = %+v, %v; want an error wrapping ErrInvalidToken", c, err)
			}
			if c != (auth.Claims{}) {
				t.Errorf("rejected token still yielded claims %+v", c)
			}
		})
	}
}

// TestVerifyTokenFromAnotherDeployment checks that a token is bound to the issuer and audience
// the service was built with, not to the defaults.
func TestVerifyTokenFromAnotherDeployment(t *testing.T) {
	now := func() time.Time { return t0 }
	other := auth.NewTokens([]byte(secret), "staging", "staging", ttl, now)
	tok, _, err := other.Issue(42, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(tok); err != nil {
		t.Fatalf("staging rejects its own token: %v", err)
	}
	if _, err := tokensAt(t0).Verify(tok); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("production accepted a staging token: %v", err)
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// hmacWithHeader signs header.claims with HMAC-SHA256 and our secret, whatever alg the header names.
func hmacWithHeader(tb testing.TB, header string, claims jwt.MapClaims) string {
	tb.Helper()
	payload, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SigningString()
	if err != nil {
		tb.Fatal(err)
	}
	signing := b64(header) + "." + strings.SplitN(payload, ".", 2)[1]
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// headerSwap replaces the header of token, keeping its payload and signature.
func headerSwap(tb testing.TB, token, header string) string {
	tb.Helper()
	p := strings.Split(token, ".")
	return b64(header) + "." + p[1] + "." + p[2]
}

// payloadSwap replaces the payload of token, keeping its header and signature.
func payloadSwap(tb testing.TB, token, payload string) string {
	tb.Helper()
	p := strings.Split(token, ".")
	return p[0] + "." + b64(payload) + "." + p[2]
}
