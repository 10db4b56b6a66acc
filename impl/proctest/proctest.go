// Package proctest runs the real server binary as a separate process, for end-to-end tests
// that need a process boundary: the npm socket.io-client suite, restarts, kill -9.
package proctest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/impl/shell"
)

// Binary builds cmd/server once per test process (CGO_ENABLED=0, as make build) and returns its
// path: the binary deploy/ ships.
func Binary(tb testing.TB) string {
	tb.Helper()
	return BinaryWithTags(tb)
}

// BinaryWithTags is Binary built with the build tags tags, e.g. "faults" for the fault hooks
// that the shipped binary has not; once per tag set and test process.
func BinaryWithTags(tb testing.TB, tags ...string) string {
	tb.Helper()
	key := strings.Join(tags, ",")
	buildsMu.Lock()
	b, ok := builds[key]
	if !ok {
		b = &build{}
		builds[key] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() { b.path, b.err = goBuild(key) })
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.path
}

// build is one binary of BinaryWithTags. The cache is per test process: a package-level map, as
// the binary outlives every test that uses it.
type build struct {
	once sync.Once
	path string
	err  error
}

var (
	buildsMu sync.Mutex
	builds   = map[string]*build{}
)

// goBuild builds cmd/server with the comma-separated tags into a temporary directory.
func goBuild(tags string) (string, error) {
	dir, err := os.MkdirTemp("", "artisan-notify-bin-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "server")
	// As make build does: one static binary (CGO off).
	cmd := exec.Command("go", "build", "-trimpath", "-tags", tags, "-o", path, "github.com/artisan-notify/artisan-notify/cmd/server")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build -tags %q: %v\n%s", tags, err, out)
	}
	return path, nil
}

// Server is a server process.
type Server struct {
	Bin  string
	Env  []string // KEY=VALUE, on top of os.Environ
	Port int
	URL  string
	Log  *bytes.Buffer

	mu  sync.Mutex
	cmd *exec.Cmd
}

// FreePort returns a TCP port free on loopback now.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts the server with env on a free port and waits until /readyz answers.
// It is killed when the test ends.
func Start(tb testing.TB, env map[string]string) *Server {
	tb.Helper()
	s := &Server{Bin: Binary(tb), Port: FreePort(tb), Log: &bytes.Buffer{}}
	for k, v := range env {
		s.Env = append(s.Env, k+"="+v)
	}
	s.URL = "http://127.0.0.1:" + strconv.Itoa(s.Port)
	s.Env = append(s.Env, "PORT="+strconv.Itoa(s.Port))
	s.Restart(tb)
	tb.Cleanup(func() {
		s.Stop(tb, syscall.SIGTERM)
		if tb.Failed() {
			tb.Logf("server log:\n%s", s.Logs())
		}
	})
	return s
}

// Restart starts the process again (after Stop), on the same port.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	cmd := exec.Command(s.Bin)
	cmd.Env = append(os.Environ(), s.Env...)
	w := &lockedWriter{s: s}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(s.URL + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("server did not become ready in 60 s; log:\n%s", s.Logs())
}

// Stop sends sig (SIGKILL for a crash) and waits for the process to end.
func (s *Server) Stop(tb testing.TB, sig syscall.Signal) {
	tb.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		tb.Errorf("server did not stop within 30 s of %v", sig)
	}
}

// Logs returns what the process wrote so far.
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Log.String()
}

// Command returns a shell command line running the server binary with args and the server's
// environment (e.g. for a grant-pdg template).
func (s *Server) Command(args ...string) string {
	var b strings.Builder
	for _, kv := range s.Env {
		if strings.HasPrefix(kv, "PORT=") {
			continue
		}
		b.WriteString(shell.Quote(kv) + " ")
	}
	b.WriteString(shell.Quote(s.Bin))
	for _, a := range args {
		b.WriteString(" " + a)
	}
	return "env " + b.String()
}

type lockedWriter struct{ s *Server }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.Log.Write(p)
}
