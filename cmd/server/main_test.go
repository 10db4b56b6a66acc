package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/gen/oas"
	"github.com/artisan-notify/artisan-notify/impl/apptest"
)

// cli runs the command line with env and returns its exit code, stdout and stderr.
func cli(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageAndHelp(t *testing.T) {
	t.Parallel()
	names := []string{"serve", "migrate", "grant-pdg", "revoke-pdg", "list-pdg", "revoke-tokens", "version"}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out, _ := cli(t, nil, args...)
		if code != exitOK {
			t.Errorf("%v: exit %d, want 0", args, code)
		}
		for _, n := range names {
			if !strings.Contains(out, "  "+n) {
				t.Errorf("%v: usage does not list %s:\n%s", args, n, out)
			}
		}
	}
	for _, n := range names {
		for _, args := range [][]string{{n, "--help"}, {n, "-h"}, {"help", n}} {
			code, out, _ := cli(t, nil, args...)
			if code != exitOK || !strings.HasPrefix(out, "Usage: server "+n) {
				t.Errorf("%v: exit %d, output %q", args, code, out)
			}
		}
	}
	code, _, errOut := cli(t, nil, "frobnicate")
	if code != exitUsage || !strings.Contains(errOut, `unknown command "frobnicate"`) || !strings.Contains(errOut, "Commands:") {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
	code, out, _ := cli(t, nil, "version")
	if code != exitOK || !strings.HasPrefix(out, "artisan-notify ") {
		t.Errorf("version: exit %d, output %q", code, out)
	}
}

func TestAdminCommands(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, nil)
	env := map[string]string{"DATABASE_URL": s.DatabaseURL}
	ctx := context.Background()

	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		code     int
		stdout   string // a substring of stdout
		stderr   string // a substring of stderr
		noStdout string
	}{
		{name: "migrate status", args: []string{"migrate", "status"}, code: exitOK, stdout: "applied  0001_init"},
		{name: "migrate up", args: []string{"migrate"}, code: exitOK, stdout: "database is up to date"},
		{name: "migrate up, explicit", args: []string{"migrate", "up"}, code: exitOK, stdout: "database is up to date"},
		{name: "migrate bad sub-command", args: []string{"migrate", "down"}, code: exitUsage, stderr: "usage: server migrate [up|status]"},
		{name: "grant-pdg without email", args: []string{"grant-pdg"}, code: exitUsage, stderr: "usage: server grant-pdg <email>"},
		{name: "grant-pdg unknown", args: []string{"grant-pdg", "nobody@example.com"}, code: exitNotFound, stderr: "no contact with email nobody@example.com"},
		{name: "revoke-pdg unknown", args: []string{"revoke-pdg", "nobody@example.com"}, code: exitNotFound, stderr: "no PDG with email nobody@example.com"},
		{name: "revoke-tokens unknown", args: []string{"revoke-tokens", "nobody@example.com"}, code: exitNotFound, stderr: "no contact"},
		{name: "list-pdg with an argument", args: []string{"list-pdg", "x"}, code: exitUsage, stderr: "usage: server list-pdg"},
		{name: "bad configuration", args: []string{"list-pdg"}, env: map[string]string{"PORT": "nope"}, code: exitUsage, stderr: `PORT="nope"`},
		{name: "database down", args: []string{"list-pdg"}, env: map[string]string{"DATABASE_URL": "postgres://127.0.0.1:1/x?connect_timeout=1"}, code: exitFailure, stderr: "error:"},
		{name: "serve with an argument", args: []string{"serve", "x"}, code: exitUsage, stderr: "usage: server serve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := env
			if tt.env != nil {
				e = tt.env
			}
			code, out, errOut := cli(t, e, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("%v: exit %d (want %d)\nstdout: %q (want %q)\nstderr: %q (want %q)", tt.args, code, tt.code, out, tt.stdout, errOut, tt.stderr)
			}
		})
	}

	t.Run("grant, list, revoke a PDG; the revoked token is refused at once", func(t *testing.T) {
		u := s.Register(t, "Paul", "Client")
		email := u.User.Email
		code, out, errOut := cli(t, env, "grant-pdg", "  "+strings.ToUpper(email)+" ")
		if code != exitOK || !strings.Contains(out, "is now PDG") || !strings.Contains(out, email) {
			t.Fatalf("grant-pdg: exit %d, %q %q", code, out, errOut)
		}
		code, out, _ = cli(t, env, "list-pdg")
		if code != exitOK || !strings.HasPrefix(out, "ID") || !strings.Contains(out, email) || !strings.Contains(out, "Paul Test") {
			t.Fatalf("list-pdg: exit %d, %q", code, out)
		}
		login, err := s.Client(t, "").Login(ctx, &oas.LoginRequest{Email: email, Password: apptest.Password})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Client(t, login.Token).CountArtisanRequests(ctx); err != nil {
			t.Fatalf("count as PDG: %v", err)
		}
		code, out, _ = cli(t, env, "revoke-pdg", email)
		if code != exitOK || !strings.Contains(out, "is no longer PDG") {
			t.Fatalf("revoke-pdg: exit %d, %q", code, out)
		}
		// Nodes cache users; the change reaches them through the outbox within a moment.
		eventually(t, "count after revoke-pdg answers 403", func() bool {
			_, err := s.Client(t, login.Token).CountArtisanRequests(ctx)
			status, _ := apptest.StatusOf(t, err)
			return status == 403
		})
		if code, _, _ := cli(t, env, "revoke-pdg", email); code != exitNotFound {
			t.Errorf("revoke-pdg twice: exit %d, want %d", code, exitNotFound)
		}
		if _, out, _ := cli(t, env, "list-pdg"); strings.Contains(out, email) {
			t.Errorf("list-pdg still lists %s:\n%s", email, out)
		}
		code, out, _ = cli(t, env, "revoke-tokens", email)
		if code != exitOK || !strings.Contains(out, "is revoked") {
			t.Fatalf("revoke-tokens: exit %d, %q", code, out)
		}
		eventually(t, "GET /me after revoke-tokens answers 401", func() bool {
			_, err := s.Client(t, login.Token).GetMe(ctx)
			status, _ := apptest.StatusOf(t, err)
			return status == 401
		})
	})
}

// eventually fails the test unless ok becomes true within 5 s.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Errorf("%s: not within 5 s", what)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The embedded PostgreSQL is for development: in production, no DATABASE_URL is a usage error,
// reported before the data directory is touched.
func TestProductionRefusesEmbeddedDatabase(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "postgres")
	env := map[string]string{"APP_ENV": "production", "JWT_SECRET": apptest.Secret, "DATA_DIR": dataDir}
	for _, args := range [][]string{{"serve"}, {"migrate"}, {"list-pdg"}} {
		code, _, errOut := cli(t, env, args...)
		if code != exitUsage || !strings.Contains(errOut, "DATABASE_URL is required when APP_ENV=production") {
			t.Errorf("%v: exit %d (want %d), stderr %q", args, code, exitUsage, errOut)
		}
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("%s: %v, want it not created", dataDir, err)
	}
}
