package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"artisan-notify/gen/events"
	"artisan-notify/impl/store"
	"artisan-notify/impl/testdb"
)

func TestUserCacheDropsChangedUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.New(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	plain := store.New(pool)
	cached := store.New(pool).WithUserCache(time.Minute)

	u, err := plain.Register(ctx, store.NewContact{Prenom: "A", Nom: "B", Email: "cache@example.com", PasswordHash: "x", TypeCompte: "Client"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := cached.User(ctx, u.ID); err != nil || got.IsPDG {
		t.Fatalf("first load: %+v %v", got, err)
	}
	if _, err := plain.GrantPDG(ctx, "cache@example.com"); err != nil {
		t.Fatal(err)
	}
	if got, _ := cached.User(ctx, u.ID); got.IsPDG {
		t.Fatal("the cache answered from the database: it is not caching")
	}
	// The relay hands the cache the outbox message GrantPDG wrote.
	if err := cached.Deliver(events.Message{Event: store.UserChanged, Payload: []byte(`{"contact_id":` + strconv.FormatInt(u.ID, 10) + `}`)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := cached.User(ctx, u.ID); !got.IsPDG {
		t.Fatal("still the old user after its change was delivered")
	}
	if _, err := cached.User(ctx, 987654321); err == nil {
		t.Fatal("an unknown user was found")
	}
}
