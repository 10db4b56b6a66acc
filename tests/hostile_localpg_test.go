package tests

// Attacks on the private PostgreSQL the server starts when DATABASE_URL is unset, and on weak
// configuration: another local account must not reach the database (no TCP listener, a socket
// only its owner can enter), production must not use the embedded database, and weak JWT
// secrets are refused.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/impl/apptest"
	"github.com/artisan-notify/artisan-notify/impl/proctest"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

const pgBin = "/usr/lib/postgresql/15/bin"

// embeddedEnv is the environment of a node on its embedded PostgreSQL in dataDir.
func embeddedEnv(dataDir string) map[string]string {
	env := nodeEnv("", "embedded")
	env["DATA_DIR"] = dataDir
	return env
}

// pgRoot returns a fresh directory the account running PostgreSQL can enter (when the test runs
// as root, PostgreSQL runs as postgres and t.TempDir, mode 0700, is closed to it).
func pgRoot(t *testing.T) string {
	t.Helper()
	root, err := os.MkdirTemp("", "artisan-hostile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// postmaster is what postmaster.pid says about a running server.
type postmaster struct {
	pid     int
	port    string
	sockDir string
	listen  string // listen_addresses; empty: no TCP
}

func readPostmaster(t *testing.T, dataDir string) postmaster {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		t.Fatalf("no running PostgreSQL in %s: %v", dataDir, err)
	}
	// Lines: pid, data dir, start time, port, socket dir, listen address, shmem key, status.
	l := strings.Split(string(b), "\n")
	if len(l) < 6 {
		t.Fatalf("postmaster.pid: %q", b)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(l[0]))
	if err != nil {
		t.Fatal(err)
	}
	return postmaster{pid: pid, port: strings.TrimSpace(l[3]), sockDir: strings.TrimSpace(l[4]), listen: strings.TrimSpace(l[5])}
}

// tcpListeners returns the local addresses (hex, as in /proc/net/tcp) of the TCP sockets process
// pid listens on.
func tcpListeners(t *testing.T, pid int) []string {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("cannot list the postmaster's descriptors: %v", err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	var out []string
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) > 9 && f[3] == "0A" && inodes[f[9]] {
				out = append(out, f[1])
			}
		}
	}
	return out
}

