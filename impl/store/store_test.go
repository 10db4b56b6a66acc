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
	pool, err := pgxpool.New(ctx, testdb.New(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := store.New(pool)
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
