package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/artisan-notify/artisan-notify/impl/otlptest"
	"github.com/artisan-notify/artisan-notify/impl/tracing"
)

func recorder(t *testing.T) (*tracetest.SpanRecorder, trace.TracerProvider) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return rec, tp
}

// The outbox's trace context: what Carry writes, Resume reads back as the remote parent, with
// the tracestate; nothing is carried without a span, and a damaged value resumes nothing.
func TestCarryResume(t *testing.T) {
	_, tp := recorder(t)
	if got := tracing.Carry(context.Background()); got != nil {
		t.Fatalf("Carry without a span = %q, want nil", *got)
	}
	ts, err := trace.ParseTraceState("vendor=value,other=x y")
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := tp.Tracer("test").Start(context.Background(), "op")
	defer span.End()
	ctx = trace.ContextWithSpanContext(ctx, span.SpanContext().WithTraceState(ts))
	carried := tracing.Carry(ctx)
	sc := span.SpanContext()
	want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01 vendor=value,other=x y"
	if carried == nil || *carried != want {
		t.Fatalf("Carry = %v, want %q", carried, want)
	}
	remote := trace.SpanContextFromContext(tracing.Resume(context.Background(), carried))
	if !remote.IsRemote() || remote.TraceID() != sc.TraceID() || remote.SpanID() != sc.SpanID() || !remote.IsSampled() ||
		remote.TraceState().String() != ts.String() {
		t.Fatalf("Resume = %+v, want the carried span context, remote", remote)
	}
	for _, bad := range []string{"", "garbage", "00-zz-yy-01", "01-" + sc.TraceID().String()} {
		if got := trace.SpanContextFromContext(tracing.Resume(context.Background(), &bad)); got.IsValid() {
			t.Errorf("Resume(%q) = %v, want nothing", bad, got)
		}
	}
	if got := trace.SpanContextFromContext(tracing.Resume(context.Background(), nil)); got.IsValid() {
		t.Errorf("Resume(nil) = %v", got)
	}
}

func TestChildStartsNothingWithoutARecordingParent(t *testing.T) {
	rec, tp := recorder(t)
	ctx, span := tracing.Child(context.Background(), "orphan")
	if span.IsRecording() || trace.SpanContextFromContext(ctx).IsValid() {
		t.Fatal("Child without a parent started a span")
	}
	tracing.End(span, nil)
	ctx, parent := tp.Tracer("test").Start(context.Background(), "parent")
	_, child := tracing.Child(ctx, "child")
	tracing.End(child, context.Canceled)
	parent.End()
	spans := rec.Ended()
	if len(spans) != 2 || spans[0].Name() != "child" || spans[0].Parent().SpanID() != parent.SpanContext().SpanID() ||
		spans[0].Status().Description != context.Canceled.Error() {
		t.Fatalf("spans: %v", spans)
	}
}

func TestQueryName(t *testing.T) {
	for sql, want := range map[string]string{
		"-- name: DecideRequest :one\nUPDATE contacts SET ...": "DecideRequest",
		"begin":                   "BEGIN",
		"commit":                  "COMMIT",
		"  SELECT 1":              "SELECT",
		"-- a comment\nSELECT 1":  "SQL",
		"":                        "SQL",
		"-- name: :one\nSELECT 1": "SQL",
		"LISTEN outbox":           "LISTEN",
	} {
		if got := tracing.QueryName(sql); got != want {
			t.Errorf("QueryName(%q) = %q, want %q", sql, got, want)
		}
	}
}

// A record logged with a context that holds a span carries its ids; others do not.
func TestLogHandler(t *testing.T) {
	_, tp := recorder(t)
	var buf bytes.Buffer
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(&buf, nil))).With("node", "a")
	ctx, span := tp.Tracer("test").Start(context.Background(), "op")
	log.InfoContext(ctx, "traced", "k", 1)
	span.End()
	log.Info("plain")
	var lines []map[string]any
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	sc := span.SpanContext()
	if len(lines) != 2 || lines[0]["trace_id"] != sc.TraceID().String() || lines[0]["span_id"] != sc.SpanID().String() || lines[0]["node"] != "a" {
		t.Fatalf("traced record: %v", lines)
	}
	if _, ok := lines[1]["trace_id"]; ok {
		t.Fatalf("record without a span has a trace_id: %v", lines[1])
	}
}

func TestNewOffWithoutEndpoint(t *testing.T) {
	tr, err := tracing.New(context.Background(), tracing.Options{}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.TracerProvider().Tracer("test").Start(context.Background(), "op")
	if tr.Enabled() || span.IsRecording() {
		t.Fatal("tracing without an endpoint records")
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// With an endpoint, spans reach an OTLP/HTTP receiver at the latest when Shutdown flushes them,
// with the resource (OTEL_SERVICE_NAME overrides the default name).
func TestNewExportsAndShutdownFlushes(t *testing.T) {
	otlp := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.URL)
	t.Setenv("OTEL_SERVICE_NAME", "svc-test")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "60000") // only the flush exports
	tr, err := tracing.New(context.Background(), tracing.Options{Endpoint: otlp.URL, NodeID: "n1", Version: "v0"}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.TracerProvider().Tracer("test").Start(context.Background(), "op")
	span.End()
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := otlp.Spans()
	if len(spans) != 1 || spans[0].Name != "op" || spans[0].Resource["service.name"] != "svc-test" ||
		spans[0].Resource["service.instance.id"] != "n1" || spans[0].Resource["service.version"] != "v0" {
		t.Fatalf("received %+v", spans)
	}
}

// A collector that does not answer holds the shutdown no longer than its deadline.
func TestShutdownIsBounded(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer srv.Close()
	defer close(hang)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	tr, err := tracing.New(context.Background(), tracing.Options{Endpoint: srv.URL}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.TracerProvider().Tracer("test").Start(context.Background(), "op")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_ = tr.Shutdown(ctx)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Shutdown took %v with a 300ms deadline", took)
	}
}

// The server span is named by the route, is a root whatever traceparent the client sends, and
// carries the status its handler reports with ResponseStatus; a 5xx is its error.
func TestHTTPServerSpanCarriesTheReportedStatus(t *testing.T) {
	for _, tc := range []struct {
		status int
		err    bool
	}{{http.StatusOK, false}, {http.StatusConflict, false}, {http.StatusServiceUnavailable, true}} {
		rec, tp := recorder(t)
		route := func(*http.Request) (string, []attribute.KeyValue) { return "ApproveArtisanRequest", nil }
		h := tracing.HTTPServer(tp, route, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			tracing.ResponseStatus(r.Context(), tc.status)
		}))
		req := httptest.NewRequest("POST", "/api/x", nil)
		req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		h.ServeHTTP(httptest.NewRecorder(), req)
		spans := rec.Ended()
		if len(spans) != 1 {
			t.Fatalf("%d spans, want 1", len(spans))
		}
		s := spans[0]
		if s.Name() != "ApproveArtisanRequest" || s.Parent().IsValid() || s.SpanKind() != trace.SpanKindServer {
			t.Errorf("span %q kind %v parent %v: want a root server span named by the route", s.Name(), s.SpanKind(), s.Parent())
		}
		var got int64
		for _, a := range s.Attributes() {
			if a.Key == "http.response.status_code" {
				got = a.Value.AsInt64()
			}
		}
		if got != int64(tc.status) || (s.Status().Code == codes.Error) != tc.err {
			t.Errorf("status %d: span has status code %d, span status %v", tc.status, got, s.Status())
		}
	}
	// Without a recording span, ResponseStatus is a no-op.
	tracing.ResponseStatus(context.Background(), http.StatusInternalServerError)
}
