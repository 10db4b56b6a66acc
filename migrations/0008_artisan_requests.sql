-- +goose Up
-- A request's decision state moves out of contacts into a narrow table of its own.
--
-- A decision rewrote the contact's row: the whole wide row (password hash and all), a new entry in
-- each index of contacts (it changed indexed columns, so never a HOT update), its two CHECK
-- constraints, and the decided_by foreign key, whose check locked the deciding PDG's contact row
-- (a tuple lock, WAL-logged, shared by every concurrent decision of that PDG). And the call that
-- lost a race locked the winner's new row version to re-check it (EvalPlanQual), a WAL record that
-- made its own commit wait for a flush.
--
-- artisan_requests holds one row per artisan request (a contact whose artisan_status was not
-- 'none'): its status, and once decided who decided, when, and why. created_at is the contact's
-- (the keyset of the lists). A decision replaces the pending row by the decided one: DELETE ...
-- WHERE status = 'pending' then INSERT, in one statement (queries/contacts.sql, DecideRequest).
-- A concurrent decider's DELETE waits for the winner and then finds the row deleted: it matches
-- nothing, locks nothing and writes nothing, so its commit has nothing to flush.
--
-- No foreign keys: their checks would lock the applicant's and the decider's contact rows at each
-- decision. A request is written only with its contact (CreateContact) and goes with it (the
-- trigger artisan_requests_forget); decided_by keeps the id of the PDG who decided, and the
-- readers join contacts, so a removed decider reads as none.
CREATE TABLE artisan_requests (
    contact_id      BIGINT         PRIMARY KEY,
    status          artisan_status NOT NULL,
    created_at      TIMESTAMPTZ    NOT NULL,
    decided_by      BIGINT,
    decided_at      TIMESTAMPTZ,
    decision_reason TEXT,
    CONSTRAINT artisan_requests_decision
        CHECK (status <> 'none' AND (status IN ('approved', 'rejected')) = (decided_at IS NOT NULL))
);
INSERT INTO artisan_requests (contact_id, status, created_at, decided_by, decided_at, decision_reason)
SELECT id, artisan_status, created_at, decided_by, decided_at, decision_reason
FROM contacts WHERE artisan_status <> 'none';
-- The keyset orders of the lists (0004): pending and every request by request time, the history
-- by decision time.
CREATE INDEX artisan_requests_pending_idx ON artisan_requests (created_at DESC, contact_id DESC) WHERE status = 'pending';
CREATE INDEX artisan_requests_created_idx ON artisan_requests (created_at DESC, contact_id DESC);
CREATE INDEX artisan_requests_decided_idx ON artisan_requests (decided_at DESC, contact_id DESC)
    WHERE status IN ('approved', 'rejected');
ANALYZE artisan_requests;

-- +goose StatementBegin
CREATE FUNCTION artisan_requests_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM artisan_requests WHERE contact_id = OLD.id;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER artisan_requests_forget AFTER DELETE ON contacts FOR EACH ROW EXECUTE FUNCTION artisan_requests_forget();

