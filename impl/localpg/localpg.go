// Package localpg runs a private PostgreSQL server, started and stopped from
// Go, for `go run ./cmd/server` without DATABASE_URL and for tests when no
// database is configured. It needs the PostgreSQL server programs (initdb,
// pg_ctl) installed; it downloads nothing.
//
// The server listens on no TCP port: only on a Unix socket in the data
// directory (mode 0700, owned by the account that runs PostgreSQL), so only
// that account and root can connect, and they need no password (trust): they
// can read the data files anyway. Every start rewrites pg_hba.conf to accept
// socket connections only, and sets listen_addresses to the empty string and
// unix_socket_permissions to 0700 in postgresql.auto.conf, which secures a
// data directory created by an earlier version (trust over TCP on 127.0.0.1,
// open to every local account). A data directory whose socket path would be
// too long for Unix sockets gets its socket in a private temporary directory.
//
// The cluster lives in Options.DataDir and survives restarts. Its log is the
// file next to the data directory named after it with ".log" appended
// (DataDir/../postgres.log for DefaultDataDir), and a "<name>.lock" file
// there serialises concurrent Starts.
//
// PostgreSQL refuses to run as root: as root, the server runs as the owner of
// an existing cluster, else as the postgres user (or nobody), who must be able
// to enter every directory above DataDir.
//
// If a server is already running on the data directory, Start reuses it
// instead of stopping it (another process, such as a second `go run`, may be
// using it) and that Server's Stop leaves it running; the Server that started
// it stops it, or `pg_ctl -D DataDir stop` does. A stale postmaster.pid left
// by a crash is handled by pg_ctl, or removed by Start if it names an
// unreaped (zombie) postmaster.
package localpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/artisan-notify/artisan-notify/impl/shell"
)

// superuser is the role initdb creates and URL connects as (trust auth over
// the private socket, no password).
const superuser = "postgres"

// defaultPort numbers the socket (.s.PGSQL.5432) when Options.Port is 0.
const defaultPort = 5432

// maxSocketPath is the longest Unix socket path everywhere: sun_path holds
// 104 bytes with the final NUL on macOS and the BSDs (108 on Linux).
const maxSocketPath = 103

// Options configure Start.
type Options struct {
	// DataDir holds the cluster; required. It is created (mode 0700) and
	// initialised if it holds no cluster; its data survives Stop and Start.
	DataDir string
	// Port numbers the Unix socket (.s.PGSQL.<Port>), as PostgreSQL does;
	// 0 means 5432. Nothing listens on TCP. When reusing a running server, a
	// Port other than 0 must be the one it uses.
	Port int
	// Logger receives start and stop messages; nil discards them.
	Logger *slog.Logger
	// BinDir holds initdb and pg_ctl (the server sets it from PG_BINDIR). Empty:
	// `pg_config --bindir`, then the highest /usr/lib/postgresql/*/bin (or Homebrew's, or /usr/pgsql-*/bin),
	// then PATH.
	BinDir string
	// Database is created if missing and is the one URL names; default "artisan_notify".
	Database string
	// Fast turns off fsync, synchronous_commit and full_page_writes: for tests,
	// whose data a machine crash may corrupt. Ignored when reusing a running server.
	Fast bool
}

// Server is a running local PostgreSQL server.
type Server struct {
	dataDir string
	logPath string
	sockDir string // the directory of the Unix socket: the data directory, or tmpSock
	tmpSock bool   // sockDir is a temporary directory Start created, removed by Stop
	port    int
	db      string
	owned   bool // started by this Server, so Stop stops it
	bin     binaries
	acct    account
	log     *slog.Logger

	mu      sync.Mutex
	stopped bool
}

// DefaultDataDir returns where the server keeps its data by default, given the
// value of XDG_DATA_HOME: xdgDataHome/artisan-notify/postgres, else
// ~/.local/share/artisan-notify/postgres. As root without XDG_DATA_HOME it is
// /var/lib/artisan-notify/postgres, since the postgres user that then runs the
// server cannot enter root's home.
func DefaultDataDir(xdgDataHome string) string {
	if xdgDataHome != "" {
		return filepath.Join(xdgDataHome, "artisan-notify", "postgres")
	}
	if os.Geteuid() == 0 {
		return "/var/lib/artisan-notify/postgres"
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "artisan-notify", "postgres")
	}
	return filepath.Join(home, ".local", "share", "artisan-notify", "postgres")
}

