package auth

import (
	"errors"
	"testing"
	"time"
)

// A token verified once is served from the cache, but only while it has not expired.
func TestVerifiedTokenExpiresInTheCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tokens := NewTokens([]byte("0123456789abcdef0123456789abcdef"), "iss", "aud", time.Hour, func() time.Time { return now })
	tok, _, err := tokens.Issue(7, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := tokens.Verify(tok); err != nil || c.UserID != 7 {
		t.Fatalf("fresh token: %+v %v", c, err)
	}
	if _, ok := tokens.verified[tok]; !ok {
		t.Fatal("a verified token was not remembered")
	}
	now = now.Add(time.Hour + 10*time.Second) // past exp and the 5 s leeway
	if _, err := tokens.Verify(tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired token accepted from the cache: %v", err)
	}
	if _, ok := tokens.verified[tok]; ok {
		t.Fatal("an expired token stayed in the cache")
	}
}

// BenchmarkVerifyUncached is the cost of a token seen for the first time (HMAC and JSON).
func BenchmarkVerifyUncached(b *testing.B) {
	tokens := NewTokens([]byte("0123456789abcdef0123456789abcdef"), "iss", "aud", time.Hour, nil)
	tok, _, err := tokens.Issue(7, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tokens.verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}
