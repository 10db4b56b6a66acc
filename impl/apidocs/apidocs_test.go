package apidocs_test

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/artisan-notify/artisan-notify/impl/apptest"
)

func get(t *testing.T, url string) (string, http.Header) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", url, res.StatusCode, b)
	}
	return string(b), res.Header
}

// contract reads a contract at the repository root.
func contract(t *testing.T, name string) (string, map[string]any) {
	t.Helper()
	b, err := os.ReadFile("../../" + name)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return string(b), doc
}

func TestServedDocs(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, nil)

	openapi, oas := contract(t, "openapi.yaml")
	asyncapi, aas := contract(t, "asyncapi.yaml")
	var ops, events []string
	for _, item := range oas["paths"].(map[string]any) {
		for _, op := range item.(map[string]any) {
			if m, ok := op.(map[string]any); ok && m["operationId"] != nil {
				ops = append(ops, m["operationId"].(string))
			}
		}
	}
	for _, m := range aas["components"].(map[string]any)["messages"].(map[string]any) {
		events = append(events, m.(map[string]any)["name"].(string))
	}
	if len(ops) < 5 || len(events) < 3 {
		t.Fatalf("operations %v, events %v: the contracts were not read", ops, events)
	}

	t.Run("contracts as committed", func(t *testing.T) {
		for path, want := range map[string]string{"/openapi.yaml": openapi, "/asyncapi.yaml": asyncapi} {
			body, h := get(t, s.URL+path)
			if body != want {
				t.Errorf("GET %s differs from the committed file", path)
			}
			if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/yaml") {
				t.Errorf("GET %s: Content-Type %q", path, ct)
			}
		}
	})

	t.Run("index links both pages", func(t *testing.T) {
		body, h := get(t, s.URL+"/docs") // redirected to /docs/
		for _, link := range []string{`href="api.html"`, `href="events.html"`, `href="../openapi.yaml"`, `href="../asyncapi.yaml"`} {
			if !strings.Contains(body, link) {
				t.Errorf("/docs/ has no %s", link)
			}
		}
		if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("/docs/: Content-Type %q", h.Get("Content-Type"))
		}
	})

	t.Run("REST page has every operation, offline", func(t *testing.T) {
		body, _ := get(t, s.URL+"/docs/api.html")
		for _, op := range ops {
			if !strings.Contains(body, op) {
				t.Errorf("/docs/api.html does not mention operation %s", op)
			}
		}
		if strings.Contains(body, "cdn.redocly.com/redoc") {
			t.Error("/docs/api.html loads Redoc from a CDN: build it with --inlineBundle")
		}
	})

	t.Run("events page has every event", func(t *testing.T) {
		body, _ := get(t, s.URL+"/docs/events.html")
		for _, ev := range events {
			if !strings.Contains(body, "<h3>"+ev+"</h3>") {
				t.Errorf("/docs/events.html has no section for %s", ev)
			}
		}
		for _, want := range []string{"pdg-notifications", "user:{id}", "auth: {token}", "&#34;contact_id&#34;: 42"} {
			if !strings.Contains(body, want) {
				t.Errorf("/docs/events.html has no %q", want)
			}
		}
	})
}
