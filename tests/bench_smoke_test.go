package tests

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/artisan-notify/artisan-notify/impl/apptest"
	"github.com/artisan-notify/artisan-notify/impl/proctest"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// TestBenchSmoke runs the benchmark tool (cmd/bench -smoke: tiny sizes, every scenario) against
// the server binary. It checks correctness only (exactly one 200 per decision, every socket gets
// every event, contract checks); the tool's timings are not asserted.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server and the bench tool")
	}
	db := testdb.New(t)
	srv := proctest.Start(t, apptest.Env(db, "warn"))
	json := filepath.Join(t.TempDir(), "bench.json")
	cmd := exec.Command("go", "run", "github.com/artisan-notify/artisan-notify/cmd/bench", "-smoke", "-json", json,
		"-target", "go="+srv.URL+",grant="+srv.Command("grant-pdg", "{email}")+",db="+db)
	out, err := cmd.CombinedOutput()
	t.Logf("cmd/bench -smoke:\n%s", out)
	if err != nil {
		t.Fatalf("cmd/bench -smoke failed: %v", err)
	}
}
