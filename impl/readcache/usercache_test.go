package readcache_test

import (
	"context"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/gen/events"
	"github.com/artisan-notify/artisan-notify/impl/domain"
	"github.com/artisan-notify/artisan-notify/impl/readcache"
)

// A load that read the user before a revocation, and finishes after the relay dropped the user,
// does not cache what it read: the next read sees the revocation, not the old user for the TTL.
func TestUserCacheKeepsNoLoadThatRacedWithADrop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plain := newStore(t)
	cached := readcache.New(plain, time.Minute)
	email := "race@example.com"
	u, err := plain.Register(ctx, domain.NewContact{Prenom: "A", Nom: "B", Email: email, PasswordHash: "x", TypeCompte: "Client"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.GrantPDG(ctx, email); err != nil {
		t.Fatal(err)
	}

	got, err := cached.UserLoadedThen(ctx, u.ID, func() {
		// Between the load's read and its caching: the revocation commits, and the relay hands
		// the cache the outbox message it wrote.
		if _, err := plain.RevokePDG(ctx, email); err != nil {
			t.Error(err)
		}
		msg := userChanged(t, u.ID)
		if err := cached.Deliver(context.Background(), msg); err != nil {
			t.Error(err)
		}
	})
	if err != nil || !got.IsPDG {
		t.Fatalf("the load in flight read %+v (%v), want the user before the revocation", got, err)
	}
	if got, err := cached.User(ctx, u.ID); err != nil || got.IsPDG {
		t.Fatalf("after the revocation was delivered the cache answered %+v (%v): the raced load was cached", got, err)
	}
	// Loads that did not race are cached as before.
	if _, err := plain.GrantPDG(ctx, email); err != nil {
		t.Fatal(err)
	}
	if got, _ := cached.User(ctx, u.ID); got.IsPDG {
		t.Fatal("the cache answered from the database: it is not caching")
	}
}

// userChanged is the outbox message that a change of the contact id records.
func userChanged(t testing.TB, id int64) events.Message {
	t.Helper()
	m, err := events.NewInternalUserChanged(events.InternalUserChanged{ContactID: id})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
