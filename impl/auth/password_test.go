package auth_test

import (
	"encoding/base64"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/impl/auth"
)

// fastArgon2 keeps tests quick; the format and checks are the same as with OWASPArgon2.
var fastArgon2 = auth.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func newPasswords(tb testing.TB, params auth.Argon2Params) *auth.Passwords {
	tb.Helper()
	p, err := auth.NewPasswords(params)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func hash(tb testing.TB, p *auth.Passwords, password string) string {
	tb.Helper()
	h, err := p.Hash(password)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

func TestPasswordRoundTrip(t *testing.T) {
	p := newPasswords(t, fastArgon2)
	for _, tc := range []struct {
		name, password, attempt string
		want                    error
	}{
		{"same password", "correct horse battery", "correct horse battery", nil},
		{"non-ASCII password", "mot de passe très sûr ✓", "mot de passe très sûr ✓", nil},
		{"empty password", "", "", nil},
		{"wrong password", "correct horse battery", "correct horse batterie", auth.ErrMismatch},
		{"case differs", "Password123", "password123", auth.ErrMismatch},
		{"prefix of the password", "correct horse battery", "correct horse", auth.ErrMismatch},
		{"trailing space", "correct horse battery", "correct horse battery ", auth.ErrMismatch},
		{"empty attempt", "correct horse battery", "", auth.ErrMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := p.Verify(hash(t, p, tc.password), tc.attempt)
			if !errors.Is(err, tc.want) { // errors.Is(err, nil) is err == nil
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPasswordHashesAreSalted(t *testing.T) {
	p := newPasswords(t, fastArgon2)
	a, b := hash(t, p, "correct horse battery"), hash(t, p, "correct horse battery")
	if a == b {
		t.Fatalf("two hashes of one password are equal: %s", a)
	}
	if salt(t, a) == salt(t, b) {
		t.Errorf("two hashes share the salt %s", salt(t, a))
	}
}

func TestPasswordVerifyWithOtherParams(t *testing.T) {
	// A hash keeps its own parameters: raising the cost must not lock out existing users.
	old := hash(t, newPasswords(t, fastArgon2), "correct horse battery")
	stronger := newPasswords(t, auth.Argon2Params{MemoryKiB: 128, Iterations: 2, Parallelism: 2, SaltLen: 16, KeyLen: 32})
	if err := stronger.Verify(old, "correct horse battery"); err != nil {
		t.Errorf("Verify(hash made with other parameters) = %v", err)
	}
}

func TestPasswordCorruptedHash(t *testing.T) {
	p := newPasswords(t, fastArgon2)
	good := hash(t, p, "correct horse battery")
	parts := strings.Split(good, "$") // "", "argon2id", "v=19", "m=64,t=1,p=1", salt, key
	replace := func(i int, v string) string {
		q := append([]string(nil), parts...)
		q[i] = v
		return strings.Join(q, "$")
	}
	for _, tc := range []struct{ name, hash string }{
		{"empty", ""},
		{"not PHC", "correct horse battery"},
		{"bcrypt hash", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", replace(1, "argon2i")},
		{"unknown version", replace(2, "v=16")},
		{"version missing", replace(2, "")},
		{"parameters missing", replace(3, "")},
		{"parameters not numbers", replace(3, "m=lots,t=1,p=1")},
		{"salt not base64", replace(4, "!!!")},
		{"key not base64", replace(5, "!!!")},
		{"key empty", replace(5, "")},
		{"salt too short", replace(4, base64.RawStdEncoding.EncodeToString(make([]byte, 4)))},
		{"salt too long", replace(4, base64.RawStdEncoding.EncodeToString(make([]byte, 65)))},
		{"key too short", replace(5, base64.RawStdEncoding.EncodeToString(make([]byte, 8)))},
		{"key of a megabyte", replace(5, base64.RawStdEncoding.EncodeToString(make([]byte, 1<<20)))},
		{"memory over 256 MiB", replace(3, "m=262145,t=1,p=1")},
		{"no iterations", replace(3, "m=64,t=0,p=1")},
		{"no parallelism", replace(3, "m=64,t=1,p=0")},
		{"parameters not canonical", replace(3, "m=064,t=1,p=1")},
		{"a part missing", strings.Join(parts[:5], "$")},
		{"an extra part", good + "$extra"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := p.Verify(tc.hash, "correct horse battery")
			if err == nil || errors.Is(err, auth.ErrMismatch) {
				t.Errorf("Verify(%q) = %v, want an error other than ErrMismatch", tc.hash, err)
			}
		})
	}
}

func TestVerifyDummy(t *testing.T) {
	p := newPasswords(t, fastArgon2)
	for _, password := range []string{"", "correct horse battery", strings.Repeat("x", 512)} {
		if err := p.VerifyDummy(password); !errors.Is(err, auth.ErrMismatch) {
			t.Errorf("VerifyDummy(%q) = %v, want ErrMismatch", password, err)
		}
	}
}

func TestPasswordOWASPParameters(t *testing.T) {
	p := newPasswords(t, auth.OWASPArgon2)
	if p.Params() != auth.OWASPArgon2 {
		t.Errorf("Params = %+v, want %+v", p.Params(), auth.OWASPArgon2)
	}
	h := hash(t, p, "correct horse battery")
	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(h, prefix) {
		t.Fatalf("hash %s does not start with %s", h, prefix)
	}
	if n := len(decode(t, salt(t, h))); n != 16 {
		t.Errorf("salt is %d bytes, want 16", n)
	}
	if n := len(decode(t, strings.Split(h, "$")[5])); n != 32 {
		t.Errorf("key is %d bytes, want 32", n)
	}
	if err := p.Verify(h, "correct horse battery"); err != nil {
		t.Errorf("Verify(right password) = %v", err)
	}
	if err := p.Verify(h, "wrong horse battery"); !errors.Is(err, auth.ErrMismatch) {
		t.Errorf("Verify(wrong password) = %v, want ErrMismatch", err)
	}
}

func salt(tb testing.TB, phc string) string {
	tb.Helper()
	parts := strings.Split(phc, "$")
	if len(parts) != 6 {
		tb.Fatalf("not a PHC string: %q", phc)
	}
	return parts[4]
}

func decode(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		tb.Fatalf("not unpadded base64: %q: %v", s, err)
	}
	return b
}

// slowArgon2 takes long enough (tens of ms) for concurrent calls to overlap.
var slowArgon2 = auth.Argon2Params{MemoryKiB: 32 * 1024, Iterations: 3, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// hashAll runs n hashes, verifications or dummy verifications at once and counts the ErrBusy.
func hashAll(t *testing.T, p *auth.Passwords, n int, op func() error) (ok, busy int) {
	t.Helper()
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		go func() { <-start; errs <- op() }()
	}
	close(start)
	for range n {
		switch err := <-errs; {
		case err == nil, errors.Is(err, auth.ErrMismatch):
			ok++
		case errors.Is(err, auth.ErrBusy):
			busy++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	return ok, busy
}

func TestPasswordConcurrencyIsBounded(t *testing.T) {
	// One hash at a time, one waiting for at most 1 ms: of 12 calls at once, one or two are
	// served (the waiting one if the running one ends within 1 ms), the others are refused at
	// once instead of each holding 32 MiB.
	p, err := auth.NewPasswords(slowArgon2, auth.Limit{Concurrent: 1, Queue: 1, MaxWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stored := hash(t, p, "correct horse battery")
	for name, op := range map[string]func() error{
		"Hash":        func() error { _, err := p.Hash("correct horse battery"); return err },
		"Verify":      func() error { return p.Verify(stored, "correct horse battery") },
		"VerifyDummy": func() error { return p.VerifyDummy("correct horse battery") },
	} {
		t.Run(name, func(t *testing.T) {
			ok, busy := hashAll(t, p, 12, op)
			if ok < 1 || ok > 2 || busy != 12-ok {
				t.Errorf("%d served, %d busy; want 1 or 2 served and the rest ErrBusy", ok, busy)
			}
		})
	}
}

func TestPasswordHeavyStoredHashCountsByItsMemory(t *testing.T) {
	// The cost was lowered since some hashes were made: a stored hash of twice the memory takes
	// both slots of a two-slot hasher, so two of them never run at once (which would hold twice
	// the memory the limit was set for). Of 12 at once with a 1 ms wait, exactly one is served.
	heavy := hash(t, newPasswords(t, slowArgon2), "correct horse battery")
	half := slowArgon2
	half.MemoryKiB /= 2
	p, err := auth.NewPasswords(half, auth.Limit{Concurrent: 2, Queue: 1, MaxWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if ok, busy := hashAll(t, p, 12, func() error { return p.Verify(heavy, "correct horse battery") }); ok != 1 || busy != 11 {
		t.Errorf("%d served, %d busy; want one served at a time", ok, busy)
	}
	// hashes of the configured cost still run two at once
	light := hash(t, p, "correct horse battery")
	if ok, _ := hashAll(t, p, 12, func() error { return p.Verify(light, "correct horse battery") }); ok < 2 {
		t.Errorf("%d served, want two at once", ok)
	}
	// a waiting heavy hash gets its turn, and still verifies
	q, err := auth.NewPasswords(half, auth.Limit{Concurrent: 2, Queue: 10, MaxWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if ok, busy := hashAll(t, q, 3, func() error { return q.Verify(heavy, "correct horse battery") }); ok != 3 || busy != 0 {
		t.Errorf("%d served, %d busy; want all 3 served in turn", ok, busy)
	}
}

func TestPasswordQueueWaitsForATurn(t *testing.T) {
	// A queue as long as the burst and a long wait: every call is served, in turn.
	p, err := auth.NewPasswords(slowArgon2, auth.Limit{Concurrent: 2, Queue: 10, MaxWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if ok, busy := hashAll(t, p, 12, func() error { return p.VerifyDummy("x") }); ok != 12 || busy != 0 {
		t.Errorf("%d served, %d busy; want all 12 served", ok, busy)
	}
}

func TestPasswordDefaultLimit(t *testing.T) {
	l := auth.DefaultLimit()
	if n := runtime.GOMAXPROCS(0); l.Concurrent != n || l.Queue != 32*n || l.MaxWait <= 0 || l.MaxWait > 5*time.Second {
		t.Errorf("DefaultLimit = %+v, want %d concurrent, a queue of %d and a short wait", l, n, 4*n)
	}
}
