-- +goose Up
-- Contacts are every registered user. An artisan request is a contact whose
-- artisan_status is not 'none'; demande_artisan mirrors "pending" for the
-- clients of the original system that read it.
CREATE TABLE contacts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    prenom          TEXT        NOT NULL,
    nom             TEXT        NOT NULL,
    email           TEXT        NOT NULL UNIQUE,
    password_hash   TEXT        NOT NULL,
    type_compte     TEXT        NOT NULL CHECK (type_compte IN ('Client', 'Artisan/Promoteur')),
    demande_artisan BOOLEAN     NOT NULL DEFAULT FALSE,
    artisan_status  TEXT        NOT NULL DEFAULT 'none'
                                CHECK (artisan_status IN ('none', 'pending', 'approved', 'rejected')),
    decided_by      BIGINT      REFERENCES contacts (id) ON DELETE SET NULL,
    decided_at      TIMESTAMPTZ,
    decision_reason TEXT,
    token_version   INTEGER     NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT contacts_pending_flag CHECK (demande_artisan = (artisan_status = 'pending')),
    CONSTRAINT contacts_decision CHECK ((artisan_status IN ('approved', 'rejected')) = (decided_at IS NOT NULL))
);

-- The PDG list and count read only pending requests, newest first.
CREATE INDEX contacts_pending_idx ON contacts (created_at DESC, id DESC) WHERE artisan_status = 'pending';

CREATE TABLE employees (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id BIGINT NOT NULL UNIQUE REFERENCES contacts (id) ON DELETE CASCADE,
    role       TEXT   NOT NULL
);

-- The transactional outbox: every Socket.IO event is written in the same
-- transaction as the change that causes it, and relayed to the sockets after
-- commit. tx is the writing transaction's id, so that a relay can read the
-- rows of finished transactions only (see queries/outbox.sql).
CREATE TABLE outbox (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx         BIGINT      NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    event      TEXT        NOT NULL,
    rooms      TEXT[]      NOT NULL,
    payload    JSONB       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX outbox_tx_idx ON outbox (tx, id);

-- Wakes the relays at commit (NOTIFY is delivered only when the transaction commits).
-- +goose StatementBegin
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Each server node's relay records how far it has delivered.
CREATE TABLE relay_progress (
    node_id    TEXT        PRIMARY KEY,
    watermark  BIGINT      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
