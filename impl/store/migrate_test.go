package store_test

import (
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/artisan-notify/artisan-notify/impl/store"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
	"github.com/artisan-notify/artisan-notify/migrations"
)

// emptyDB returns a pool on a fresh database with an empty public schema (no tables, no
// migration bookkeeping).
func emptyDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), testdb.New(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(t.Context(), "DROP SCHEMA public CASCADE; CREATE SCHEMA public"); err != nil {
		t.Fatal(err)
	}
	return pool
}

func migrationFiles(t *testing.T, fsys fs.FS) []string {
	t.Helper()
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// legacyMigrate migrates the way servers of earlier versions did: each file's text up to
// "-- +goose Down" in one statement, its name recorded in schema_migrations.
func legacyMigrate(t *testing.T, pool *pgxpool.Pool, files []string) {
	t.Helper()
	ctx := t.Context()
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		body, err := fs.ReadFile(migrations.FS, f)
		if err != nil {
			t.Fatal(err)
		}
		up, _, _ := strings.Cut(string(body), "-- +goose Down")
		if _, err := pool.Exec(ctx, up); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := pool.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", f); err != nil {
			t.Fatal(err)
		}
	}
}

func wantStatus(t *testing.T, pool *pgxpool.Pool, fsys fs.FS, applied int) {
	t.Helper()
	ms, err := store.Migrations(t.Context(), pool, fsys)
	if err != nil {
		t.Fatal(err)
	}
	files := migrationFiles(t, fsys)
	if len(ms) != len(files) {
		t.Fatalf("Migrations = %v, want one per file of %v", ms, files)
	}
	for i, m := range ms {
		if want := (store.Migration{Version: files[i], Applied: i < applied}); m != want {
			t.Errorf("Migrations[%d] = %+v, want %+v", i, m, want)
		}
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	files := migrationFiles(t, migrations.FS)
	if len(files) < 2 {
		t.Fatalf("migrations: %v, want at least two", files)
	}

	t.Run("fresh database", func(t *testing.T) {
		t.Parallel()
		pool := emptyDB(t)
		wantStatus(t, pool, migrations.FS, 0)
		applied, err := store.Migrate(ctx, pool, migrations.FS)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(applied, files) {
			t.Errorf("Migrate applied %v, want %v", applied, files)
		}
		wantStatus(t, pool, migrations.FS, len(files))
		if applied, err := store.Migrate(ctx, pool, migrations.FS); err != nil || len(applied) != 0 {
			t.Errorf("second Migrate = %v, %v; want nothing applied", applied, err)
		}
	})

	t.Run("database migrated by an earlier version", func(t *testing.T) {
		t.Parallel()
		pool := emptyDB(t)
		legacyMigrate(t, pool, files)
		if _, err := pool.Exec(ctx, `INSERT INTO contacts (prenom, nom, email, password_hash, type_compte)
			VALUES ('A', 'B', 'kept@example.com', 'x', 'Client')`); err != nil {
			t.Fatal(err)
		}
		applied, err := store.Migrate(ctx, pool, migrations.FS)
		if err != nil || len(applied) != 0 {
			t.Fatalf("Migrate = %v, %v; want nothing applied", applied, err)
		}
		wantStatus(t, pool, migrations.FS, len(files))
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM contacts").Scan(&n); err != nil || n != 1 {
			t.Errorf("contacts: %d rows (%v), want the 1 written before", n, err)
		}
	})

	t.Run("earlier version stopped half way", func(t *testing.T) {
		t.Parallel()
		pool := emptyDB(t)
		legacyMigrate(t, pool, files[:1])
		wantStatus(t, pool, migrations.FS, 1)
		applied, err := store.Migrate(ctx, pool, migrations.FS)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(applied, files[1:]) {
			t.Errorf("Migrate applied %v, want %v", applied, files[1:])
		}
	})

	t.Run("a new migration file", func(t *testing.T) {
		t.Parallel()
		pool := emptyDB(t)
		if _, err := store.Migrate(ctx, pool, migrations.FS); err != nil {
			t.Fatal(err)
		}
		next := fstest.MapFS{"0099_next.sql": {Data: []byte("-- +goose Up\nCREATE TABLE next_one (id INT);\n\n-- +goose Down\nDROP TABLE next_one;\n")}}
		for _, f := range files {
			b, err := fs.ReadFile(migrations.FS, f)
			if err != nil {
				t.Fatal(err)
			}
			next[f] = &fstest.MapFile{Data: b}
		}
		applied, err := store.Migrate(ctx, pool, next)
		if err != nil || !slices.Equal(applied, []string{"0099_next.sql"}) {
			t.Fatalf("Migrate = %v, %v; want [0099_next.sql]", applied, err)
		}
		wantStatus(t, pool, next, len(files)+1)
	})

	t.Run("nodes starting at once", func(t *testing.T) {
		t.Parallel()
		pool := emptyDB(t)
		legacyMigrate(t, pool, files[:1]) // the adoption of the old bookkeeping races too
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			total []string
		)
		for range 4 {
			wg.Go(func() {
				applied, err := store.Migrate(ctx, pool, migrations.FS)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total = append(total, applied...)
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.Sort(total)
		if !slices.Equal(total, files[1:]) {
			t.Errorf("applied %v in all, want each of %v once", total, files[1:])
		}
	})
}
