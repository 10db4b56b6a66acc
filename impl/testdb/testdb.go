// Package testdb gives each test a fresh, migrated PostgreSQL database.
//
// The server comes from TEST_DATABASE_URL (any database on the server to use; CI sets it) or,
// when unset, a local PostgreSQL started under the system temp dir and shared by test processes.
// Each test gets its own database, cloned from a migrated template, and dropped at the end.
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/artisan-notify/artisan-notify/impl/localpg"
	"github.com/artisan-notify/artisan-notify/impl/store"
	"github.com/artisan-notify/artisan-notify/migrations"
)

// templateLock serializes template creation across test processes.
const templateLock = 7_201_000_002

// New returns the URL of a fresh migrated database, dropped when the test ends.
func New(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := serverURL(tb, ctx)
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("testdb: connect %s: %v", redact(base), err)
	}
	defer admin.Close(context.Background())
	tmpl := ensureTemplate(tb, ctx, admin, base)

	name := "t_" + randomHex(8)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, tmpl)); err != nil {
		tb.Fatalf("testdb: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Logf("testdb: drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			tb.Logf("testdb: drop %s: %v", name, err)
		}
	})
	return withDatabase(tb, base, name)
}

func serverURL(tb testing.TB, ctx context.Context) string {
	tb.Helper()
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	dir := filepath.Join(os.TempDir(), "artisan-notify-test-pg")
	// PG_BINDIR, as the server reads it (impl/config), names where initdb and pg_ctl are.
	pg, err := localpg.Start(ctx, localpg.Options{DataDir: dir, BinDir: os.Getenv("PG_BINDIR"), Fast: true, Database: "postgres"})
	if err != nil {
		tb.Fatalf("testdb: no TEST_DATABASE_URL and no local PostgreSQL: %v", err)
	}
	// Left running on purpose: the next test process reuses it (localpg reuses a running cluster).
	return pg.URL()
}

// ensureTemplate creates, once per migration set, a migrated template database.
func ensureTemplate(tb testing.TB, ctx context.Context, admin *pgx.Conn, base string) string {
	tb.Helper()
	name := "tmpl_" + migrationsHash(tb)
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLock); err != nil {
		tb.Fatalf("testdb: lock: %v", err)
	}
	defer admin.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", templateLock) //nolint:errcheck
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		tb.Fatalf("testdb: look for template: %v", err)
	}
	if exists {
		return name
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("testdb: create template: %v", err)
	}
	if err := migrateConn(ctx, withDatabase(tb, base, name)); err != nil {
		_, _ = admin.Exec(ctx, "DROP DATABASE "+name)
		tb.Fatalf("testdb: migrate template: %v", err)
	}
	return name
}

func migrateConn(ctx context.Context, url string) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	_, err = store.Migrate(ctx, pool, migrations.FS)
	return err
}

// migrationsHash names the template after the migration files and the migration bookkeeping
// (goose's table), so that a template made by another version is not reused.
func migrationsHash(tb testing.TB) string {
	h := sha256.New()
	h.Write([]byte("goose_db_version\n"))
	err := fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, p)
		h.Write([]byte(p))
		h.Write(b)
		return err
	})
	if err != nil {
		tb.Fatalf("testdb: hash migrations: %v", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func withDatabase(tb testing.TB, base, db string) string {
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("testdb: parse %s: %v", redact(base), err)
	}
	u.Path = "/" + db
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
