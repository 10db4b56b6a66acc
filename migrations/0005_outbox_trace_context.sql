-- +goose Up
-- The W3C trace context of the operation that wrote the event (a traced REST request), so that
-- every node's relay records its delivery in the same trace: the traceparent header's value,
-- then, when there is a tracestate, a space and the tracestate header's value. NULL when
-- tracing was off. Written by the same INSERT as the event.
ALTER TABLE outbox ADD COLUMN trace_context TEXT;

-- +goose Down
ALTER TABLE outbox DROP COLUMN trace_context;