-- The search text (0007) is written with the request (CreateContact writes both; artisan_requests
-- has no trigger, which a decision's INSERT would pay for even when it does nothing) and rewritten
-- when the contact's names or email change.
DROP TRIGGER request_search_insert ON contacts;
DROP TRIGGER request_search_update ON contacts;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION request_search_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE request_search SET search_text = NEW.prenom || ' ' || NEW.nom || ' ' || NEW.email
    WHERE contact_id = NEW.id;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER request_search_update AFTER UPDATE OF prenom, nom, email ON contacts
    FOR EACH ROW WHEN ((OLD.prenom, OLD.nom, OLD.email) IS DISTINCT FROM (NEW.prenom, NEW.nom, NEW.email))
    EXECUTE FUNCTION request_search_write();

-- The decision as it stands (0006), read from artisan_requests: no row when the contact has no
-- request. The decider's name is a subquery on the primary key, not a join: the function's plan is
-- generic, and a join could be planned as a merge join with a sort.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION artisan_decision(contact BIGINT, OUT status artisan_status, OUT decided_by BIGINT, OUT decided_at TIMESTAMPTZ,
                                            OUT decision_reason TEXT, OUT decider_name TEXT)
LANGUAGE plpgsql VOLATILE STRICT AS $$
BEGIN
    SELECT r.status, r.decided_by, r.decided_at, r.decision_reason,
           (SELECT d.prenom || ' ' || d.nom FROM contacts AS d WHERE d.id = r.decided_by)
    INTO status, decided_by, decided_at, decision_reason, decider_name
    FROM artisan_requests AS r
    WHERE r.contact_id = contact;
END;
$$;
-- +goose StatementEnd

-- The outbox trigger's function (0006) checked again at commit by calling outbox_notify_due(), a SQL
-- function, which PL/pgSQL does not inline: it was parsed and planned at every call (every
-- notification, up to one per 10 ms while decisions flow). It holds the expression now, a simple
-- expression PL/pgSQL plans once per session.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF abs((extract(epoch FROM clock_timestamp()) * 1000)::bigint
           - coalesce(pg_sequence_last_value('outbox_notified_at'), 0)) >= 10 THEN
        PERFORM setval('outbox_notified_at', (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
        PERFORM pg_notify('outbox', '');
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- Their indexes, constraints and the decided_by foreign key go with the columns.
ALTER TABLE contacts
    DROP COLUMN demande_artisan,
    DROP COLUMN artisan_status,
    DROP COLUMN decided_by,
    DROP COLUMN decided_at,
    DROP COLUMN decision_reason;

-- +goose Down
-- contacts is made again with its columns in their order: the table is renamed away, made again as
-- it was, filled from both tables, and the references to it moved over.
ALTER TABLE contacts RENAME TO contacts_0008;
ALTER INDEX contacts_pkey RENAME TO contacts_0008_pkey;
ALTER INDEX contacts_email_key RENAME TO contacts_0008_email_key;
ALTER SEQUENCE contacts_id_seq RENAME TO contacts_0008_id_seq;
CREATE TABLE contacts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    prenom          TEXT           NOT NULL,
    nom             TEXT           NOT NULL,
    email           TEXT           NOT NULL UNIQUE,
    password_hash   TEXT           NOT NULL,
    type_compte     account_type   NOT NULL,
    demande_artisan BOOLEAN        NOT NULL DEFAULT FALSE,
    artisan_status  artisan_status NOT NULL DEFAULT 'none',
    decided_by      BIGINT         REFERENCES contacts (id) ON DELETE SET NULL,
    decided_at      TIMESTAMPTZ,
    decision_reason TEXT,
    token_version   INTEGER        NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ    NOT NULL DEFAULT now(),
    CONSTRAINT contacts_pending_flag CHECK (demande_artisan = (artisan_status = 'pending')),
    CONSTRAINT contacts_decision CHECK ((artisan_status IN ('approved', 'rejected')) = (decided_at IS NOT NULL))
);
INSERT INTO contacts (id, prenom, nom, email, password_hash, type_compte, demande_artisan, artisan_status,
                      decided_by, decided_at, decision_reason, token_version, created_at)
OVERRIDING SYSTEM VALUE
SELECT c.id, c.prenom, c.nom, c.email, c.password_hash, c.type_compte, COALESCE(r.status = 'pending', FALSE),
       COALESCE(r.status, 'none'), d.id, r.decided_at, r.decision_reason, c.token_version, c.created_at
FROM contacts_0008 AS c
LEFT JOIN artisan_requests AS r ON r.contact_id = c.id
LEFT JOIN contacts_0008 AS d ON d.id = r.decided_by;
SELECT setval('contacts_id_seq', last_value, is_called) FROM contacts_0008_id_seq;
ALTER TABLE employees DROP CONSTRAINT employees_contact_id_fkey,
    ADD CONSTRAINT employees_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE CASCADE;
ALTER TABLE request_search DROP CONSTRAINT request_search_contact_id_fkey,
    ADD CONSTRAINT request_search_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE CASCADE;
DROP TABLE contacts_0008;
CREATE INDEX contacts_pending_idx ON contacts (created_at DESC, id DESC) WHERE artisan_status = 'pending';
CREATE INDEX contacts_requests_idx ON contacts (created_at DESC, id DESC)
    WHERE artisan_status IN ('pending', 'approved', 'rejected');
CREATE INDEX contacts_decided_idx ON contacts (decided_at DESC, id DESC)
    WHERE artisan_status IN ('approved', 'rejected');
ANALYZE contacts;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION artisan_decision(contact BIGINT, OUT status artisan_status, OUT decided_by BIGINT, OUT decided_at TIMESTAMPTZ,
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

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION request_search_write() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER request_search_update AFTER UPDATE OF prenom, nom, email ON contacts
    FOR EACH ROW WHEN (NEW.artisan_status <> 'none'
        AND (OLD.prenom, OLD.nom, OLD.email) IS DISTINCT FROM (NEW.prenom, NEW.nom, NEW.email))
    EXECUTE FUNCTION request_search_write();
DROP TABLE artisan_requests;
DROP FUNCTION artisan_requests_forget();
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
