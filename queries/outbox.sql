-- name: InsertOutbox :exec
-- InsertOutbox records an event in the caller's transaction, with the trace context of the
-- operation that caused it (NULL when not traced).
INSERT INTO outbox (event, rooms, payload, trace_context) VALUES (@event, @rooms, @payload, sqlc.narg(trace_context));

-- name: CurrentSnapshot :one
-- CurrentSnapshot returns the current snapshot: every transaction below xmax that is not in
-- in_progress (top-level transaction ids only, across the whole server) has committed or
-- aborted, so its outbox rows are final.
SELECT pg_snapshot_xmax(s)::text::bigint AS xmax,
       ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(s) AS x)::bigint[] AS in_progress
FROM pg_current_snapshot() AS s;

-- name: ListOutboxFinished :many
-- ListOutboxFinished returns the committed events of the transactions in [from_tx, to_tx) or in
-- earlier (a list of ids), except those of the transactions still in progress (a list of ids),
-- in transaction id order, then in write order within a transaction.
SELECT id, tx, event, rooms, payload, created_at, trace_context
FROM outbox
WHERE ((tx >= @from_tx AND tx < @to_tx) OR tx = ANY(@earlier::bigint[]))
  AND tx <> ALL(@in_progress::bigint[])
ORDER BY tx, id;

-- name: OutboxBacklog :one
-- OutboxBacklog returns how many committed events from transaction from_tx on, or of the
-- transactions in earlier, are waiting, and for how long the oldest of them has waited (0 when none).
SELECT count(*)::bigint AS events,
       COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0)::float8 AS oldest_age_seconds
FROM outbox
WHERE tx >= @from_tx OR tx = ANY(@earlier::bigint[]);

-- name: GetRelayProgress :one
SELECT watermark, in_progress FROM relay_progress WHERE node_id = @node_id;

-- name: SaveRelayProgress :exec
INSERT INTO relay_progress (node_id, watermark, in_progress, updated_at)
VALUES (@node_id, @watermark, @in_progress::bigint[], now())
ON CONFLICT (node_id) DO UPDATE
SET watermark = EXCLUDED.watermark, in_progress = EXCLUDED.in_progress, updated_at = now();

-- name: PruneOutbox :execrows
-- PruneOutbox deletes up to max_rows events older than the retention window, oldest first (by
-- the created_at index, then each row by its primary key), so that each call is a short transaction.
DELETE FROM outbox
WHERE id = ANY(ARRAY(SELECT o.id FROM outbox AS o WHERE o.created_at < @before ORDER BY o.created_at LIMIT @max_rows));