// psqlAs runs psql as the local account user (the current one when empty) and returns its output.
func psqlAs(t *testing.T, user, host, port, sql string) (string, error) {
	t.Helper()
	args := []string{pgBin + "/psql", "-X", "-w", "-h", host, "-p", port, "-U", "postgres", "-d", "artisan_notify", "-Atc", sql}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var cmd *exec.Cmd
	if user == "" {
		cmd = exec.CommandContext(ctx, args[0], args[1:]...)
	} else {
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		cmd = exec.CommandContext(ctx, "su", user, "-s", "/bin/sh", "-c", strings.Join(quoted, " "))
	}
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=5")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// oldCluster creates dataDir as the previous version did: initdb -A trust, which lets every
// local account in over TCP, run by the account that runs PostgreSQL.
func oldCluster(t *testing.T, dataDir string) {
	t.Helper()
	cmd := exec.Command(pgBin+"/initdb", "-D", dataDir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
	cmd.Dir = "/"
	if os.Geteuid() == 0 {
		if err := os.Mkdir(dataDir, 0o700); err != nil {
			t.Fatal(err)
		}
		uid, gid := lookupIDs(t, "postgres")
		if err := os.Chown(dataDir, uid, gid); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("initdb -A trust: %v\n%s", err, out)
	}
	// A setting a developer may have left, which the server must override.
	f, err := os.OpenFile(filepath.Join(dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("listen_addresses = '*'\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func lookupIDs(t *testing.T, name string) (int, int) {
	t.Helper()
	out, err := exec.Command("id", "-u", name).Output()
	if err != nil {
		t.Skipf("no %s account: %v", name, err)
	}
	uid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	out, err = exec.Command("id", "-g", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	gid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return uid, gid
}

// TestHostileLocalPostgresRefusesTCP: the embedded PostgreSQL listens on no TCP port and its
// socket lives in a directory only its owner can enter, so another local account cannot read the
// contacts (before: `psql -h 127.0.0.1 -U postgres` from any account read them, trust auth). It
// holds for a new data directory and for one created by the previous version (trust for TCP).
func TestHostileLocalPostgresRefusesTCP(t *testing.T) {
	if _, err := os.Stat(pgBin + "/initdb"); err != nil {
		t.Skipf("PostgreSQL 15 not installed: %v", err)
	}
	for _, tc := range []struct {
		name string
		old  bool
	}{
		{"new data directory", false},
		{"data directory of the previous version", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := filepath.Join(pgRoot(t), "postgres")
			if tc.old {
				oldCluster(t, dataDir)
			}
			srv := proctest.Start(t, embeddedEnv(dataDir))
			victim := register(t, srv.URL, typeClient)

			pm := readPostmaster(t, dataDir)
			if pm.listen != "" {
				t.Errorf("postmaster.pid: listen_addresses = %q, want none", pm.listen)
			}
			if l := tcpListeners(t, pm.pid); len(l) > 0 {
				t.Errorf("the postmaster (pid %d) listens on TCP %v", pm.pid, l)
			}
			fi, err := os.Stat(pm.sockDir)
			if err != nil {
				t.Fatalf("socket directory %q: %v", pm.sockDir, err)
			}
			if fi.Mode().Perm() != 0o700 {
				t.Errorf("socket directory %s has mode %v, want 0700", pm.sockDir, fi.Mode().Perm())
			}
			pgUID := fi.Sys().(*syscall.Stat_t).Uid
			st, err := os.Stat(fmt.Sprintf("/proc/%d", pm.pid))
			if err != nil {
				t.Fatal(err)
			}
			if owner := st.Sys().(*syscall.Stat_t).Uid; owner != pgUID {
				t.Errorf("socket directory owned by uid %d, the postmaster runs as uid %d", pgUID, owner)
			}
			hba, err := os.ReadFile(filepath.Join(dataDir, "pg_hba.conf"))
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(string(hba), "\n") {
				if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], "#") && f[0] != "local" {
					t.Errorf("pg_hba.conf still lets network connections in: %q", line)
				}
			}

			if os.Geteuid() != 0 {
				t.Log("not root: cannot try another local account")
				return
			}
			if _, err := os.Stat(pgBin + "/psql"); err != nil {
				t.Skipf("no psql: %v", err)
			}
			// Control: the owner's side (root) reads the contact through the socket, so the
			// refusals below are due to the protection, not to a wrong command.
			sql := "SELECT email FROM contacts WHERE email = '" + victim.Email + "'"
			if out, err := psqlAs(t, "", pm.sockDir, pm.port, sql); err != nil || strings.TrimSpace(out) != victim.Email {
				t.Fatalf("root through the socket: %v\n%s", err, out)
			}
			for _, host := range []string{"127.0.0.1", "localhost", pm.sockDir} {
				out, err := psqlAs(t, "nobody", host, pm.port, sql)
				t.Logf("as nobody, psql -h %s -p %s: %v\n%s", host, pm.port, err, strings.TrimSpace(out))
				if err == nil || strings.Contains(out, victim.Email) {
					t.Errorf("as nobody, psql -h %s -p %s connected:\n%s", host, pm.port, out)
				}
			}
		})
	}
}

// runBinary runs the server binary with env (on top of the process's own, DATABASE_URL removed)
// and returns its exit code and output; the server is expected to refuse to start.
func runBinary(t *testing.T, env map[string]string) (int, string) {
	t.Helper()
	bin := proctest.Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = envWith(os.Environ(), env, "DATABASE_URL")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("the server did not refuse to start; log:\n%s", out.String())
	}
	if err != nil && cmd.ProcessState == nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// TestHostileProductionRefusesEmbeddedDatabase: with APP_ENV=production and no DATABASE_URL the
// server used to start its embedded development PostgreSQL; now it refuses, before touching
// DATA_DIR.
func TestHostileProductionRefusesEmbeddedDatabase(t *testing.T) {
	dataDir := filepath.Join(pgRoot(t), "postgres")
	env := map[string]string{
		"APP_ENV":      "production",
		"JWT_SECRET":   apptest.Secret,
		"DATA_DIR":     dataDir,
		"FRONTEND_URL": apptest.FrontendURL,
		"PORT":         strconv.Itoa(proctest.FreePort(t)),
	}
	code, out := runBinary(t, env)
	const want = "DATABASE_URL is required when APP_ENV=production"
	if code != 2 || !strings.Contains(out, want) {
		t.Errorf("exit %d, want 2 and %q; output:\n%s", code, want, out)
	}
	if _, err := os.Stat(dataDir); err == nil {
		t.Errorf("the refused server created %s", dataDir)
	}
}

// TestHostileSecretRefused: weak JWT secrets are refused at start, in development as in
// production (before: a 1-byte secret was accepted in development, and the placeholder of
// deploy/env.example in production, so tokens could be forged by guessing it).
func TestHostileSecretRefused(t *testing.T) {
	placeholder := "CHANGE-ME-to-64-hex-characters-from-openssl-rand-hex-32-xxxxxxxxxxx"
	for _, tc := range []struct {
		name, appEnv, secret string
	}{
		{"one byte, development", "", "Q"},
		{"31 bytes, development", "", strings.Repeat("k", 31)},
		{"the deploy/env.example placeholder, production", "production", placeholder},
		{"a changeme secret, production", "production", "changeme-changeme-changeme-changeme-0123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{
				"APP_ENV":      tc.appEnv,
				"JWT_SECRET":   tc.secret,
				"DATA_DIR":     filepath.Join(pgRoot(t), "postgres"),
				"FRONTEND_URL": apptest.FrontendURL,
				"PORT":         strconv.Itoa(proctest.FreePort(t)),
			}
			if tc.appEnv == "production" {
				env["DATABASE_URL"] = "postgres://app@db.invalid/app?connect_timeout=1"
			}
			code, out := runBinary(t, env)
			if code != 2 || !strings.Contains(out, "JWT_SECRET") {
				t.Errorf("exit %d, want 2 and an error naming JWT_SECRET; output:\n%s", code, out)
			}
			if strings.Contains(out, tc.secret) {
				t.Errorf("the error shows the secret:\n%s", out)
			}
		})
	}
	// Control: a long random-looking secret starts the server.
	srv := proctest.Start(t, nodeEnv(testdb.New(t), "good-secret"))
	if res, err := http.Get(srv.URL + "/healthz"); err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /healthz with a good secret: %v %v", res, err)
	}
}
