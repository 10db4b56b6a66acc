// Package tests holds the end-to-end tests that run the real server binary.
package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/impl/apptest"
	"github.com/artisan-notify/artisan-notify/impl/proctest"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// TestSocketIOContract runs the npm socket.io-client suite (tests/socket) against the server.
func TestSocketIOContract(t *testing.T) {
	if _, err := os.Stat(filepath.Join("socket", "node_modules", "socket.io-client")); err != nil {
		t.Fatal("tests/socket has no node_modules: run `npm ci --prefix tests/socket` (make test does)")
	}
	srv := proctest.Start(t, apptest.Env(testdb.New(t), "info"))
	// Each test of the suite has 60 s (--test-timeout) and the runner exits when they are done,
	// whatever a client left open (--test-force-exit); the whole suite gets 6 minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "test", "--silent")
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = "socket"
	cmd.Env = append(os.Environ(),
		"BASE_URL="+srv.URL,
		"JWT_SECRET="+apptest.Secret,
		"JWT_ISSUER=artisan-notify",
		"JWT_AUDIENCE=artisan-notify",
		"FRONTEND_URL="+apptest.FrontendURL,
		"GRANT_PDG_CMD="+srv.Command("grant-pdg", "{email}"),
	)
	out, err := cmd.CombinedOutput()
	t.Logf("socket.io-client suite:\n%s", out)
	if err != nil {
		t.Fatalf("socket.io-client suite failed: %v (context: %v)", err, ctx.Err())
	}
}
