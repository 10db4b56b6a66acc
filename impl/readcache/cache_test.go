package readcache_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/artisan-notify/artisan-notify/gen/events"
	"github.com/artisan-notify/artisan-notify/impl/domain"
	"github.com/artisan-notify/artisan-notify/impl/readcache"
	"github.com/artisan-notify/artisan-notify/impl/store"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// newStore returns a store on a fresh database.
func newStore(t *testing.T) *store.Store {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testdb.New(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return store.New(pool)
}

func TestUserCacheDropsChangedUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plain := newStore(t)
	cached := readcache.New(plain, time.Minute)

	u, err := plain.Register(ctx, domain.NewContact{Prenom: "A", Nom: "B", Email: "cache@example.com", PasswordHash: "x", TypeCompte: "Client"})
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
	if err := cached.Deliver(context.Background(), userChanged(t, u.ID)); err != nil {
		t.Fatal(err)
	}
	if got, _ := cached.User(ctx, u.ID); !got.IsPDG {
		t.Fatal("still the old user after its change was delivered")
	}
	if _, err := cached.User(ctx, 987654321); err == nil {
		t.Fatal("an unknown user was found")
	}
}

func TestPendingCacheSeesEveryNodesWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newStore(t) // the nodes share the database
	nodeA := readcache.New(db, time.Minute)
	nodeB := readcache.New(db, time.Minute)
	count := func(s *readcache.Store) int64 {
		t.Helper()
		n, err := s.CountPending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		reqs, total, err := s.PendingRequests(ctx, 50)
		if err != nil || total != n || int64(len(reqs)) != n {
			t.Fatalf("count %d, list %d of %d (%v)", n, len(reqs), total, err)
		}
		return n
	}
	if count(nodeA) != 0 || count(nodeB) != 0 {
		t.Fatal("not empty")
	}
	u, err := nodeA.Register(ctx, domain.NewContact{Prenom: "A", Nom: "B", Email: "p@example.com", PasswordHash: "x", TypeCompte: domain.TypeArtisan})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(nodeA); n != 1 {
		t.Fatalf("the writing node reads %d, want its own write at once", n)
	}
	if n := count(nodeB); n != 0 {
		t.Fatalf("the other node read %d before its relay told it: it is not caching", n)
	}
	msg, err := events.NewArtisanRequestNew(events.ArtisanRequestNew{ContactID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	_ = nodeB.Deliver(context.Background(), msg) // what node B's relay does with the outbox row
	if n := count(nodeB); n != 1 {
		t.Fatalf("node B reads %d after the event, want 1", n)
	}
	if _, err := db.GrantPDG(ctx, u.Email); err != nil { // only a PDG decides
		t.Fatal(err)
	}
	if _, err := nodeB.Approve(ctx, u.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(nodeB); n != 0 {
		t.Fatalf("node B reads %d after its own approval", n)
	}
}
