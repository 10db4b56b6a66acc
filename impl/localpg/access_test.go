package localpg_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/artisan-notify/artisan-notify/impl/localpg"
	"github.com/artisan-notify/artisan-notify/impl/proctest"
)

// pgAccount returns the credential PostgreSQL runs with for a new cluster: nil
// when not root, else the postgres user's.
func pgAccount(t *testing.T) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Skipf("root without a postgres user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// pgRun runs a PostgreSQL program as the account that runs the server.
func pgRun(t *testing.T, cred *syscall.Credential, name string, args ...string) {
	t.Helper()
	bin := os.Getenv("PG_BINDIR")
	if bin == "" {
		out, err := osexec.Command("pg_config", "--bindir").Output()
		if err != nil {
			matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
			if len(matches) == 0 {
				t.Skip("no PostgreSQL programs")
			}
			bin = matches[len(matches)-1]
		} else {
			bin = strings.TrimSpace(string(out))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := osexec.CommandContext(ctx, filepath.Join(bin, name), args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// oldCluster creates a cluster in dataDir as earlier versions did: trust for
// every connection, TCP included, and a listen_addresses left in its files.
func oldCluster(t *testing.T, dataDir string) *syscall.Credential {
	t.Helper()
	cred := pgAccount(t)
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		if err := os.Chown(dataDir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	pgRun(t, cred, "initdb", "-D", dataDir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
	for _, name := range []string{"postgresql.conf", "postgresql.auto.conf"} {
		f, err := os.OpenFile(filepath.Join(dataDir, name), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("listen_addresses = '*'\n"); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return cred
}

func show(t *testing.T, conn *pgx.Conn, setting string) string {
	t.Helper()
	return queryString(t, conn, "SHOW "+setting)
}

// checkPrivate fails the test unless s listens on no TCP address and only
// through its socket, in a directory of mode 0700, with pg_hba.conf allowing
// socket connections only.
func checkPrivate(t *testing.T, s *localpg.Server, dataDir string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(cfg.Host) {
		t.Errorf("URL %s: host %q, want a socket directory", s.URL(), cfg.Host)
	}
	fi, err := os.Stat(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("socket directory %s: mode %v, want 0700", cfg.Host, fi.Mode().Perm())
	}
	conn := connect(t, s)
	if got := show(t, conn, "listen_addresses"); got != "" {
		t.Errorf("listen_addresses = %q, want empty (no TCP)", got)
	}
	if got := show(t, conn, "unix_socket_permissions"); got != "0700" {
		t.Errorf("unix_socket_permissions = %q, want 0700", got)
	}
	pid, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(string(pid), "\n"); len(lines) < 6 || strings.TrimSpace(lines[5]) != "" {
		t.Errorf("postmaster.pid names a TCP address:\n%s", pid)
	}
	// Even started by hand, without Start's options, it would stay private.
	rules := queryString(t, conn, "SELECT string_agg(type || ' ' || array_to_string(database, ',') || ' ' || auth_method, '; ') FROM pg_hba_file_rules")
	if rules != "local all trust" {
		t.Errorf("pg_hba.conf rules: %s, want local all trust only", rules)
	}
	auto, err := os.ReadFile(filepath.Join(dataDir, "postgresql.auto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(auto), "listen_addresses = ''") || strings.Contains(string(auto), "'*'") {
		t.Errorf("postgresql.auto.conf:\n%s", auto)
	}
}

func TestListensOnPrivateSocketOnly(t *testing.T) {
	dataDir := filepath.Join(testDir(t), "postgres")
	checkPrivate(t, start(t, dataDir), dataDir)
}

// A data directory created by an earlier version (trust over TCP) is secured on start.
func TestSecuresClusterOfEarlierVersion(t *testing.T) {
	dataDir := filepath.Join(testDir(t), "postgres")
	oldCluster(t, dataDir)
	s := start(t, dataDir)
	checkPrivate(t, s, dataDir)
	exec(t, connect(t, s), "CREATE TABLE kept (id int)")
	if err := s.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Secured once, it stays so across restarts.
	checkPrivate(t, start(t, dataDir), dataDir)
}

// A server an earlier version left running listens on TCP: Start refuses to
// reuse it and says how to stop it.
func TestRefusesRunningServerOnTCP(t *testing.T) {
	root := testDir(t)
	dataDir := filepath.Join(root, "postgres")
	cred := oldCluster(t, dataDir)
	sockDir := filepath.Join(root, "sock")
	if err := os.Mkdir(sockDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		if err := os.Chown(sockDir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	port := proctest.FreePort(t)
	pgRun(t, cred, "pg_ctl", "start", "-w", "-D", dataDir, "-l", filepath.Join(sockDir, "old.log"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, sockDir))
	t.Cleanup(func() { pgRun(t, cred, "pg_ctl", "stop", "-w", "-m", "immediate", "-D", dataDir) })

	s, err := localpg.Start(t.Context(), localpg.Options{DataDir: dataDir, Fast: true})
	if errors.Is(err, localpg.ErrNotInstalled) {
		t.Skip(err)
	}
	if err == nil {
		s.Stop(context.Background())
		t.Fatalf("Start reused a server listening on TCP: %s", s.URL())
	}
	for _, want := range []string{"TCP", "stop"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	t.Log(err)
}

// A data directory too deep for a socket path (107 bytes) gets a private
// temporary socket directory, removed by Stop.
func TestLongDataDirUsesTemporarySocketDir(t *testing.T) {
	dataDir := filepath.Join(testDir(t), strings.Repeat("d", 100), "postgres")
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o755); err != nil {
		t.Fatal(err)
	}
	s := start(t, dataDir)
	checkPrivate(t, s, dataDir)
	cfg, err := pgx.ParseConfig(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(cfg.Host, dataDir) {
		t.Fatalf("socket directory %s is in the data directory", cfg.Host)
	}
	if err := s.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.Host); !os.IsNotExist(err) {
		t.Errorf("socket directory %s left after Stop: %v", cfg.Host, err)
	}
}
