package otlptest_test

import (
	"bytes"
	"net/http"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/artisan-notify/artisan-notify/impl/otlptest"
)

// The receiver decodes both OTLP/HTTP encodings: protobuf (what the server's exporter sends)
// and JSON; anything else is refused.
func TestReceiverDecodesProtobufAndJSON(t *testing.T) {
	r := otlptest.Start(t)
	req := &collectortrace.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			{Key: "service.instance.id", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "n1"}}},
		}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
			TraceId: bytes.Repeat([]byte{1}, 16), SpanId: bytes.Repeat([]byte{2}, 8), Name: "op",
			Attributes: []*commonpb.KeyValue{{Key: "n", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 2}}}},
		}}}},
	}}}
	pb, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	js, err := protojson.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ct   string
		body []byte
		want int
	}{
		{"application/x-protobuf", pb, http.StatusOK},
		{"application/json", js, http.StatusOK},
	} {
		res, err := http.Post(r.URL+"/v1/traces", tc.ct, bytes.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.ct, res.StatusCode, tc.want)
		}
	}
	spans := r.Spans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	for _, s := range spans {
		if s.Name != "op" || s.TraceID != "01010101010101010101010101010101" || s.SpanID != "0202020202020202" ||
			s.ParentID != "" || s.Attrs["n"] != "2" || s.Resource["service.instance.id"] != "n1" {
			t.Errorf("decoded %+v", s)
		}
	}
}
