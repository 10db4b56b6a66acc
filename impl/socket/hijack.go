package socket

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// detachingWriter wraps the ResponseWriter of a websocket upgrade request. The library keeps the
// ResponseWriter it was given for the life of the connection; net/http's own keeps the
// connection's 4 KB read and 4 KB write buffers reachable, though after the upgrade gorilla
// uses buffers of its own. Once hijacked, this wrapper drops its reference so that those
// 8 KB per socket are collected.
type detachingWriter struct {
	mu     sync.Mutex
	rw     http.ResponseWriter // nil once hijacked
	header http.Header
}

func (d *detachingWriter) inner() http.ResponseWriter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rw
}

func (d *detachingWriter) Header() http.Header {
	if rw := d.inner(); rw != nil {
		return rw.Header()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.header == nil {
		d.header = http.Header{}
	}
	return d.header
}

func (d *detachingWriter) Write(p []byte) (int, error) {
	if rw := d.inner(); rw != nil {
		return rw.Write(p)
	}
	return 0, http.ErrHijacked
}

func (d *detachingWriter) WriteHeader(code int) {
	if rw := d.inner(); rw != nil {
		rw.WriteHeader(code)
	}
}

func (d *detachingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rw == nil {
		return nil, nil, http.ErrHijacked
	}
	conn, brw, err := http.NewResponseController(d.rw).Hijack()
	if err == nil {
		d.rw = nil
	}
	return conn, brw, err
}

// Unwrap lets http.ResponseController reach the original before the upgrade.
func (d *detachingWriter) Unwrap() http.ResponseWriter { return d.inner() }

// detachOnUpgrade serves websocket upgrade requests through a detachingWriter.
func detachOnUpgrade(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			w = &detachingWriter{rw: w}
		}
		h.ServeHTTP(w, r)
	})
}
