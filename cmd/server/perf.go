package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// Runtime defaults for the server, applied only when the matching environment variable is unset
// (GOGC and GOMEMLIMIT, when set, win as usual).
const (
	// defaultGOGC: the heap of a node is mostly long-lived socket state (about 10-20 KB per
	// socket), while the per-event garbage is small; 200 halves the GC cycles per broadcast
	// compared with 100 for a bounded growth of that small short-lived part.
	defaultGOGC = 200
	// minMemLimit is the floor of the soft memory ceiling (see memLimit).
	minMemLimit = 1 << 30
)

// memLimit returns the soft memory ceiling: half of the memory this process may use (the cgroup
// limit, else the machine's), at least minMemLimit. Above it the GC runs as often as needed,
// whatever GOGC says; a ceiling close to the live heap (10,000 sockets take about 0.5 GB) would
// make the GC run without pause and starve the sockets' pings.
func memLimit() int64 {
	total := int64(0)
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
			total = n
		}
	}
	if total == 0 {
		if b, err := os.ReadFile("/proc/meminfo"); err == nil {
			var kb int64
			for _, line := range strings.Split(string(b), "\n") {
				if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
					total = kb << 10
					break
				}
			}
		}
	}
	return max(total/2, minMemLimit)
}

// tuneRuntime applies the runtime defaults above where gogc and gomemlimit (the values of GOGC
// and GOMEMLIMIT) are empty, and returns what it set, for the log.
func tuneRuntime(gogc, gomemlimit string) []any {
	var set []any
	if gogc == "" {
		debug.SetGCPercent(defaultGOGC)
		set = append(set, "gogc", defaultGOGC)
	}
	if gomemlimit == "" {
		limit := memLimit()
		debug.SetMemoryLimit(limit)
		set = append(set, "gomemlimit", limit)
	}
	return set
}

// startPprof serves net/http/pprof on addr (PPROF_ADDR, e.g. 127.0.0.1:6060), a listener of its own,
// never the public port. It stops with ctx. An empty addr does nothing.
func startPprof(ctx context.Context, addr string, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof server stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("pprof listening", "addr", ln.Addr().String())
	return nil
}
