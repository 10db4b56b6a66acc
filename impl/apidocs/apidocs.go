// Package apidocs serves the API contracts as committed (/openapi.yaml, /asyncapi.yaml) and the
// HTML pages generated from them (/docs/), all embedded in the binary.
package apidocs

import (
	_ "embed"
	"io/fs"
	"net/http"

	artisannotify "github.com/artisan-notify/artisan-notify"
)

//go:embed index.html
var index []byte

// Register adds the documentation routes to mux: /openapi.yaml, /asyncapi.yaml, /docs/ (an index),
// /docs/api.html and /docs/events.html. /docs redirects to /docs/.
func Register(mux *http.ServeMux) {
	mux.Handle("GET /openapi.yaml", file(artisannotify.Contracts, "openapi.yaml", "application/yaml; charset=utf-8"))
	mux.Handle("GET /asyncapi.yaml", file(artisannotify.Contracts, "asyncapi.yaml", "application/yaml; charset=utf-8"))
	mux.Handle("GET /docs/api.html", file(artisannotify.Docs, "gen/docs/api.html", "text/html; charset=utf-8"))
	mux.Handle("GET /docs/events.html", file(artisannotify.Docs, "gen/docs/events.html", "text/html; charset=utf-8"))
	mux.Handle("GET /docs/{$}", serveBytes(index, "text/html; charset=utf-8"))
	mux.Handle("GET /docs", http.RedirectHandler("/docs/", http.StatusMovedPermanently))
}

func file(fsys fs.FS, name, contentType string) http.Handler {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		panic("apidocs: " + name + " is not embedded: " + err.Error()) // a build error
	}
	return serveBytes(b, contentType)
}

// serveBytes serves b with headers that let the pages work offline and nothing else: the generated REST
// page runs inline scripts and styles, and loads nothing from elsewhere.
func serveBytes(b []byte, contentType string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "+
			"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(b)
	})
}