// Start initialises opts.DataDir if it holds no cluster, starts PostgreSQL on
// its private Unix socket (or reuses the server already running there, unless
// it listens on TCP, as earlier versions did: then it asks to stop it first),
// secures the configuration of a stopped cluster, creates the database
// if missing and returns once it accepts connections. It returns an error
// wrapping ErrNotInstalled if initdb and pg_ctl cannot be found; other errors
// carry the tail of the server log.
func Start(ctx context.Context, opts Options) (*Server, error) {
	begin := time.Now()
	if opts.DataDir == "" {
		return nil, errors.New("start local postgres: Options.DataDir is empty")
	}
	dir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("start local postgres in %s: %w", opts.DataDir, err)
	}
	s, err := newServer(ctx, dir, opts)
	if err != nil {
		return nil, fmt.Errorf("start local postgres in %s: %w", dir, err)
	}
	if err := s.start(ctx, opts); err != nil {
		if !s.owned && s.tmpSock {
			os.RemoveAll(s.sockDir)
		}
		if s.owned {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			if stopErr := s.Stop(stopCtx); stopErr != nil {
				err = errors.Join(err, stopErr)
			}
			cancel()
		}
		return nil, fmt.Errorf("start local postgres in %s: %w", dir, err)
	}
	s.log.Info("local postgres ready", "url", s.URL(), "data_dir", dir, "log", s.logPath,
		"reused", !s.owned, "user", s.acct.name, "took", time.Since(begin).Round(time.Millisecond))
	return s, nil
}

func newServer(ctx context.Context, dir string, opts Options) (*Server, error) {
	bin, err := findBinaries(ctx, opts.BinDir)
	if err != nil {
		return nil, err
	}
	acct, err := accountFor(dir)
	if err != nil {
		return nil, err
	}
	s := &Server{
		dataDir: dir,
		logPath: dir + ".log",
		db:      opts.Database,
		bin:     bin,
		acct:    acct,
		log:     opts.Logger,
	}
	if s.db == "" {
		s.db = "artisan_notify"
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// URL returns the connection string, over the Unix socket:
// postgres://postgres@/DB?host=SOCKET_DIR&port=PORT&sslmode=disable.
func (s *Server) URL() string {
	return s.urlFor(s.db)
}

func (s *Server) urlFor(db string) string {
	q := url.Values{"host": {s.sockDir}, "port": {strconv.Itoa(s.port)}, "sslmode": {"disable"}}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Path:     "/" + db,
		RawQuery: q.Encode(),
	}
	return u.String()
}

// Stop shuts down a server this Server started (`pg_ctl stop -m fast`, which
// disconnects clients) and keeps its data. Further calls return nil, as does
// Stop on a reused server, which it leaves running. It returns an error, with
// the tail of the server log, if the server is still running afterwards.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	if !s.owned {
		s.stopped = true
		s.log.Info("local postgres left running: it was already running when started", "data_dir", s.dataDir)
		return nil
	}
	logStart := fileSize(s.logPath)
	out, err := s.run(ctx, s.bin.pgCtl, "stop", "-w", "-t", "60", "-m", "fast", "-D", s.dataDir)
	if err != nil {
		if running, statusErr := s.running(ctx); statusErr != nil || running {
			return fmt.Errorf("stop local postgres in %s: %w\n%s%s", s.dataDir, err, out, logTail(s.logPath, logStart))
		}
	}
	if s.tmpSock {
		if err := os.RemoveAll(s.sockDir); err != nil {
			s.log.Warn("remove postgres socket directory", "dir", s.sockDir, "err", err)
		}
	}
	s.stopped = true
	s.log.Info("local postgres stopped", "data_dir", s.dataDir)
	return nil
}

func (s *Server) start(ctx context.Context, opts Options) error {
	if err := s.prepareDirs(); err != nil {
		return err
	}
	unlock, err := lockFile(ctx, s.dataDir+".lock")
	if err != nil {
		return err
	}
	defer unlock()

	running, err := s.running(ctx)
	if err != nil {
		return err
	}
	if running {
		if err := s.reuse(opts.Port); err != nil {
			return err
		}
	} else {
		if err := s.initdb(ctx); err != nil {
			return err
		}
		if err := s.secure(); err != nil {
			return fmt.Errorf("restrict access to the socket: %w", err)
		}
		if err := s.startServer(ctx, opts); err != nil {
			return err
		}
	}
	if err := s.waitReady(ctx); err != nil {
		return err
	}
	return s.createDatabase(ctx)
}

