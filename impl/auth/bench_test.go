package auth_test

import (
	"testing"

	"github.com/artisan-notify/artisan-notify/impl/auth"
)

func BenchmarkVerify(b *testing.B) {
	tokens := tokensAt(t0)
	tok := issue(b, tokens)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tokens.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssue(b *testing.B) {
	tokens := tokensAt(t0)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := tokens.Issue(42, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashOWASP is the cost of one registration (Hash) and of one login attempt (Verify)
// with the production parameters.
func BenchmarkHashOWASP(b *testing.B) {
	p := newPasswords(b, auth.OWASPArgon2)
	prm := p.Params()
	b.Logf("argon2id m=%d KiB, t=%d, p=%d, salt %d B, key %d B", prm.MemoryKiB, prm.Iterations, prm.Parallelism, prm.SaltLen, prm.KeyLen)
	b.Run("Hash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Hash("correct horse battery"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Verify", func(b *testing.B) {
		h := hash(b, p, "correct horse battery")
		b.ReportAllocs()
		for b.Loop() {
			if err := p.Verify(h, "correct horse battery"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
