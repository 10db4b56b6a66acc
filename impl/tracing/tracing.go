// Package tracing is the server's OpenTelemetry tracing: the tracer provider (an OTLP/HTTP
// exporter, or a no-op when no endpoint is configured), spans started under the caller's span,
// the W3C trace context carried in the outbox from a request to every node's relay, a pgx
// query tracer and a slog handler that stamps records with their trace and span ids.
//
// Nothing here is global: the provider is passed to what starts root spans (the REST server
// and the relay); everything below them starts its spans from the provider of the span in its
// context (Child), so that with tracing off they cost a context lookup.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Scope is the instrumentation scope (tracer name) of the spans this module starts.
const Scope = "github.com/artisan-notify/artisan-notify"

// Options configures New.
type Options struct {
	// Endpoint is the OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, as config.Load found it); empty: tracing is off.
	// The exporter reads the endpoint and its other settings (headers, timeout, compression,
	// certificates) from the environment itself, the SDK the sampler (OTEL_TRACES_SAMPLER) and
	// the batching (OTEL_BSP_*), and the resource OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
	Endpoint string
	// NodeID is this node's name: the resource's service.instance.id.
	NodeID string
	// Version is the build's version: the resource's service.version (omitted when empty).
	Version string
}

// Tracing is the node's tracer provider and what flushes it.
type Tracing struct {
	provider trace.TracerProvider
	sdk      *sdktrace.TracerProvider // nil when off
}

// Off returns tracing that records nothing, at next to no cost.
func Off() *Tracing { return &Tracing{provider: noop.NewTracerProvider()} }

// New returns tracing that exports spans in batches over OTLP/HTTP (protobuf) to opts.Endpoint,
// or Off when opts.Endpoint is empty. Export errors are logged on log (the OpenTelemetry SDK
// reports them through its process-wide error handler, which New sets).
// It returns an error if the exporter or the resource cannot be built from the environment.
func New(ctx context.Context, opts Options, log *slog.Logger) (*Tracing, error) {
	if opts.Endpoint == "" {
		return Off(), nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	attrs := []attribute.KeyValue{semconv.ServiceName("artisan-notify"), semconv.ServiceInstanceID(opts.NodeID)}
	if opts.Version != "" {
		attrs = append(attrs, semconv.ServiceVersion(opts.Version))
	}
	// Later sources win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the defaults.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(attrs...), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("tracing: resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("tracing: export", "err", err) }))
	// The sampler is the SDK's default (parent-based, always on) unless OTEL_TRACES_SAMPLER says otherwise.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{provider: tp, sdk: tp}, nil
}

// WithProvider returns tracing on a provider built elsewhere (tests record spans in memory);
// Shutdown flushes it when it is the SDK's.
func WithProvider(tp trace.TracerProvider) *Tracing {
	t := &Tracing{provider: tp}
	t.sdk, _ = tp.(*sdktrace.TracerProvider)
	return t
}

// Enabled reports whether spans are exported.
func (t *Tracing) Enabled() bool { return t.sdk != nil }

// TracerProvider is the provider of the node's root spans (the REST server's, the relay's).
func (t *Tracing) TracerProvider() trace.TracerProvider { return t.provider }

// Shutdown exports the spans still buffered and stops the exporter, within ctx's deadline.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.sdk == nil {
		return nil
	}
	if err := t.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: flush: %w", err)
	}
	return nil
}

// ShutdownTimeout bounds the final flush of Shutdown as the server calls it.
const ShutdownTimeout = 5 * time.Second

// Child starts a span named name under the span in ctx, from the same provider. When ctx holds
// no recording span (tracing off, or this trace not sampled) it starts nothing: it returns ctx
// and that non-recording span, whose methods do nothing.
func Child(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, parent
	}
	return parent.TracerProvider().Tracer(Scope).Start(ctx, name, opts...)
}

// End ends span, recording err (when not nil) as the span's error.
func End(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
