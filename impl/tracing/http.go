package tracing

import (
	"context"
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
// by route (else by the method alone), with the method and the route's attributes. The span's
// context is the request's, so that what next starts and logs with it belongs to the trace; next
// records the response's status on it with ResponseStatus (the REST middleware's observer does,
// as it sees the status of every answer, rejections and recovered panics included). Incoming
// traceparent headers are ignored: a client would otherwise choose which requests are sampled and
// join them to its own traces.
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
		defer span.End()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ResponseStatus records the status of the response to the request of ctx on its server span
// (HTTPServer's): as an attribute, and as the span's error for a 5xx. Without a recording span
// (tracing off, not sampled) it does nothing.
func ResponseStatus(ctx context.Context, status int) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}