// prepareDirs creates the data directory and its log file and gives them to
// the account that runs PostgreSQL.
func (s *Server) prepareDirs() error {
	if err := os.MkdirAll(filepath.Dir(s.dataDir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(s.dataDir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if err := s.acct.checkReachable(s.dataDir); err != nil {
		return err
	}
	if err := s.acct.chown(s.dataDir); err != nil {
		return fmt.Errorf("give data directory to user %s: %w", s.acct.name, err)
	}
	// PostgreSQL refuses a data directory others can read.
	if err := os.Chmod(s.dataDir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return s.acct.chown(s.logPath)
}

// running reports whether a server is running on the data directory (pg_ctl status).
func (s *Server) running(ctx context.Context) (bool, error) {
	out, err := s.run(ctx, s.bin.pgCtl, "status", "-D", s.dataDir)
	if err == nil {
		return !s.removeZombiePID(), nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && (exitErr.ExitCode() == 3 || exitErr.ExitCode() == 4) {
		return false, nil // 3: not running; 4: no cluster yet
	}
	return false, fmt.Errorf("pg_ctl status: %w\n%s", err, out)
}

// removeZombiePID removes postmaster.pid if the postmaster it names is dead
// but not yet reaped (an init that does not reap orphans, as in some
// containers), which pg_ctl and the postmaster take for a running server.
// It reports whether it removed the file.
func (s *Server) removeZombiePID() bool {
	pidFile := filepath.Join(s.dataDir, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return false
	}
	pid, _, _ := strings.Cut(string(b), "\n")
	stat, err := os.ReadFile(filepath.Join("/proc", strings.TrimSpace(pid), "stat"))
	if err != nil {
		return false // not Linux, or already reaped
	}
	// After "pid (comm) " comes the state; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z' {
		return false
	}
	if err := os.Remove(pidFile); err != nil {
		s.log.Warn("remove postmaster.pid of a dead postmaster", "file", pidFile, "err", err)
		return false
	}
	s.log.Warn("removed postmaster.pid of a dead postmaster", "file", pidFile, "pid", strings.TrimSpace(pid))
	return true
}

// reuse adopts the server already running on the data directory.
func (s *Server) reuse(wantPort int) error {
	pid, err := os.ReadFile(filepath.Join(s.dataDir, "postmaster.pid"))
	if err != nil {
		return fmt.Errorf("read port of the running server: %w", err)
	}
	// Lines: pid, data dir, start time, port, socket dir, listen address, shmem key, status.
	lines := strings.Split(string(pid), "\n")
	if len(lines) < 6 {
		return fmt.Errorf("read port of the running server: postmaster.pid has %d lines", len(lines))
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return fmt.Errorf("read port of the running server: %w", err)
	}
	if addr := strings.TrimSpace(lines[5]); addr != "" {
		return fmt.Errorf("a server already running on it (started by an earlier version) listens on TCP %s port %d, "+
			"where every local account can connect without a password; stop it with %s and start again",
			addr, port, s.stopCommand())
	}
	sockDir := strings.TrimSpace(lines[4])
	if i := strings.IndexByte(sockDir, ','); i >= 0 {
		sockDir = sockDir[:i]
	}
	if err := s.checkPrivate(sockDir); err != nil {
		return fmt.Errorf("a server already running on it: %w; stop it with %s and start again", err, s.stopCommand())
	}
	if wantPort != 0 && wantPort != port {
		return fmt.Errorf("a server already running on it uses port %d, not %d; stop it with %s",
			port, wantPort, s.stopCommand())
	}
	s.port = port
	s.sockDir = sockDir
	s.log.Info("reusing local postgres already running", "data_dir", s.dataDir, "socket_dir", sockDir, "port", port)
	return nil
}

// stopCommand is the shell command that stops the server on the data directory.
func (s *Server) stopCommand() string {
	cmd := quoteIfNeeded(s.bin.pgCtl) + " -D " + quoteIfNeeded(s.dataDir) + " stop"
	if s.acct.cred != nil {
		return "`su " + s.acct.name + " -s /bin/sh -c " + quoteIfNeeded(cmd) + "`"
	}
	return "`" + cmd + "`"
}

// quoteIfNeeded quotes s for /bin/sh unless it is made of safe characters only.
func quoteIfNeeded(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+=:@", r)) {
			return shell.Quote(s)
		}
	}
	return s
}

// checkPrivate returns an error unless dir is a directory of mode 0700 owned by the account.
func (s *Server) checkPrivate(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		return fmt.Errorf("socket directory %s has mode %v, not 0700: other local accounts may connect", dir, fi.Mode())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != s.acct.uid() {
		return fmt.Errorf("socket directory %s belongs to uid %d, not to %s", dir, st.Uid, s.acct.name)
	}
	return nil
}

// initdb creates the cluster unless the data directory already holds one.
func (s *Server) initdb(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(s.dataDir, "PG_VERSION")); err == nil {
		return nil
	}
	begin := time.Now()
	out, err := s.run(ctx, s.bin.initdb, "-D", s.dataDir, "--auth-local=trust", "--auth-host=reject", "-U", superuser,
		"-E", "UTF8", "--locale=C", "--no-sync")
	if err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	s.log.Info("local postgres cluster created", "data_dir", s.dataDir, "took", time.Since(begin).Round(time.Millisecond))
	return nil
}

// startServer runs pg_ctl start, the server listening on its Unix socket only.
func (s *Server) startServer(ctx context.Context, opts Options) error {
	s.port = opts.Port
	if s.port == 0 {
		s.port = defaultPort
	}
	if err := s.makeSocketDir(); err != nil {
		return err
	}
	settings := "-c fsync=on"
	if opts.Fast {
		settings = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	// The command line overrides postgresql.conf and postgresql.auto.conf.
	serverOpts := fmt.Sprintf("-p %d -k %s -c listen_addresses='' -c unix_socket_permissions=0700 %s",
		s.port, shell.Quote(s.sockDir), settings)
	logStart := fileSize(s.logPath)
	out, err := s.run(ctx, s.bin.pgCtl, "start", "-w", "-t", "60", "-D", s.dataDir, "-l", s.logPath, "-o", serverOpts)
	if err == nil {
		s.owned = true
		return nil
	}
	tail := logTail(s.logPath, logStart)
	if running, _ := s.running(context.WithoutCancel(ctx)); running {
		// pg_ctl may have timed out on a server that is still starting; stop it.
		s.owned = true
	}
	return fmt.Errorf("pg_ctl start: %w\n%s%s", err, out, tail)
}

// makeSocketDir picks the socket directory: the data directory (mode 0700,
// owned by the account), unless the socket path would be too long, or the
// path holds characters unix_socket_directories cannot take; then a new
// private temporary directory.
func (s *Server) makeSocketDir() error {
	sock := filepath.Join(s.dataDir, ".s.PGSQL."+strconv.Itoa(s.port))
	if len(sock) <= maxSocketPath && !strings.ContainsAny(s.dataDir, ", \t\n\"'\\") {
		s.sockDir = s.dataDir
		return s.checkPrivate(s.sockDir)
	}
	dir, err := os.MkdirTemp("", "artisan-pg-") // mode 0700
	if err != nil {
		return err
	}
	s.sockDir, s.tmpSock = dir, true
	if err := s.acct.chown(dir); err != nil {
		return fmt.Errorf("give socket directory to user %s: %w", s.acct.name, err)
	}
	s.log.Info("local postgres socket in a temporary directory: the data directory's path is too long for a socket",
		"socket_dir", dir, "data_dir", s.dataDir)
	return nil
}

// waitReady returns once the server accepts connections, or after 30 s.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, s.urlFor("postgres"))
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for postgres on socket %s port %d: %w%s", s.sockDir, s.port, err, logTail(s.logPath, fileSize(s.logPath)-2048))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// createDatabase creates the database URL names if it does not exist.
func (s *Server) createDatabase(ctx context.Context) (err error) {
	conn, err := pgx.Connect(ctx, s.urlFor("postgres"))
	if err != nil {
		return fmt.Errorf("connect to create database %s: %w", s.db, err)
	}
	defer func() { err = errors.Join(err, conn.Close(ctx)) }()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", s.db).Scan(&exists); err != nil {
		return fmt.Errorf("look for database %s: %w", s.db, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{s.db}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created meanwhile
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", s.db, err)
	}
	s.log.Info("local postgres database created", "database", s.db)
	return nil
}

// run runs a PostgreSQL program as the account, in its own process group (so
// a terminal's Ctrl-C reaches our process, which stops the server in order),
// and returns its combined output.
func (s *Server) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = "/" // the account may not be able to enter our working directory
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: s.acct.cred}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.Bytes(), err
}

// lockFile takes an exclusive lock on path, waiting for ctx, and returns its release.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for lock %s held by another start: %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logTail returns the last lines (at most 4 KB) written to the log after offset,
// formatted to follow an error message, or "" if there are none.
func logTail(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const limit = 4096
	offset = max(offset, fileSize(path)-limit, 0)
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, err := io.ReadAll(f)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	return fmt.Sprintf("\nlast lines of %s:\n%s", path, bytes.TrimSpace(b))
}
