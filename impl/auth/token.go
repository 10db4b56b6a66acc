// Package auth issues and verifies access tokens and hashes passwords.
package auth

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalidToken is returned for every token that must not be trusted: bad signature, wrong
// algorithm, expired, wrong issuer or audience, malformed subject.
var ErrInvalidToken = errors.New("invalid token")

// MaxTokenLength bounds the size of a token we are willing to parse.
const MaxTokenLength = 4096

// Claims is what a verified token says about its holder.
type Claims struct {
	UserID       int64
	TokenVersion int32
	ExpiresAt    time.Time
}

// Tokens issues and verifies HS256 JWTs.
type Tokens struct {
	secret   []byte
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	parser   *jwt.Parser

	// verified remembers the claims of tokens already verified (a client sends the same token
	// with every request), so a request costs a map lookup instead of an HMAC and a JSON parse.
	// A hit is still checked against the clock; revocation is the caller's check of the
	// token version, as for a fresh verification.
	mu       sync.Mutex
	verified map[string]Claims
}

// maxVerified bounds the verified-token cache; when full it starts again empty.
const maxVerified = 50_000

// NewTokens returns a token service. now may be nil (time.Now).
func NewTokens(secret []byte, issuer, audience string, ttl time.Duration, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{
		secret:   secret,
		issuer:   issuer,
		audience: audience,
		ttl:      ttl,
		now:      now,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithTimeFunc(now),
			jwt.WithLeeway(5*time.Second),
		),
		verified: make(map[string]Claims),
	}
}

type tokenClaims struct {
	jwt.RegisteredClaims
	// TokenVersion is the contact's token version when issued; raising it revokes older tokens.
	TokenVersion int32 `json:"tv"`
}

// Issue returns a signed token for the user.
func (t *Tokens) Issue(userID int64, tokenVersion int32) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(t.ttl)
	c := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   strconv.FormatInt(userID, 10),
			Issuer:    t.issuer,
			Audience:  jwt.ClaimStrings{t.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		TokenVersion: tokenVersion,
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token for user %d: %w", userID, err)
	}
	return s, exp, nil
}

// Verify checks a token and returns its claims; it returns an error wrapping ErrInvalidToken
// for any token that is not ours, valid and current.
func (t *Tokens) Verify(token string) (Claims, error) {
	if token == "" || len(token) > MaxTokenLength {
		return Claims{}, fmt.Errorf("%w: empty or oversized", ErrInvalidToken)
	}
	t.mu.Lock()
	c, ok := t.verified[token]
	t.mu.Unlock()
	if ok {
		if t.now().Before(c.ExpiresAt) {
			return c, nil
		}
		t.mu.Lock()
		delete(t.verified, token)
		t.mu.Unlock()
	}
	c, err := t.verify(token)
	if err != nil {
		return Claims{}, err
	}
	t.mu.Lock()
	if len(t.verified) >= maxVerified {
		clear(t.verified)
	}
	t.verified[token] = c
	t.mu.Unlock()
	return c, nil
}

func (t *Tokens) verify(token string) (Claims, error) {
	var c tokenClaims
	if _, err := t.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil }); err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != c.Subject {
		return Claims{}, fmt.Errorf("%w: subject is not a contact id", ErrInvalidToken)
	}
	return Claims{UserID: id, TokenVersion: c.TokenVersion, ExpiresAt: c.ExpiresAt.Time}, nil
}
