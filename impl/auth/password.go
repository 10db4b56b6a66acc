package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/sync/semaphore"
)

// ErrMismatch is returned by Verify when the password does not match the hash.
var ErrMismatch = errors.New("password does not match")

// Argon2Params are argon2id cost parameters.
type Argon2Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32
	KeyLen      uint32
}

// OWASPArgon2 are the OWASP Password Storage Cheat Sheet's argon2id parameters
// (m=19 MiB, t=2, p=1).
var OWASPArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// ErrBusy is returned by Hash, Verify and VerifyDummy when the hasher already runs its maximum of
// concurrent hashes and its wait queue is full, or a waiting call waited its maximum: the caller
// should answer "try again shortly" rather than queue more memory.
var ErrBusy = errors.New("password hasher busy")

// Limit bounds the memory that hashing takes: each argon2id call holds MemoryKiB of memory, so
// Concurrent calls at most run at once, Queue more wait at most MaxWait for a turn, and the
// others get ErrBusy at once. Zero fields take the defaults of DefaultLimit.
//
// A stored hash made with a larger memory cost than the hasher's (the cost was lowered since)
// counts as that many calls, up to all of them: hashing memory stays at most Concurrent times
// the configured cost, or one stored hash's own cost (at most 256 MiB) when that is larger.
type Limit struct {
	Concurrent int
	Queue      int
	MaxWait    time.Duration
}

// DefaultLimit is one hash per CPU (argon2id with p=1 keeps one core busy, so more concurrent
// hashes only add memory), a queue of 32 per CPU (a waiting request holds no hash memory: the
// queue is bounded in time by MaxWait more than by its length) and a wait of at most 5 s (a
// login that waits beats a login refused; under a flood the queue still empties within MaxWait).
func DefaultLimit() Limit {
	n := runtime.GOMAXPROCS(0)
	return Limit{Concurrent: n, Queue: 32 * n, MaxWait: 5 * time.Second}
}

// Passwords hashes and verifies passwords with argon2id, in the PHC string format.
type Passwords struct {
	params Argon2Params
	// dummy is a hash of a random password, verified when the account does not exist so that
	// login costs the same for an unknown email as for a wrong password.
	dummy string
	// slots has a unit per concurrent hash of the configured cost; queue a token per running or
	// waiting hash.
	slots   *semaphore.Weighted
	nslots  int64
	queue   chan struct{}
	maxWait time.Duration
}

// NewPasswords returns a password hasher using params, bounded by limit (DefaultLimit when
// omitted; zero fields take the default).
func NewPasswords(params Argon2Params, limit ...Limit) (*Passwords, error) {
	l := DefaultLimit()
	if len(limit) > 0 {
		if limit[0].Concurrent > 0 {
			l.Concurrent = limit[0].Concurrent
		}
		if limit[0].Queue > 0 {
			l.Queue = limit[0].Queue
		}
		if limit[0].MaxWait > 0 {
			l.MaxWait = limit[0].MaxWait
		}
	}
	if params.MemoryKiB < 8 {
		return nil, fmt.Errorf("password hasher: memory cost %d KiB is below argon2's minimum of 8", params.MemoryKiB)
	}
	p := &Passwords{params: params, slots: semaphore.NewWeighted(int64(l.Concurrent)), nslots: int64(l.Concurrent),
		queue: make(chan struct{}, l.Concurrent+l.Queue), maxWait: l.MaxWait}
	random := make([]byte, 16)
	if _, err := rand.Read(random); err != nil {
		return nil, fmt.Errorf("password hasher: %w", err)
	}
	dummy, err := p.Hash(base64.RawStdEncoding.EncodeToString(random))
	if err != nil {
		return nil, err
	}
	p.dummy = dummy
	return p, nil
}

// Params returns the hashing parameters (for benchmarks and logs).
func (p *Passwords) Params() Argon2Params { return p.params }

// weight is how many slots a hash of memKiB takes: one per configured cost it holds (rounded
// up), at least one and at most all of them.
func (p *Passwords) weight(memKiB uint32) int64 {
	w := int64((uint64(memKiB) + uint64(p.params.MemoryKiB) - 1) / uint64(p.params.MemoryKiB))
	return min(max(w, 1), p.nslots)
}

// acquire waits for the slots of a hash of memKiB: at once when they are free, up to maxWait
// (in turn: a waiting heavy hash is not overtaken) when the queue has room, else ErrBusy. The
// caller calls the returned release when done.
func (p *Passwords) acquire(memKiB uint32) (release func(), err error) {
	select {
	case p.queue <- struct{}{}:
	default:
		return nil, ErrBusy
	}
	w := p.weight(memKiB)
	if !p.slots.TryAcquire(w) {
		ctx, cancel := context.WithTimeout(context.Background(), p.maxWait)
		err := p.slots.Acquire(ctx, w)
		cancel()
		if err != nil {
			<-p.queue
			return nil, ErrBusy
		}
	}
	return func() { p.slots.Release(w); <-p.queue }, nil
}

// Hash returns the PHC-encoded argon2id hash of password.
func (p *Passwords) Hash(password string) (string, error) {
	salt := make([]byte, p.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	release, err := p.acquire(p.params.MemoryKiB)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.params.Iterations, p.params.MemoryKiB, p.params.Parallelism, p.params.KeyLen)
	release()
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.params.MemoryKiB, p.params.Iterations, p.params.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// maxSaltOrKey is the longest salt or key Verify reads from a stored hash.
const maxSaltOrKey = 64

// Verify returns nil if password matches the PHC-encoded hash, ErrMismatch if it does not,
// and another error if the hash cannot be read.
func (p *Passwords) Verify(hash, password string) error {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return fmt.Errorf("verify password: unsupported hash format")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return fmt.Errorf("verify password: unsupported argon2 version")
	}
	var m, t uint32
	var par uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &par); err != nil {
		return fmt.Errorf("verify password: bad parameters: %w", err)
	}
	// A corrupted hash must not panic argon2 or allocate without bound: at most 256 MiB (and the
	// hasher counts a hash by its memory), a salt and a key of at most 64 bytes.
	if t < 1 || t > 16 || par < 1 || m < 8*uint32(par) || m > 1<<18 ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", m, t, par) {
		return fmt.Errorf("verify password: parameters out of range")
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return fmt.Errorf("verify password: bad salt: %w", err)
	}
	if len(salt) < 8 || len(salt) > maxSaltOrKey {
		return fmt.Errorf("verify password: salt of %d bytes, want 8 to %d", len(salt), maxSaltOrKey)
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > maxSaltOrKey {
		return fmt.Errorf("verify password: bad key")
	}
	release, err := p.acquire(m)
	if err != nil {
		return fmt.Errorf("verify password: %w", err)
	}
	got := argon2.IDKey([]byte(password), salt, t, m, par, uint32(len(want)))
	release()
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

// VerifyDummy spends the same time as Verify on a real hash, and returns ErrMismatch (or an
// error wrapping ErrBusy when the hasher is saturated).
func (p *Passwords) VerifyDummy(password string) error {
	if err := p.Verify(p.dummy, password); errors.Is(err, ErrBusy) {
		return err
	}
	return ErrMismatch
}
