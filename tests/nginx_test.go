package tests

import (
	"debug/elf"
	"fmt"
	"io"
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

// TestNginxInFrontOfTwoNodes checks the shipped deploy/nginx configuration with Debian's nginx
// (nginx -t) and runs the npm socket.io-client suite, both transports, through it in front of two
// server nodes sharing one database.
func TestNginxInFrontOfTwoNodes(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/nginx"); err2 != nil {
			t.Fatal("nginx is not installed: apt-get install -y nginx (.ci/run installs it)")
		}
		nginx = "/usr/sbin/nginx"
	}
	if _, err := os.Stat(filepath.Join("socket", "node_modules", "socket.io-client")); err != nil {
		t.Fatal("tests/socket has no node_modules: run `npm ci --prefix tests/socket` (make test does)")
	}
	checkStatic(t, proctest.Binary(t))

	dbURL := testdb.New(t)
	nodes := make([]*proctest.Server, 2)
	for i := range nodes {
		env := apptest.Env(dbURL, "info")
		env["TRUSTED_PROXIES"] = "127.0.0.1/32" // as deploy/README.md says
		env["NODE_ID"] = fmt.Sprintf("nginx-test-%d", i+1)
		nodes[i] = proctest.Start(t, env)
	}

	// nginx's workers run as nobody when the test runs as root: its directory must be reachable.
	dir, err := os.MkdirTemp("", "artisan-notify-nginx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	port := proctest.FreePort(t)
	site := renderSite(t, dir, port, nodes[0].Port, nodes[1].Port)
	main := filepath.Join(dir, "nginx.conf")
	var temps strings.Builder
	for _, k := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		p := filepath.Join(dir, k)
		if err := os.Mkdir(p, 0o777); err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(p, 0o777)
		fmt.Fprintf(&temps, "    %s_temp_path %s;\n", k, p)
	}
	conf := fmt.Sprintf(`worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 1024; }
http {
%[2]s    access_log %[1]s/access.log;
    include %[3]s;
}
`, dir, temps.String(), site)
	if err := os.WriteFile(main, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	errLog := filepath.Join(dir, "error.log")
	if out, err := exec.Command(nginx, "-t", "-p", dir, "-e", errLog, "-c", main).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}

	cmd := exec.Command(nginx, "-p", dir, "-e", errLog, "-c", main, "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			for _, f := range []string{"error.log", "artisan-notify.error.log"} {
				b, _ := os.ReadFile(filepath.Join(dir, f))
				t.Logf("nginx %s:\n%s", f, b)
			}
		}
	})
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	waitStatus(t, base+"/readyz", http.StatusOK, done)
	if code := status(t, base+"/metrics"); code != http.StatusNotFound {
		t.Errorf("GET /metrics through nginx: %d, want 404 (metrics are scraped per node)", code)
	}
	for _, n := range nodes {
		if code := status(t, n.URL+"/metrics"); code != http.StatusOK {
			t.Errorf("GET %s/metrics: %d, want 200", n.URL, code)
		}
	}

	suite := exec.Command("npm", "test", "--silent")
	suite.Dir = "socket"
	suite.Env = append(os.Environ(),
		"BASE_URL="+base,
		"JWT_SECRET="+apptest.Secret,
		"JWT_ISSUER=artisan-notify",
		"JWT_AUDIENCE=artisan-notify",
		"FRONTEND_URL="+apptest.FrontendURL,
		"GRANT_PDG_CMD="+nodes[0].Command("grant-pdg", "{email}"),
	)
	out, err := suite.CombinedOutput()
	t.Logf("socket.io-client suite through nginx:\n%s", out)
	if err != nil {
		t.Fatalf("socket.io-client suite through nginx failed: %v", err)
	}
	// The websocket upgrade really went through nginx (101 in its access log).
	access, _ := os.ReadFile(filepath.Join(dir, "artisan-notify.access.log"))
	if !strings.Contains(string(access), "transport=websocket") || !strings.Contains(string(access), "\" 101 ") {
		t.Errorf("no websocket upgrade (101) in nginx's access log")
	}
	if !strings.Contains(string(access), "transport=polling") {
		t.Errorf("no long-polling request in nginx's access log")
	}

	// The edge limits (the nodes' own per-address caps are off here): a flood of handshakes
	// and of logins from one address is cut by nginx with 429.
	for _, f := range []struct{ what, method, path, body string }{
		{"handshakes", "GET", "/socket.io/?EIO=4&transport=polling", ""},
		{"logins", "POST", "/api/users/auth/login", `{"email":"x@example.test","password":"wrong-password"}`},
	} {
		codes := map[int]int{}
		for range 300 {
			req, _ := http.NewRequest(f.method, base+f.path, strings.NewReader(f.body))
			req.Header.Set("Content-Type", "application/json")
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s flood: %v", f.what, err)
			}
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
			codes[r.StatusCode]++
		}
		t.Logf("300 %s through nginx: %v", f.what, codes)
		if codes[http.StatusTooManyRequests] < 100 {
			t.Errorf("300 %s at once through nginx: %v, want most refused with 429 by limit_req", f.what, codes)
		}
	}
}

// renderSite writes deploy/nginx/artisan-notify.conf with the test's ports and paths into dir.
func renderSite(t *testing.T, dir string, listen, node1, node2 int) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "deploy", "nginx", "artisan-notify.conf"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	for _, r := range []struct{ old, new string }{
		{"server 127.0.0.1:3001 ", fmt.Sprintf("server 127.0.0.1:%d ", node1)},
		{"server 127.0.0.1:3002 ", fmt.Sprintf("server 127.0.0.1:%d ", node2)},
		{"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", listen)},
		{"/var/log/nginx/artisan-notify.access.log", filepath.Join(dir, "artisan-notify.access.log")},
		{"/var/log/nginx/artisan-notify.error.log", filepath.Join(dir, "artisan-notify.error.log")},
	} {
		if n := strings.Count(s, r.old); n != 1 {
			t.Fatalf("deploy/nginx/artisan-notify.conf: %q appears %d times, want once (the test substitutes it)", r.old, n)
		}
		s = strings.Replace(s, r.old, r.new, 1)
	}
	out := filepath.Join(dir, "artisan-notify.conf")
	if err := os.WriteFile(out, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkStatic fails unless bin is a static executable (no ELF interpreter, no shared libraries).
func checkStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked (has an ELF interpreter): build with CGO_ENABLED=0", bin)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v: build with CGO_ENABLED=0", bin, libs)
	}
}

func status(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// waitStatus waits until url answers want, failing if the process behind done exits first.
func waitStatus(t *testing.T, url string, want int, done <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			t.Fatal("nginx exited")
		default:
		}
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == want {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer %d in 20 s", url, want)
}
