-- name: CreateContact :one
-- CreateContact inserts a contact; a duplicate email violates contacts_email_key. It returns the
-- columns of GetUser (a new contact is no PDG).
INSERT INTO contacts (prenom, nom, email, password_hash, type_compte, demande_artisan, artisan_status)
VALUES (@prenom, @nom, @email, @password_hash, @type_compte, @artisan_status::artisan_status = 'pending', @artisan_status)
RETURNING id, prenom, nom, email, type_compte, demande_artisan, artisan_status, token_version,
          FALSE AS is_pdg, created_at, decided_at, decision_reason;

-- name: GetCredentialsByEmail :one
-- GetCredentialsByEmail returns what login needs to check a password.
SELECT id, password_hash FROM contacts WHERE email = @email;

-- name: GetUser :one
-- GetUser returns a contact with its PDG right. CreateContact and ListPDG return the same
-- columns, in the same order, so that one function maps them all to a user.
SELECT c.id, c.prenom, c.nom, c.email, c.type_compte, c.demande_artisan, c.artisan_status, c.token_version,
       EXISTS (SELECT 1 FROM employees e WHERE e.contact_id = c.id AND e.role = 'PDG') AS is_pdg, c.created_at,
       c.decided_at, c.decision_reason
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

-- name: ListPendingPage :many
-- ListPendingPage returns a page of the pending requests, newest request first (ties: higher id
-- first), after the keyset (before_at, before_id), whose text (first name, last name, email) matches
-- the ILIKE pattern when one is given. The decider's columns are NULL (no decision yet).
SELECT c.id, c.prenom, c.nom, c.email, c.type_compte, c.created_at, c.artisan_status,
       c.decided_at, c.decision_reason, c.decided_by, d.prenom AS decider_prenom, d.nom AS decider_nom
FROM contacts c LEFT JOIN contacts d ON d.id = c.decided_by
WHERE c.artisan_status = 'pending'
  AND (c.created_at, c.id) < (@before_at::timestamptz, @before_id::bigint)
  AND (sqlc.narg(pattern)::text IS NULL OR (c.prenom || ' ' || c.nom || ' ' || c.email) ILIKE sqlc.narg(pattern)::text)
ORDER BY c.created_at DESC, c.id DESC
LIMIT @max_rows;

-- name: ListAllRequestsPage :many
-- ListAllRequestsPage returns a page of every request ever made (pending or decided), like ListPendingPage.
-- The decider's name is NULL when that contact was removed.
SELECT c.id, c.prenom, c.nom, c.email, c.type_compte, c.created_at, c.artisan_status,
       c.decided_at, c.decision_reason, c.decided_by, d.prenom AS decider_prenom, d.nom AS decider_nom
FROM contacts c LEFT JOIN contacts d ON d.id = c.decided_by
WHERE c.artisan_status IN ('pending', 'approved', 'rejected')
  AND (c.created_at, c.id) < (@before_at::timestamptz, @before_id::bigint)
  AND (sqlc.narg(pattern)::text IS NULL OR (c.prenom || ' ' || c.nom || ' ' || c.email) ILIKE sqlc.narg(pattern)::text)
ORDER BY c.created_at DESC, c.id DESC
LIMIT @max_rows;

-- name: ListDecidedPage :many
-- ListDecidedPage returns a page of the requests decided with status (approved or rejected), newest
-- decision first (ties: higher id first), after the keyset (before_at, before_id), like ListPendingPage.
SELECT c.id, c.prenom, c.nom, c.email, c.type_compte, c.created_at, c.artisan_status,
       c.decided_at, c.decision_reason, c.decided_by, d.prenom AS decider_prenom, d.nom AS decider_nom
FROM contacts c LEFT JOIN contacts d ON d.id = c.decided_by
WHERE c.artisan_status = @status AND c.artisan_status IN ('approved', 'rejected')
  AND (c.decided_at, c.id) < (@before_at::timestamptz, @before_id::bigint)
  AND (sqlc.narg(pattern)::text IS NULL OR (c.prenom || ' ' || c.nom || ' ' || c.email) ILIKE sqlc.narg(pattern)::text)
ORDER BY c.decided_at DESC, c.id DESC
LIMIT @max_rows;

-- name: CountRequests :one
-- CountRequests returns how many requests have the status (every request, whatever its status, when
-- it is NULL) and match the pattern when one is given.
SELECT count(*)
FROM contacts c
WHERE c.artisan_status IN ('pending', 'approved', 'rejected')
  AND (sqlc.narg(status)::artisan_status IS NULL OR c.artisan_status = sqlc.narg(status)::artisan_status)
  AND (sqlc.narg(pattern)::text IS NULL OR (c.prenom || ' ' || c.nom || ' ' || c.email) ILIKE sqlc.narg(pattern)::text);

-- name: GetDecision :one
-- GetDecision returns the decision taken on the request of contact id (status none or pending: no decision).
SELECT c.id, c.artisan_status, c.decided_at, c.decision_reason, c.decided_by, d.prenom AS decider_prenom, d.nom AS decider_nom
FROM contacts c LEFT JOIN contacts d ON d.id = c.decided_by
WHERE c.id = @id;

-- name: DecideRequest :one
-- DecideRequest moves a pending request to approved or rejected; no row when it is not pending.
UPDATE contacts AS c
SET artisan_status  = @status,
    demande_artisan = FALSE,
    decided_by      = sqlc.arg(decided_by)::bigint,
    decided_at      = now(),
    decision_reason = sqlc.narg(reason)
WHERE c.id = sqlc.arg(id)::bigint AND c.artisan_status = 'pending'
RETURNING c.id, c.prenom, c.nom, c.email, c.decided_at, c.decision_reason,
          COALESCE((SELECT d.prenom || ' ' || d.nom FROM contacts d WHERE d.id = c.decided_by), '')::text AS decider_name;

-- name: GetArtisanStatus :one
SELECT artisan_status FROM contacts WHERE id = @id;
