package localpg_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/artisan-notify/artisan-notify/impl/localpg"
)

// testDir returns a fresh directory the postgres user can enter when the test
// runs as root (t.TempDir is 0700), removed when the test ends.
func testDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "localpg-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})
	return dir
}

// start starts a fast server on dataDir, skipping the test if PostgreSQL is
// not installed, and stops it when the test ends.
func start(t testing.TB, dataDir string) *localpg.Server {
	t.Helper()
	ctx := t.Context()
	begin := time.Now()
	s, err := localpg.Start(ctx, localpg.Options{DataDir: dataDir, Fast: true, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if errors.Is(err, localpg.ErrNotInstalled) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Start took %v", time.Since(begin))
	t.Cleanup(func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return s
}

func connect(t testing.TB, s *localpg.Server) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), s.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func exec(t testing.TB, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func queryString(t testing.TB, conn *pgx.Conn, sql string) string {
	t.Helper()
	var v string
	if err := conn.QueryRow(t.Context(), sql).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func TestDataSurvivesRestart(t *testing.T) {
	dataDir := filepath.Join(testDir(t), "postgres")

	first := start(t, dataDir)
	conn := connect(t, first)
	if db := queryString(t, conn, "SELECT current_database()"); db != "artisan_notify" {
		t.Errorf("current_database() = %q, want artisan_notify", db)
	}
	exec(t, conn, "CREATE TABLE notes (body text NOT NULL)")
	exec(t, conn, "INSERT INTO notes VALUES ($1)", "kept")
	conn.Close(t.Context())
	if err := first.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(t.Context(), first.URL()); err == nil {
		t.Fatal("connected after Stop")
	}

	second := start(t, dataDir)
	if got := queryString(t, connect(t, second), "SELECT body FROM notes"); got != "kept" {
		t.Errorf("after restart: body = %q, want kept", got)
	}
}

func TestStopIsIdempotent(t *testing.T) {
	s := start(t, filepath.Join(testDir(t), "postgres"))
	for i := range 3 {
		if err := s.Stop(t.Context()); err != nil {
			t.Fatalf("Stop #%d: %v", i+1, err)
		}
	}
}

func TestStartReusesRunningServer(t *testing.T) {
	dataDir := filepath.Join(testDir(t), "postgres")
	owner := start(t, dataDir)
	exec(t, connect(t, owner), "CREATE TABLE shared (id int)")

	reuser := start(t, dataDir)
	if reuser.URL() != owner.URL() {
		t.Errorf("reused URL = %s, want %s", reuser.URL(), owner.URL())
	}
	if err := reuser.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Stopping the reusing Server leaves the server running for its owner.
	exec(t, connect(t, owner), "INSERT INTO shared VALUES (1)")
}

func TestTwoServersAtOnce(t *testing.T) {
	root := testDir(t)
	a := start(t, filepath.Join(root, "a"))
	b := start(t, filepath.Join(root, "b"))
	if a.URL() == b.URL() {
		t.Fatalf("both servers at %s", a.URL())
	}
	connA, connB := connect(t, a), connect(t, b)
	exec(t, connA, "CREATE TABLE only_in_a (id int)")
	var n int
	if err := connB.QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("table created on server a is visible on server b")
	}
}

func TestStartWithoutBinaries(t *testing.T) {
	empty := testDir(t)
	_, err := localpg.Start(t.Context(), localpg.Options{
		DataDir: filepath.Join(testDir(t), "postgres"),
		BinDir:  empty,
	})
	if !errors.Is(err, localpg.ErrNotInstalled) {
		t.Fatalf("err = %v, want ErrNotInstalled", err)
	}
	t.Log(err)
}

func TestStartRequiresDataDir(t *testing.T) {
	if _, err := localpg.Start(t.Context(), localpg.Options{}); err == nil {
		t.Fatal("Start with no DataDir succeeded")
	}
}

func TestDefaultDataDir(t *testing.T) {
	if got, want := localpg.DefaultDataDir("/xdg/data"), "/xdg/data/artisan-notify/postgres"; got != want {
		t.Errorf("DefaultDataDir(/xdg/data) = %s, want %s", got, want)
	}
	if got := localpg.DefaultDataDir(""); !strings.HasSuffix(got, "/artisan-notify/postgres") {
		t.Errorf("DefaultDataDir() = %s, want .../artisan-notify/postgres", got)
	}
}
