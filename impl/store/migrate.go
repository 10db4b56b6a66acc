package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationLock is the advisory lock key that serializes migrations across nodes starting at once.
const migrationLock = 7_201_000_001

// Migration is one migration file and whether it has been applied.
type Migration struct {
	Version string
	Applied bool
}

// Migrations lists the migration files of fsys (in order) and whether each is applied.
func Migrations(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) ([]Migration, error) {
	files, err := migrationFiles(fsys)
	if err != nil {
		return nil, err
	}
	applied, err := appliedVersions(ctx, pool)
	if err != nil {
		return nil, err
	}
	out := make([]Migration, len(files))
	for i, f := range files {
		out[i] = Migration{Version: f, Applied: applied[f]}
	}
	return out, nil
}

// Migrate applies, in file-name order, every migration of fsys not applied yet, each in its own
// transaction, and returns the versions it applied. Concurrent callers wait for each other.
func Migrate(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) ([]string, error) {
	files, err := migrationFiles(fsys)
	if err != nil {
		return nil, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, translate("migrate: acquire connection", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return nil, translate("migrate: lock", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock) //nolint:errcheck // released with the session anyway
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return nil, translate("migrate: create schema_migrations", err)
	}
	applied, err := appliedVersions(ctx, conn)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, f := range files {
		if applied[f] {
			continue
		}
		body, err := fs.ReadFile(fsys, f)
		if err != nil {
			return done, fmt.Errorf("migrate: read %s: %w", f, err)
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, upSection(string(body))); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", f)
			return err
		})
		if err != nil {
			return done, translate("migrate: apply "+f, err)
		}
		done = append(done, f)
	}
	return done, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func appliedVersions(ctx context.Context, q querier) (map[string]bool, error) {
	rows, err := q.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table: nothing applied yet
			return map[string]bool{}, nil
		}
		return nil, translate("migrate: read applied versions", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, translate("migrate: read applied versions", err)
	}
	out := make(map[string]bool, len(versions))
	for _, v := range versions {
		out[v] = true
	}
	return out, nil
}

func migrationFiles(fsys fs.FS) ([]string, error) {
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrate: list migrations: %w", err)
	}
	slices.SortFunc(files, func(a, b string) int { return strings.Compare(path.Base(a), path.Base(b)) })
	return files, nil
}

// upSection returns the part of a goose-style file to apply: everything before "-- +goose Down".
func upSection(sql string) string {
	if i := strings.Index(sql, "-- +goose Down"); i >= 0 {
		return sql[:i]
	}
	return sql
}
