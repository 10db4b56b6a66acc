package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/artisan-notify/artisan-notify/impl/apptest"
	"github.com/artisan-notify/artisan-notify/impl/proctest"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// TestSoak is the soak: 5,000 connected sockets (4% PDG, 96% Client users, plus one socket per
// applicant registered during the run) while 50 operations per second (registrations of Artisan/Promoteur users
// and decisions on them) run for 60 seconds against the server binary: zero missed, duplicated or unexpected
// events and zero 5xx (cmd/bench -scenarios soak; see cmd/bench/README.md). It takes about 2 minutes, so it runs
// only with ARTISAN_LONG_TESTS=1. ARTISAN_SOAK_ARGS adds bench flags (e.g. "-soak-sockets 500 -soak-dur 10s").
func TestSoak(t *testing.T) {
	if os.Getenv("ARTISAN_LONG_TESTS") != "1" {
		t.Skip("long test (about 2 minutes): set ARTISAN_LONG_TESTS=1 to run the 5,000-socket soak")
	}
	db := testdb.New(t)
	srv := proctest.Start(t, apptest.Env(db, "warn"))
	spec := "go=" + srv.URL + ",grant=" + srv.Command("grant-pdg", "{email}") + ",db=" + db
	if pid := serverPID(srv); pid > 0 {
		spec += ",pid=" + strconv.Itoa(pid) // server CPU and RSS in the report
	}
	json := filepath.Join(t.TempDir(), "soak.json")
	// 5,000 sockets, 4% of them PDGs (executives are few; every event goes to every PDG socket, so
	// 80% would be 200,000 deliveries a second, beyond 2 cores), plus the applicants' own sockets.
	args := []string{"run", "github.com/artisan-notify/artisan-notify/cmd/bench", "-scenarios", "soak", "-soak-pdg-share", "0.04", "-json", json, "-target", spec}
	args = append(args, strings.Fields(os.Getenv("ARTISAN_SOAK_ARGS"))...)
	out, err := exec.Command("go", args...).CombinedOutput()
	t.Logf("cmd/bench -scenarios soak:\n%s", out)
	if err != nil {
		t.Fatalf("soak failed (missed, duplicated or unexpected events, 5xx, or a failed check): %v", err)
	}
}

// serverPID finds the process running srv's binary on srv's port (0 if none is found).
func serverPID(srv *proctest.Server) int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if exe, err := os.Readlink(d + "/exe"); err != nil || exe != srv.Bin {
			continue
		}
		env, err := os.ReadFile(d + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if kv == "PORT="+strconv.Itoa(srv.Port) {
				pid, _ := strconv.Atoi(filepath.Base(d))
				return pid
			}
		}
	}
	return 0
}
