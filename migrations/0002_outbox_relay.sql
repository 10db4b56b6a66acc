-- +goose Up
-- The relay prunes delivered events by age, a few thousand at a time, oldest first.
CREATE INDEX outbox_created_at_idx ON outbox (created_at);

-- A relay reads up to the end of a snapshot (watermark = the snapshot's xmax) and delivers the
-- events of every transaction below it that has finished, except those still in progress in that
-- snapshot: their ids are kept in in_progress, and their events are delivered when they commit.
-- Every transaction below watermark not listed in in_progress is delivered.
ALTER TABLE relay_progress ADD COLUMN in_progress BIGINT[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE relay_progress DROP COLUMN in_progress;
DROP INDEX outbox_created_at_idx;
