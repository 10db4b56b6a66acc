// Package proctest runs the real server binary as a separate process, for end-to-end tests
// that need a process boundary: the npm socket.io-client suite, restarts, kill -9.
package proctest

import (
	"bytes"
	"errors"
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

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has ended
}

// handedOut are the ports FreePort returned in this test process: the kernel may give the same
// free port to two calls in a row, and two tests running in parallel must not get the same one.
// Package-level, as the ports are the process's.
var (
	handedOutMu sync.Mutex
	handedOut   = map[int]bool{}
)

// FreePort returns a TCP port free on loopback now, never one it returned before in this
// process. Another process may still take it before the caller binds it: Start retries then.
func FreePort(tb testing.TB) int {
	tb.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		handedOutMu.Lock()
		fresh := !handedOut[port]
		handedOut[port] = true
		handedOutMu.Unlock()
		if fresh {
			return port
		}
	}
	tb.Fatal("no port free on loopback that was not handed out before")
	return 0
}

// errAddrInUse is what start returns when the process could not bind its port.
var errAddrInUse = errors.New("the port is already in use")

// Start starts the server with env on a free port and waits until it listens and /readyz
// answers. When its port was taken in between (by another process), it starts again on another.
// It is killed when the test ends.
func Start(tb testing.TB, env map[string]string) *Server {
	tb.Helper()
	s := &Server{Bin: Binary(tb), Log: &bytes.Buffer{}}
	for k, v := range env {
		s.Env = append(s.Env, k+"="+v)
	}
	s.Env = append(s.Env, "PORT=")
	var err error
	for range 5 {
		s.Port = FreePort(tb)
		s.URL = "http://127.0.0.1:" + strconv.Itoa(s.Port)
		s.Env[len(s.Env)-1] = "PORT=" + strconv.Itoa(s.Port)
		if err = s.start(); !errors.Is(err, errAddrInUse) {
			break
		}
		tb.Logf("port %d was taken before the server bound it; trying another", s.Port)
	}
	if err != nil {
		tb.Fatal(err)
	}
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
	if err := s.start(); err != nil {
		tb.Fatal(err)
	}
}

// start starts the process and waits until it is ready: it holds the listening socket of its
// port (so a /readyz answer is its own, not another process's on the same port) and /readyz
// answers 200.
// errAddrInUse when it ended because its port was taken.
func (s *Server) start() error {
	cmd := exec.Command(s.Bin)
	cmd.Env = append(os.Environ(), s.Env...)
	w := &lockedWriter{s: s}
	cmd.Stdout, cmd.Stderr = w, w
	s.mu.Lock()
	from := s.Log.Len()
	s.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.Bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			s.mu.Lock()
			s.cmd = nil
			s.mu.Unlock()
			log := s.Logs()[from:]
			if strings.Contains(log, "address already in use") {
				return fmt.Errorf("server on port %d: %w; log:\n%s", s.Port, errAddrInUse, log)
			}
			return fmt.Errorf("server ended before it was ready (%v); log:\n%s", cmd.ProcessState, log)
		default:
		}
		if Listens(cmd.Process.Pid, s.Port) {
			res, err := http.Get(s.URL + "/readyz")
			if err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					return nil
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("server did not become ready in 60 s; log:\n%s", s.Logs())
}

// Stop sends sig (SIGKILL for a crash) and waits for the process to end.
func (s *Server) Stop(tb testing.TB, sig syscall.Signal) {
	tb.Helper()
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
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

// Listens reports whether process pid holds a socket listening on TCP port: one of its file
// descriptors is a socket whose inode /proc/net/tcp or tcp6 lists as listening on the port. Where
// there is no /proc, it reports true (the process is alive: the caller saw it had not ended).
func Listens(pid, port int) bool {
	inodes := map[string]bool{}
	proc := false
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		proc = true
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			if i := strings.LastIndexByte(fields[1], ':'); i >= 0 {
				if p, err := strconv.ParseUint(fields[1][i+1:], 16, 16); err == nil && int(p) == port {
					inodes["socket:["+fields[9]+"]"] = true
				}
			}
		}
	}
	if !proc {
		return true
	}
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if link, err := os.Readlink(dir + "/" + fd.Name()); err == nil && inodes[link] {
			return true
		}
	}
	return false
}

type lockedWriter struct{ s *Server }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.Log.Write(p)
}
