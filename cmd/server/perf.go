package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"time"
)

// Runtime defaults for the server, applied only when the matching environment variable is unset
// (GOGC and GOMEMLIMIT, when set, win as usual).
const (
	// defaultGOGC: the heap of a node is mostly long-lived socket state (about 10-20 KB per
	// socket), while the per-event garbage is small; 200 halves the GC cycles per broadcast
	// compared with 100 for a bounded growth of that small short-lived part.
	defaultGOGC = 200
	// defaultMemLimit is a soft ceiling: above it the GC runs as often as needed, whatever GOGC says.
	defaultMemLimit = 1 << 30
)

// tuneRuntime applies the runtime defaults above and returns what it set, for the log.
func tuneRuntime(getenv func(string) string) []any {
	var set []any
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGOGC)
		set = append(set, "gogc", defaultGOGC)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemLimit)
		set = append(set, "gomemlimit", defaultMemLimit)
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
