package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/artisan-notify/artisan-notify/impl/config"
	"github.com/artisan-notify/artisan-notify/impl/domain"
	"github.com/artisan-notify/artisan-notify/impl/store"
)

// BenchmarkREST measures the server's own work on the REST paths a PDG uses most, through the
// node's whole handler (middleware, ogen, service, read cache, store) without the network: the
// list of pending requests (served from the read cache) and an approval (one transaction on
// the real database, its outbox row included). Tracing is off, as configured by default.
func BenchmarkREST(b *testing.B) {
	n, pool := buildOn(b, config.Config{HashConcurrency: 1, HashQueue: 8, JWTIssuer: "artisan-notify", JWTAudience: "artisan-notify"})
	h := n.Handler
	token := pdgToken(b, h, pool)
	st := store.New(pool)
	ctx := context.Background()
	pending := func(count int, from int) []int64 {
		ids := make([]int64, 0, count)
		for i := range count {
			u, err := st.Register(ctx, domain.NewContact{Prenom: "A", Nom: "B", Email: fmt.Sprintf("a%d@bench.test", from+i),
				PasswordHash: "x", TypeCompte: domain.TypeArtisan})
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		return ids
	}
	ids := pending(50, 0)
	serve := func(b *testing.B, method, path string, want int) {
		r := httptest.NewRequest(method, path, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			b.Fatalf("%s %s: %d %s, want %d", method, path, w.Code, w.Body, want)
		}
	}
	b.Run("list", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			serve(b, "GET", "/api/notifications/artisan-requests", http.StatusOK)
		}
	})
	b.Run("approve", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		next := 0
		for b.Loop() {
			if next == len(ids) {
				b.StopTimer()
				ids = append(ids, pending(256, len(ids))...)
				b.StartTimer()
			}
			serve(b, "POST", fmt.Sprintf("/api/notifications/artisan-requests/%d/approve", ids[next]), http.StatusOK)
			next++
		}
	})
}

// reportCPU returns a function that reports the process's CPU time (user and system, every
// thread) per iteration since reportCPU was called, as cpu-ns/op: on a shared machine it moves
// less than the wall-clock ns/op. The database server's CPU is not included.
func reportCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() { b.ReportMetric(float64((cpuTime(b)-start).Nanoseconds())/float64(b.N), "cpu-ns/op") }
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pdgToken registers a contact through h, makes it a PDG and returns a token issued after the grant.
func pdgToken(tb testing.TB, h http.Handler, pool *pgxpool.Pool) string {
	tb.Helper()
	post := func(path, body string) map[string]any {
		r := httptest.NewRequest("POST", path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK && w.Code != http.StatusCreated {
			tb.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
		}
		var out map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			tb.Fatal(err)
		}
		return out
	}
	post("/api/users/auth/register", `{"prenom":"P","nom":"DG","email":"pdg@bench.test","password":"motdepasse1","confirm_password":"motdepasse1","type_compte":"Client"}`)
	if _, err := store.New(pool).GrantPDG(context.Background(), "pdg@bench.test"); err != nil {
		tb.Fatal(err)
	}
	res := post("/api/users/auth/login", `{"email":"pdg@bench.test","password":"motdepasse1"}`)
	token, _ := res["token"].(string)
	if token == "" {
		tb.Fatalf("login: no token in %v", res)
	}
	return token
}
