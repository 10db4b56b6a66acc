package tracing

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"
)

// QueryTracer is a pgx.QueryTracer that records a client span for each query run under a
// recording span (a traced request's transaction), named by the query: sqlc's query name
// ("-- name: DecideRequest :one" gives DecideRequest), else the statement's first word
// (BEGIN, COMMIT). Queries outside a traced operation (the relay's polls, the caches'
// loads) record nothing. Neither the query's text nor its arguments are recorded: they hold
// emails and password hashes.
type QueryTracer struct{}

var _ pgx.QueryTracer = QueryTracer{}

type querySpanKey struct{}

// TraceQueryStart implements pgx.QueryTracer.
func (QueryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx
	}
	name := QueryName(data.SQL)
	ctx, span := Child(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(semconv.DBSystemNamePostgreSQL, semconv.DBQuerySummary(name)))
	return context.WithValue(ctx, querySpanKey{}, span)
}

// TraceQueryEnd implements pgx.QueryTracer.
func (QueryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	span, ok := ctx.Value(querySpanKey{}).(trace.Span)
	if !ok {
		return
	}
	err := data.Err
	if errors.Is(err, pgx.ErrNoRows) {
		err = nil // an answer (a decision that matched no pending request), not a failure
	}
	if err == nil {
		span.SetAttributes(semconv.DBResponseReturnedRows(int(data.CommandTag.RowsAffected())))
	}
	End(span, err)
}

// QueryName returns the name of a query for its span: sqlc's name, else the first word of
// the statement in upper case, else "SQL".
func QueryName(sql string) string {
	sql = strings.TrimSpace(sql)
	if rest, ok := strings.CutPrefix(sql, "-- name: "); ok {
		line, _, _ := strings.Cut(rest, "\n")
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], ":") {
			return f[0]
		}
		return "SQL"
	}
	f := strings.Fields(sql)
	if len(f) == 0 || strings.HasPrefix(f[0], "--") || strings.HasPrefix(f[0], "/*") {
		return "SQL"
	}
	return strings.ToUpper(f[0])
}
