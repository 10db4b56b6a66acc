-- +goose Up
-- What a decision writes, made lighter.
--
-- The search text of the requests moves out of contacts. A decision updates indexed columns of
-- its contact (artisan_status, decided_at), so it is never a HOT update and every index of
-- contacts gets an entry for the new row version: with the trigram index of 0004 on contacts,
-- dozens of trigram entries per decision, for a text that a decision does not change.
--
-- request_search holds, for every artisan request (a contact whose artisan_status is not 'none'),
-- the text the list's search matches (first name, last name and email), with the trigram index.
-- Its row is written when the contact is, and rewritten only when one of those columns changes;
-- a decision does not touch it. The list queries join it only when they search
-- (queries/contacts.sql).
CREATE TABLE request_search (
    contact_id  BIGINT PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    search_text TEXT   NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION request_search_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO request_search (contact_id, search_text)
    VALUES (NEW.id, NEW.prenom || ' ' || NEW.nom || ' ' || NEW.email)
    ON CONFLICT (contact_id) DO UPDATE SET search_text = EXCLUDED.search_text;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER request_search_insert AFTER INSERT ON contacts
    FOR EACH ROW WHEN (NEW.artisan_status <> 'none') EXECUTE FUNCTION request_search_write();
-- A contact becomes a request only when it registers (CreateContact); its names and email may be
-- changed by an UPDATE that sets them, which rewrites its text. A decision sets none of these
-- columns, so this trigger is not even considered for it.
CREATE TRIGGER request_search_update AFTER UPDATE OF prenom, nom, email ON contacts
    FOR EACH ROW WHEN (NEW.artisan_status <> 'none'
        AND (OLD.prenom, OLD.nom, OLD.email) IS DISTINCT FROM (NEW.prenom, NEW.nom, NEW.email))
    EXECUTE FUNCTION request_search_write();

INSERT INTO request_search (contact_id, search_text)
SELECT id, prenom || ' ' || nom || ' ' || email FROM contacts WHERE artisan_status <> 'none';
CREATE INDEX request_search_text_idx ON request_search USING gin (search_text gin_trgm_ops);
DROP INDEX contacts_search_idx;
ANALYZE request_search;

-- The outbox trigger's WHEN (0006) called outbox_notify_due(), a SQL function: a trigger's WHEN is
-- not planned, so the function was not inlined, and a SQL function not inlined is parsed, analysed
-- and planned at each statement that calls it: at every decision. The WHEN now holds its
-- expression, built-in functions only (the trigger function still calls outbox_notify_due() at
-- commit, for the few rows that pass).
DROP TRIGGER outbox_notify ON outbox;
CREATE CONSTRAINT TRIGGER outbox_notify AFTER INSERT ON outbox DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (abs((extract(epoch FROM clock_timestamp()) * 1000)::bigint
                           - coalesce(pg_sequence_last_value('outbox_notified_at'), 0)) >= 10)
    EXECUTE FUNCTION outbox_notify();

-- +goose Down
DROP TRIGGER outbox_notify ON outbox;
CREATE CONSTRAINT TRIGGER outbox_notify AFTER INSERT ON outbox DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (outbox_notify_due()) EXECUTE FUNCTION outbox_notify();
CREATE INDEX contacts_search_idx ON contacts USING gin ((prenom || ' ' || nom || ' ' || email) gin_trgm_ops)
    WHERE artisan_status IN ('pending', 'approved', 'rejected');
DROP TRIGGER request_search_update ON contacts;
DROP TRIGGER request_search_insert ON contacts;
DROP FUNCTION request_search_write();
DROP TABLE request_search;
