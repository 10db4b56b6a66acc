package tracing

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"
)

// Route names a request for its span: the name of the operation it reaches and the operation's
// attributes (its path template, its id); "" when it reaches none.
type Route func(r *http.Request) (name string, attrs []attribute.KeyValue)

// HTTPServer returns next with a server span around each request, the root of its trace: named
// by route (else by the method alone), with the method, the route's attributes and the response
// status; a 5xx is the span's error. The span's context is the request's, so that what next
// starts and logs with it belongs to the trace. Incoming traceparent headers are ignored: a
// client would otherwise choose which requests are sampled and join them to its own traces.
//
// Tracing off, the caller does not wrap next at all (no cost).
func HTTPServer(tp trace.TracerProvider, route Route, next http.Handler) http.Handler {
	tracer := tp.Tracer(Scope + "/http")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, attrs := route(r)
		if name == "" {
			name = r.Method
		}
		ctx, span := tracer.Start(r.Context(), name, trace.WithSpanKind(trace.SpanKindServer), trace.WithNewRoot(),
			trace.WithAttributes(append(attrs, semconv.HTTPRequestMethodKey.String(r.Method))...))
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			span.SetAttributes(semconv.HTTPResponseStatusCode(status))
			if status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			span.End()
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
	})
}

// statusRecorder keeps the first status written through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
