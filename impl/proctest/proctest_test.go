package proctest

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"testing"

	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// A server whose port another process took in between is not mistaken for the one that answers
// there: start says the port was in use, and Start goes on with another port.
func TestAServerOnATakenPortIsNotTheOneThatAnswers(t *testing.T) {
	db := testdb.New(t)
	// the occupant answers /readyz 200, as another test's server would
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	occupant := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})}
	go occupant.Serve(ln)
	t.Cleanup(func() { occupant.Close() })
	taken := ln.Addr().(*net.TCPAddr).Port

	s := &Server{Bin: Binary(t), Port: taken, URL: "http://127.0.0.1:" + strconv.Itoa(taken),
		Env: []string{"DATABASE_URL=" + db, "JWT_SECRET=test-secret-0123456789abcdef0123456789", "LOG_LEVEL=warn",
			"PORT=" + strconv.Itoa(taken)}}
	s.Log = &bytes.Buffer{}
	if err := s.start(); !errors.Is(err, errAddrInUse) {
		s.Stop(t, syscall.SIGTERM)
		t.Fatalf("start on a taken port = %v, want errAddrInUse", err)
	}
	if !Listens(os.Getpid(), taken) {
		t.Errorf("listens does not see this process's own listener on %d", taken)
	}

	started := Start(t, map[string]string{"DATABASE_URL": db, "JWT_SECRET": "test-secret-0123456789abcdef0123456789", "LOG_LEVEL": "warn"})
	if started.Port == taken {
		t.Fatalf("Start used the taken port %d", taken)
	}
	if !Listens(started.cmd.Process.Pid, started.Port) {
		t.Errorf("the started server does not hold its port %d", started.Port)
	}
	if Listens(started.cmd.Process.Pid, taken) {
		t.Errorf("the started server holds the occupant's port %d", taken)
	}
}
