-- +goose Up
-- The account types and artisan statuses become enum types, so that the database refuses any other
-- value and sqlc generates typed values (db.AccountType, db.ArtisanStatus) with their constants.
-- The constraints and the partial index that compare these columns to text are dropped and made
-- again for the new types.
CREATE TYPE account_type AS ENUM ('Client', 'Artisan/Promoteur');
CREATE TYPE artisan_status AS ENUM ('none', 'pending', 'approved', 'rejected');

DROP INDEX contacts_pending_idx;
ALTER TABLE contacts
    DROP CONSTRAINT contacts_type_compte_check,
    DROP CONSTRAINT contacts_artisan_status_check,
    DROP CONSTRAINT contacts_pending_flag,
    DROP CONSTRAINT contacts_decision,
    ALTER COLUMN artisan_status DROP DEFAULT;
ALTER TABLE contacts
    ALTER COLUMN type_compte TYPE account_type USING type_compte::account_type,
    ALTER COLUMN artisan_status TYPE artisan_status USING artisan_status::artisan_status,
    ALTER COLUMN artisan_status SET DEFAULT 'none',
    ADD CONSTRAINT contacts_pending_flag CHECK (demande_artisan = (artisan_status = 'pending')),
    ADD CONSTRAINT contacts_decision CHECK ((artisan_status IN ('approved', 'rejected')) = (decided_at IS NOT NULL));
CREATE INDEX contacts_pending_idx ON contacts (created_at DESC, id DESC) WHERE artisan_status = 'pending';

-- +goose Down
DROP INDEX contacts_pending_idx;
ALTER TABLE contacts
    DROP CONSTRAINT contacts_pending_flag,
    DROP CONSTRAINT contacts_decision,
    ALTER COLUMN artisan_status DROP DEFAULT;
ALTER TABLE contacts
    ALTER COLUMN type_compte TYPE TEXT USING type_compte::text,
    ALTER COLUMN artisan_status TYPE TEXT USING artisan_status::text,
    ALTER COLUMN artisan_status SET DEFAULT 'none',
    ADD CONSTRAINT contacts_type_compte_check CHECK (type_compte IN ('Client', 'Artisan/Promoteur')),
    ADD CONSTRAINT contacts_artisan_status_check CHECK (artisan_status IN ('none', 'pending', 'approved', 'rejected')),
    ADD CONSTRAINT contacts_pending_flag CHECK (demande_artisan = (artisan_status = 'pending')),
    ADD CONSTRAINT contacts_decision CHECK ((artisan_status IN ('approved', 'rejected')) = (decided_at IS NOT NULL));
CREATE INDEX contacts_pending_idx ON contacts (created_at DESC, id DESC) WHERE artisan_status = 'pending';
DROP TYPE artisan_status;
DROP TYPE account_type;
