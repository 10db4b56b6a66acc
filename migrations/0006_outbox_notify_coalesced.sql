-- +goose Up
-- The relays are woken by NOTIFY outbox. Sent at every commit that writes an event, it cost each
-- such commit a cluster-wide lock held through its WAL flush (NOTIFY keeps commit order) and
-- each relay a wake-up per event; and the statement-level trigger of 0001 fired even when an
-- INSERT ... SELECT wrote no row, so a decision that lost its race got a transaction id, a flush
-- and a NOTIFY of its own.
--
-- Now an event notifies only when no notification was sent in the last 10 ms. outbox_notified_at
-- holds the time of the last one (milliseconds since the epoch; an unlogged sequence: read and set
-- outside transactions, without WAL). The row trigger's WHEN reads it with built-in functions as
-- the row is written, so most rows call nothing; for a row that may notify, the trigger runs at
-- commit (deferred), checks again, records the time and notifies. A relay woken by a notification
-- keeps reading for twice that interval, then polls while the transactions it saw in progress
-- may still commit, so the events whose commit skipped the NOTIFY are read as well (impl/relay,
-- NotifyInterval).
CREATE UNLOGGED SEQUENCE outbox_notified_at MINVALUE 0 START 0;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION outbox_notify_due() RETURNS boolean LANGUAGE sql VOLATILE AS $$
    SELECT abs((extract(epoch FROM clock_timestamp()) * 1000)::bigint
               - coalesce(pg_sequence_last_value('outbox_notified_at'), 0)) >= 10
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF outbox_notify_due() THEN
        PERFORM setval('outbox_notified_at', (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
        PERFORM pg_notify('outbox', '');
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
DROP TRIGGER outbox_notify ON outbox;
CREATE CONSTRAINT TRIGGER outbox_notify AFTER INSERT ON outbox DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (outbox_notify_due()) EXECUTE FUNCTION outbox_notify();

-- The decision of a request as it stands when called, not as of the calling statement's start:
-- the function is VOLATILE, so its query takes a snapshot of its own. A decision that lost its
-- race (its UPDATE waited for the winner's row lock, then matched nothing) reads the winner's
-- outcome with it, in the same statement (queries/contacts.sql, DecideRequest). STRICT: called with
-- NULL (the winner's case), it is not called at all.
-- +goose StatementBegin
CREATE FUNCTION artisan_decision(contact BIGINT, OUT status artisan_status, OUT decided_by BIGINT, OUT decided_at TIMESTAMPTZ,
                                 OUT decision_reason TEXT, OUT decider_name TEXT)
LANGUAGE plpgsql VOLATILE STRICT AS $$
BEGIN
    SELECT c.artisan_status, c.decided_by, c.decided_at, c.decision_reason, d.prenom || ' ' || d.nom
    INTO status, decided_by, decided_at, decision_reason, decider_name
    FROM contacts AS c LEFT JOIN contacts AS d ON d.id = c.decided_by
    WHERE c.id = contact;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION artisan_decision(BIGINT);
DROP TRIGGER outbox_notify ON outbox;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
DROP FUNCTION outbox_notify_due();
DROP SEQUENCE outbox_notified_at;
