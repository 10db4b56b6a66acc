-- +goose Up
-- A request goes with its contact (0008, 0009), also when the contacts are emptied at once:
-- TRUNCATE fires no row trigger, and artisan_requests has no foreign key for CASCADE to follow
-- (0008 says why), so TRUNCATE contacts CASCADE left every request behind, counted by
-- CountRequests and listed without a contact. A statement trigger empties it with them.
-- +goose StatementBegin
CREATE FUNCTION artisan_requests_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE artisan_requests;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER artisan_requests_truncate AFTER TRUNCATE ON contacts
    FOR EACH STATEMENT EXECUTE FUNCTION artisan_requests_truncate();

-- +goose Down
DROP TRIGGER artisan_requests_truncate ON contacts;
DROP FUNCTION artisan_requests_truncate();
