-- name: InsertOutbox :exec
-- InsertOutbox records an event in the caller's transaction.
INSERT INTO outbox (event, rooms, payload) VALUES (@event, @rooms, @payload);

-- name: FinishedTxHorizon :one
-- FinishedTxHorizon returns the oldest transaction id still running: every
-- transaction below it has committed or aborted, so its outbox rows are final.
SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS horizon;

-- name: ListOutboxBetween :many
-- ListOutboxBetween returns the events of transactions in [from_tx, to_tx), in commit-safe order.
SELECT id, tx, event, rooms, payload, created_at
FROM outbox
WHERE tx >= @from_tx AND tx < @to_tx
ORDER BY tx, id;

-- name: OutboxBacklog :one
-- OutboxBacklog returns how many committed events from transaction from_tx on are waiting, and
-- for how long the oldest of them has waited (0 when none).
SELECT count(*)::bigint AS events,
       COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0)::float8 AS oldest_age_seconds
FROM outbox
WHERE tx >= @from_tx;

-- name: GetRelayWatermark :one
SELECT watermark FROM relay_progress WHERE node_id = @node_id;

-- name: SaveRelayWatermark :exec
INSERT INTO relay_progress (node_id, watermark, updated_at) VALUES (@node_id, @watermark, now())
ON CONFLICT (node_id) DO UPDATE SET watermark = EXCLUDED.watermark, updated_at = now();

-- name: PruneOutbox :execrows
-- PruneOutbox deletes events older than the retention window.
DELETE FROM outbox WHERE created_at < @before;
