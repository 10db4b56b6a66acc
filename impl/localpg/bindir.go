package localpg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNotInstalled is returned (wrapped) by Start when the PostgreSQL server
// programs initdb and pg_ctl cannot be found.
var ErrNotInstalled = errors.New("PostgreSQL server programs (initdb, pg_ctl) not found: " +
	`install them with "apt-get install postgresql" (Debian/Ubuntu) or "brew install postgresql" (macOS), ` +
	"set PG_BINDIR to the directory that holds them, or set DATABASE_URL to use an existing server")

// binaries are the programs Start runs.
type binaries struct {
	initdb string
	pgCtl  string
}

// findBinaries locates initdb and pg_ctl. An explicit directory (Options.BinDir:
// the server's PG_BINDIR) must hold both; otherwise it tries `pg_config --bindir`,
// the highest /usr/lib/postgresql/*/bin, Homebrew's opt directories, then PATH.
// It returns an error wrapping ErrNotInstalled if nothing fits.
func findBinaries(ctx context.Context, explicit string) (binaries, error) {
	if explicit != "" {
		if b, ok := binariesIn(explicit); ok {
			return b, nil
		}
		return binaries{}, fmt.Errorf("%w (%s holds no initdb and pg_ctl)", ErrNotInstalled, explicit)
	}

	var dirs []string
	if pgConfig, err := exec.LookPath("pg_config"); err == nil {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		out, err := exec.CommandContext(ctx, pgConfig, "--bindir").Output()
		cancel()
		if err == nil {
			dirs = append(dirs, strings.TrimSpace(string(out)))
		}
	}
	for _, pattern := range []string{
		"/usr/lib/postgresql/*/bin",         // Debian, Ubuntu
		"/opt/homebrew/opt/postgresql*/bin", // Homebrew on Apple silicon
		"/usr/local/opt/postgresql*/bin",    // Homebrew on Intel
		"/usr/pgsql-*/bin",                  // PGDG RPMs
	} {
		dirs = append(dirs, byVersionDesc(pattern)...)
	}
	for _, dir := range dirs {
		if b, ok := binariesIn(dir); ok {
			return b, nil
		}
	}

	initdb, err1 := exec.LookPath("initdb")
	pgCtl, err2 := exec.LookPath("pg_ctl")
	if err1 == nil && err2 == nil {
		return binaries{initdb: initdb, pgCtl: pgCtl}, nil
	}
	return binaries{}, fmt.Errorf("%w (looked in %s and PATH)", ErrNotInstalled, strings.Join(dirs, ", "))
}

// binariesIn reports whether dir holds executable initdb and pg_ctl.
func binariesIn(dir string) (binaries, bool) {
	b := binaries{initdb: filepath.Join(dir, "initdb"), pgCtl: filepath.Join(dir, "pg_ctl")}
	return b, isExecutable(b.initdb) && isExecutable(b.pgCtl)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// byVersionDesc expands a glob whose match holds a version number (".../15/bin",
// ".../postgresql@16/bin") and returns the matches, highest version first.
func byVersionDesc(pattern string) []string {
	matches, _ := filepath.Glob(pattern)
	slices.SortFunc(matches, func(a, b string) int {
		return slices.Compare(versionOf(b), versionOf(a))
	})
	return matches
}

// versionOf returns the numbers of the first dotted number in path ("9.6" -> [9 6]).
func versionOf(path string) []int {
	start := strings.IndexAny(path, "0123456789")
	if start < 0 {
		return nil
	}
	end := start
	for end < len(path) && (path[end] == '.' || path[end] >= '0' && path[end] <= '9') {
		end++
	}
	var v []int
	for _, part := range strings.Split(path[start:end], ".") {
		if n, err := strconv.Atoi(part); err == nil {
			v = append(v, n)
		}
	}
	return v
}
