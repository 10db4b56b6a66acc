// Package otlptest is an in-process OTLP/HTTP trace receiver for tests: it decodes the
// ExportTraceServiceRequest messages the server's exporter sends (protobuf, or JSON) and keeps
// their spans, with the resource that sent each.
package otlptest

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Span is one received span, flattened.
type Span struct {
	TraceID, SpanID, ParentID string // hex; ParentID is "" for a root
	Name                      string
	Kind                      tracepb.Span_SpanKind
	Attrs                     map[string]string // values as text (string arrays as [a b])
	Resource                  map[string]string // the sending process's resource
	Links                     []string          // span ids this span links to
	Start                     time.Time
	Error                     bool // status code Error
}

// Receiver is a running receiver; URL is what OTEL_EXPORTER_OTLP_ENDPOINT takes.
type Receiver struct {
	URL string

	mu       sync.Mutex
	spans    []Span
	requests int
	changed  chan struct{}
}

// Start runs a receiver until the test ends. It answers POST /v1/traces.
func Start(tb testing.TB) *Receiver {
	tb.Helper()
	r := &Receiver{changed: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
			http.Error(w, "want POST /v1/traces", http.StatusNotFound)
			return
		}
		if err := r.receive(req); err != nil {
			tb.Errorf("otlptest: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ct := req.Header.Get("Content-Type")
		w.Header().Set("Content-Type", ct)
		var b []byte
		if ct == "application/json" {
			b, _ = protojson.Marshal(&collectortrace.ExportTraceServiceResponse{})
		} else {
			b, _ = proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		}
		_, _ = w.Write(b)
	}))
	tb.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *Receiver) receive(req *http.Request) error {
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		body = zr
	}
	b, err := io.ReadAll(io.LimitReader(body, 64<<20))
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	var msg collectortrace.ExportTraceServiceRequest
	switch ct := req.Header.Get("Content-Type"); ct {
	case "application/x-protobuf":
		err = proto.Unmarshal(b, &msg)
	case "application/json":
		err = protojson.Unmarshal(b, &msg)
	default:
		return fmt.Errorf("content type %q: want application/x-protobuf or application/json", ct)
	}
	if err != nil {
		return fmt.Errorf("decode ExportTraceServiceRequest: %w", err)
	}
	var got []Span
	for _, rs := range msg.GetResourceSpans() {
		res := attrs(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				sp := Span{
					TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
					ParentID: hex.EncodeToString(s.GetParentSpanId()), Name: s.GetName(), Kind: s.GetKind(),
					Attrs: attrs(s.GetAttributes()), Resource: res, Start: time.Unix(0, int64(s.GetStartTimeUnixNano())),
					Error: s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR,
				}
				for _, l := range s.GetLinks() {
					sp.Links = append(sp.Links, hex.EncodeToString(l.GetSpanId()))
				}
				got = append(got, sp)
			}
		}
	}
	r.mu.Lock()
	r.spans = append(r.spans, got...)
	r.requests++
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	return nil
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = text(kv.GetValue())
	}
	return m
}

func text(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *commonpb.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	case *commonpb.AnyValue_ArrayValue:
		parts := make([]string, 0, len(x.ArrayValue.GetValues()))
		for _, e := range x.ArrayValue.GetValues() {
			parts = append(parts, text(e))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprint(v)
}

// Spans returns every span received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.spans)
}

// Requests returns how many export requests were received.
func (r *Receiver) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// Wait returns the spans received once cond holds for them, or fails the test after timeout.
func (r *Receiver) Wait(tb testing.TB, timeout time.Duration, what string, cond func([]Span) bool) []Span {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		spans, ch := slices.Clone(r.spans), r.changed
		r.mu.Unlock()
		if cond(spans) {
			return spans
		}
		select {
		case <-ch:
		case <-deadline:
			tb.Fatalf("timed out after %v waiting for %s; received:\n%s", timeout, what, Tree(spans))
		}
	}
}

// Trace returns the spans of trace id.
func Trace(spans []Span, id string) []Span {
	var out []Span
	for _, s := range spans {
		if s.TraceID == id {
			out = append(out, s)
		}
	}
	return out
}

// Tree renders spans as indented trees, children under their parent (by start time), each
// line with the span's name, its resource's service.instance.id and its attributes.
func Tree(spans []Span) string {
	byID := map[string]bool{}
	children := map[string][]Span{}
	for _, s := range spans {
		byID[s.SpanID] = true
	}
	var roots []Span
	for _, s := range spans {
		if s.ParentID == "" || !byID[s.ParentID] {
			roots = append(roots, s)
			continue
		}
		children[s.ParentID] = append(children[s.ParentID], s)
	}
	order := func(ss []Span) {
		sort.SliceStable(ss, func(i, j int) bool { return ss[i].Start.Before(ss[j].Start) })
	}
	var b bytes.Buffer
	var walk func(s Span, depth int)
	walk = func(s Span, depth int) {
		fmt.Fprintf(&b, "%s%s [%s] node=%s", strings.Repeat("  ", depth), s.Name, strings.TrimPrefix(s.Kind.String(), "SPAN_KIND_"), s.Resource["service.instance.id"])
		if s.ParentID != "" && !byID[s.ParentID] {
			fmt.Fprintf(&b, " parent=%s (not received)", s.ParentID)
		}
		keys := make([]string, 0, len(s.Attrs))
		for k := range s.Attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%s", k, s.Attrs[k])
		}
		if s.Error {
			b.WriteString(" ERROR")
		}
		b.WriteString("\n")
		kids := children[s.SpanID]
		order(kids)
		for _, c := range kids {
			walk(c, depth+1)
		}
	}
	order(roots)
	for _, r := range roots {
		fmt.Fprintf(&b, "trace %s\n", r.TraceID)
		walk(r, 1)
	}
	return b.String()
}
