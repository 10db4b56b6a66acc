-- +goose Up
-- A request goes with its contact (0008), also when the contact is deleted while a decision of
-- its request is being written. The decision replaces the pending row by the decided one; the
-- deletion's DELETE, whose snapshot was taken before the decision committed, waits for the pending
-- row, finds it deleted and skips it, and cannot see the decided row. When it deleted nothing, a
-- second DELETE, with a snapshot taken after the decision committed, removes the decided row.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION artisan_requests_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM artisan_requests WHERE contact_id = OLD.id;
    IF NOT FOUND THEN
        DELETE FROM artisan_requests WHERE contact_id = OLD.id;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION artisan_requests_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM artisan_requests WHERE contact_id = OLD.id;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
