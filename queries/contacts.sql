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
-- DecideRequest moves the pending request of contact id to approved or rejected and records its
-- event in the outbox (@event to @rooms; the payload is built here from the decided row: for an
-- approval contact_id, nom_complet and email, for a rejection contact_id), in one statement, so
-- in one transaction: both or neither. The conditional UPDATE takes the row lock: of concurrent
-- deciders one updates the row, the others wait for it, re-check the condition and match nothing.
-- It always returns one row: decided_id is the contact's id when this call decided; otherwise the
-- current_* columns are the request's decision as it stands after the UPDATE (artisan_decision
-- reads it with a snapshot of its own, so a call that waited for a concurrent decider sees that
-- decision), current_status NULL when there is no such contact.
WITH decided AS (
    UPDATE contacts
    SET artisan_status  = @status,
        demande_artisan = FALSE,
        decided_by      = @decided_by,
        decided_at      = now(),
        decision_reason = sqlc.narg(reason)
    WHERE id = @id AND artisan_status = 'pending'
    RETURNING id, prenom, nom, email, artisan_status
), recorded AS (
    INSERT INTO outbox (event, rooms, payload)
    SELECT @event, @rooms::text[],
           CASE WHEN d.artisan_status = 'approved'
                THEN jsonb_build_object('contact_id', d.id, 'nom_complet', d.prenom || ' ' || d.nom, 'email', d.email)
                ELSE jsonb_build_object('contact_id', d.id)
           END
    FROM decided AS d
    RETURNING id
)
SELECT d.id AS decided_id, d.prenom, d.nom, d.email,
       cur.status AS current_status, cur.decided_by AS current_decided_by,
       cur.decided_at AS current_decided_at
FROM (SELECT @id::bigint AS id) AS req
LEFT JOIN decided AS d ON TRUE
-- Called only when this call did not decide (STRICT: not called with NULL), after the UPDATE.
LEFT JOIN LATERAL artisan_decision(CASE WHEN d.id IS NULL THEN req.id END) AS cur ON TRUE;
