-- +goose Up
-- The PDG's day: the list of artisan requests by status (pending, approved, rejected, all), a page at
-- a time in keyset order, with a search on names and email.
--   pending: contacts_pending_idx (created_at DESC, id DESC), from 0001.
--   all: every request ever made, newest request first.
--   approved, rejected (the history): newest decision first.
CREATE INDEX contacts_requests_idx ON contacts (created_at DESC, id DESC)
    WHERE artisan_status IN ('pending', 'approved', 'rejected');
CREATE INDEX contacts_decided_idx ON contacts (decided_at DESC, id DESC)
    WHERE artisan_status IN ('approved', 'rejected');

-- The search (ILIKE '%text%' on first name, last name and email) uses trigrams: pg_trgm ships with
-- PostgreSQL (contrib) and is a trusted extension, so the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX contacts_search_idx ON contacts USING gin ((prenom || ' ' || nom || ' ' || email) gin_trgm_ops)
    WHERE artisan_status IN ('pending', 'approved', 'rejected');

-- +goose Down
DROP INDEX contacts_search_idx;
DROP INDEX contacts_decided_idx;
DROP INDEX contacts_requests_idx;
