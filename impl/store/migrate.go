package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
)

// migrationLock is the advisory lock key that serializes migrations across nodes starting at
// once; servers of earlier versions take it too.
const migrationLock = 7_201_000_001

// versionTable is where goose records the applied versions (its default table).
const versionTable = "goose_db_version"

// legacyTable is where servers of earlier versions recorded the applied migrations: one row per
// file name ("0001_init.sql"). adoptLegacy copies it into versionTable once; it is left in place.
const legacyTable = "schema_migrations"

// Migration is one migration file and whether it has been applied.
type Migration struct {
	Version string // the file name, e.g. 0001_init.sql
	Applied bool
}

// Migrations lists the migration files of fsys (in order) and whether each is applied.
func Migrations(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) ([]Migration, error) {
	var out []Migration
	err := withProvider(ctx, pool, fsys, func(p *goose.Provider) error {
		statuses, err := p.Status(ctx)
		if err != nil {
			return translate("migrate: status", err)
		}
		for _, s := range statuses {
			out = append(out, Migration{Version: path.Base(s.Source.Path), Applied: s.State == goose.StateApplied})
		}
		return nil
	})
	return out, err
}

// Migrate applies, in version order, every migration of fsys not applied yet, each in its own
// transaction, and returns the file names it applied. Concurrent callers wait for each other.
func Migrate(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) ([]string, error) {
	var done []string
	err := withProvider(ctx, pool, fsys, func(p *goose.Provider) error {
		results, err := p.Up(ctx)
		for _, r := range results {
			if r.Error == nil {
				done = append(done, path.Base(r.Source.Path))
			}
		}
		if err != nil {
			return translate("migrate: apply", err)
		}
		return nil
	})
	return done, err
}

// withProvider runs fn with a goose provider of fsys's migrations over pool, once the bookkeeping
// of earlier versions is adopted (see adopt).
func withProvider(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS, fn func(*goose.Provider) error) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	if err := adopt(ctx, db); err != nil {
		return err
	}
	p, err := newProvider(db, fsys)
	if err != nil {
		return err
	}
	return fn(p)
}

// newProvider returns a goose provider of fsys's migrations over db, whose migrations run
// holding migrationLock (see session).
func newProvider(db *sql.DB, fsys fs.FS) (*goose.Provider, error) {
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithTableName(versionTable),
		goose.WithSessionLocker(session{}), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return p, nil
}

// adopt runs adoptLegacy holding migrationLock. It comes before any use of a goose provider, whose
// first look at its version table creates it.
func adopt(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return translate("migrate: acquire connection", err)
	}
	defer conn.Close()
	if err := (session{}).SessionLock(ctx, conn); err != nil {
		return err
	}
	defer (session{}).SessionUnlock(context.WithoutCancel(ctx), conn) //nolint:errcheck // released with the session anyway
	return adoptLegacy(ctx, conn)
}

// session is goose's lock on the connection that migrates: it waits for migrationLock as long as
// the context allows (goose's own PostgreSQL locker polls, every second at best).
type session struct{}

func (session) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return translate("migrate: lock", err)
	}
	return nil
}

func (session) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", migrationLock); err != nil {
		return translate("migrate: unlock", err)
	}
	return nil
}

// adoptLegacy records in goose's version table the migrations that servers of earlier versions
// applied (legacyTable), so that they are not applied again. It does nothing once goose's table
// exists or if there is no legacyTable. The caller holds migrationLock.
func adoptLegacy(ctx context.Context, db *sql.Conn) error {
	var hasLegacy, hasGoose bool
	err := db.QueryRowContext(ctx, "SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL",
		legacyTable, versionTable).Scan(&hasLegacy, &hasGoose)
	if err != nil {
		return translate("migrate: look for "+legacyTable, err)
	}
	if !hasLegacy || hasGoose {
		return nil
	}
	gs, err := database.NewStore(database.DialectPostgres, versionTable)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return translate("migrate: adopt "+legacyTable, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	rows, err := tx.QueryContext(ctx, "SELECT version FROM "+legacyTable+" ORDER BY version")
	if err != nil {
		return translate("migrate: read "+legacyTable, err)
	}
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return translate("migrate: read "+legacyTable, err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return translate("migrate: read "+legacyTable, err)
	}
	if err := gs.CreateVersionTable(ctx, tx); err != nil {
		return translate("migrate: create "+versionTable, err)
	}
	for _, v := range append([]int64{0}, versionsOf(names)...) { // goose's table starts with version 0
		if err := gs.Insert(ctx, tx, database.InsertRequest{Version: v}); err != nil {
			return translate("migrate: adopt "+legacyTable, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return translate("migrate: adopt "+legacyTable, err)
	}
	return nil
}

// versionsOf returns the goose versions of migration file names, skipping names without one.
func versionsOf(names []string) []int64 {
	var out []int64
	for _, n := range names {
		if v, err := goose.NumericComponent(n); err == nil {
			out = append(out, v)
		}
	}
	return out
}
