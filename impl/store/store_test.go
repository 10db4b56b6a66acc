package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/artisan-notify/artisan-notify/impl/domain"
	"github.com/artisan-notify/artisan-notify/impl/store"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// Register, User and PDGs give the same user (one mapping of the contact rows); decisions and
// changes of unknown contacts return the domain's errors.
func TestStoreUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, st := newStore(t)
	registered, err := st.Register(ctx, domain.NewContact{Prenom: "Amina", Nom: "Diallo", Email: "amina@example.com",
		PasswordHash: "x", TypeCompte: domain.TypeArtisan})
	if err != nil {
		t.Fatal(err)
	}
	if registered.ArtisanStatus != domain.StatusPending || !registered.DemandeArtisan || registered.IsPDG {
		t.Fatalf("registered %+v", registered)
	}
	if _, err := st.Register(ctx, domain.NewContact{Prenom: "A", Nom: "B", Email: "amina@example.com", PasswordHash: "x",
		TypeCompte: domain.TypeClient}); !errors.Is(err, domain.ErrEmailTaken) {
		t.Fatalf("same email: %v", err)
	}
	if u, err := st.User(ctx, registered.ID); err != nil || u != registered {
		t.Fatalf("User %+v %v, want %+v", u, err, registered)
	}
	if _, err := st.GrantPDG(ctx, "amina@example.com"); err != nil {
		t.Fatal(err)
	}
	pdgs, err := st.PDGs(ctx)
	want := registered
	want.IsPDG = true
	if err != nil || len(pdgs) != 1 || pdgs[0] != want {
		t.Fatalf("PDGs %+v %v, want [%+v]", pdgs, err, want)
	}
	if _, err := st.Approve(ctx, registered.ID, registered.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Reject(ctx, registered.ID, registered.ID, nil); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("decided twice: %v", err)
	}
	if _, err := st.Approve(ctx, 987654, registered.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("no such request: %v", err)
	}
	if _, err := st.User(ctx, 987654); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("no such user: %v", err)
	}
	if _, err := st.RevokeTokens(ctx, "nobody@example.com"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("no such contact: %v", err)
	}
}

// The search finds a request by its names and email as they are now: a change of them (by any
// UPDATE that sets them) moves the request's search text with it, and a decision keeps it.
func TestStoreSearchFollowsTheContact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, st := newStore(t)
	req, err := st.Register(ctx, domain.NewContact{Prenom: "Amina", Nom: "Diallo", Email: "amina@example.com",
		PasswordHash: "x", TypeCompte: domain.TypeArtisan})
	if err != nil {
		t.Fatal(err)
	}
	client, err := st.Register(ctx, domain.NewContact{Prenom: "Awa", Nom: "Diallo", Email: "awa@example.com",
		PasswordHash: "x", TypeCompte: domain.TypeClient})
	if err != nil {
		t.Fatal(err)
	}
	found := func(search string) []int64 {
		t.Helper()
		page, err := st.Requests(ctx, domain.RequestQuery{Filter: domain.FilterAll, Search: search, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, r := range page.Requests {
			ids = append(ids, r.ContactID)
		}
		if int64(len(ids)) != page.Total {
			t.Errorf("%q: %d requests, total %d", search, len(ids), page.Total)
		}
		return ids
	}
	if got := found("diallo"); len(got) != 1 || got[0] != req.ID {
		t.Fatalf("diallo: %v, want the request %d only (not the client %d)", got, req.ID, client.ID)
	}
	if _, err := pool.Exec(ctx, "UPDATE contacts SET nom = 'Sow', email = 'amina.sow@example.com' WHERE id = $1", req.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GrantPDG(ctx, client.Email); err != nil { // only a PDG decides
		t.Fatal(err)
	}
	if _, err := st.Approve(ctx, req.ID, client.ID); err != nil {
		t.Fatal(err)
	}
	for search, want := range map[string]int{"diallo": 0, "amina@": 0, "amina sow": 1, "amina.sow@": 1} {
		if got := found(search); len(got) != want {
			t.Errorf("after the change, %q: %v, want %d", search, got, want)
		}
	}
}

// newStore returns a store on a fresh migrated database, and its pool.
func newStore(t *testing.T) (*pgxpool.Pool, *store.Store) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testdb.New(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, store.New(pool)
}
