package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/artisan-notify/artisan-notify/impl/domain"
	"github.com/artisan-notify/artisan-notify/impl/store"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// BenchmarkApprove measures the decision transaction (the conditional UPDATE ... RETURNING and the
// outbox INSERT, one commit) on a fresh database: each iteration approves its own pending request.
// The requests are registered before the timer starts.
func BenchmarkApprove(b *testing.B) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.New(b))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)
	pdg, err := st.Register(ctx, domain.NewContact{Prenom: "P", Nom: "DG", Email: "pdg@bench.test", PasswordHash: "x", TypeCompte: "Client"})
	if err != nil {
		b.Fatal(err)
	}
	var ids []int64
	next := 0
	pending := func(n int) {
		for i := range n {
			u, err := st.Register(ctx, domain.NewContact{Prenom: "A", Nom: "B", Email: fmt.Sprintf("a%d-%d@bench.test", len(ids), i),
				PasswordHash: "x", TypeCompte: domain.TypeArtisan})
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if next == len(ids) {
			b.StopTimer()
			pending(256)
			b.StartTimer()
		}
		if _, err := st.Approve(ctx, ids[next], pdg.ID); err != nil {
			b.Fatal(err)
		}
		next++
	}
}
