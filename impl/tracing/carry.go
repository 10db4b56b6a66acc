package tracing

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Carry returns the W3C trace context of the span in ctx as the outbox's trace_context column
// holds it: the traceparent header's value, then, when the span has a tracestate, a space and
// the tracestate header's value. It returns nil when ctx holds no span (tracing off). An
// unsampled span is carried too, so that every relay makes the same sampling decision.
func Carry(ctx context.Context) *string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	var c carrier
	propagation.TraceContext{}.Inject(ctx, &c)
	if c.parent == "" {
		return nil
	}
	v := c.parent
	if c.state != "" {
		v += " " + c.state
	}
	return &v
}

// Resume returns ctx with the remote span context carried by v (as Carry wrote it) as the
// parent of the spans started from it; ctx itself when v is nil or not a valid trace context.
func Resume(ctx context.Context, v *string) context.Context {
	if v == nil || *v == "" {
		return ctx
	}
	parent, state, _ := strings.Cut(*v, " ") // a traceparent holds no space
	return propagation.TraceContext{}.Extract(ctx, &carrier{parent: parent, state: state})
}

// carrier is a propagation.TextMapCarrier of the two W3C trace context headers, without a map.
type carrier struct{ parent, state string }

const (
	traceparent = "traceparent"
	tracestate  = "tracestate"
)

func (c *carrier) Get(key string) string {
	switch key {
	case traceparent:
		return c.parent
	case tracestate:
		return c.state
	}
	return ""
}

func (c *carrier) Set(key, value string) {
	switch key {
	case traceparent:
		c.parent = value
	case tracestate:
		c.state = value
	}
}

func (c *carrier) Keys() []string { return []string{traceparent, tracestate} }
