-- name: CreateContact :one
-- CreateContact inserts a contact; a duplicate email violates contacts_email_key. It returns the
-- columns of GetUser (a new contact is no PDG).
INSERT INTO contacts (prenom, nom, email, password_hash, type_compte, demande_artisan, artisan_status)
VALUES (@prenom, @nom, @email, @password_hash, @type_compte, @artisan_status::artisan_status = 'pending', @artisan_status)
RETURNING id, prenom, nom, email, type_compte, demande_artisan, artisan_status, token_version,
          FALSE AS is_pdg, created_at;

-- name: GetCredentialsByEmail :one
-- GetCredentialsByEmail returns what login needs to check a password.
SELECT id, password_hash FROM contacts WHERE email = @email;

-- name: GetUser :one
-- GetUser returns a contact with its PDG right. CreateContact and ListPDG return the same
-- columns, in the same order, so that one function maps them all to a user.
SELECT c.id, c.prenom, c.nom, c.email, c.type_compte, c.demande_artisan, c.artisan_status, c.token_version,
       EXISTS (SELECT 1 FROM employees e WHERE e.contact_id = c.id AND e.role = 'PDG') AS is_pdg, c.created_at
FROM contacts c
WHERE c.id = @id;

-- name: ListPendingRequests :many
-- ListPendingRequests returns pending artisan requests, newest first (ties: higher id first).
SELECT id, prenom, nom, email, type_compte, created_at
FROM contacts
WHERE artisan_status = 'pending'
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: CountPendingRequests :one
SELECT count(*) FROM contacts WHERE artisan_status = 'pending';

-- name: DecideRequest :one
-- DecideRequest moves a pending request to approved or rejected; no row when it is not pending.
UPDATE contacts
SET artisan_status  = @status,
    demande_artisan = FALSE,
    decided_by      = @decided_by,
    decided_at      = now(),
    decision_reason = sqlc.narg(reason)
WHERE id = @id AND artisan_status = 'pending'
RETURNING id, prenom, nom, email;

-- name: GetArtisanStatus :one
SELECT artisan_status FROM contacts WHERE id = @id;
