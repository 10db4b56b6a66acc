-- name: CreateContact :one
-- CreateContact inserts a contact and, unless artisan_status is 'none', its artisan request (table
-- artisan_requests) and the request's search text (request_search), in one statement; a duplicate
-- email violates contacts_email_key. It returns the columns of GetUser (a new contact is no PDG and
-- has no decision).
WITH c AS (
    INSERT INTO contacts (prenom, nom, email, password_hash, type_compte)
    VALUES (@prenom, @nom, @email, @password_hash, @type_compte)
    RETURNING id, prenom, nom, email, type_compte, token_version, created_at
), r AS (
    INSERT INTO artisan_requests (contact_id, status, created_at)
    SELECT c.id, @artisan_status::artisan_status, c.created_at FROM c WHERE @artisan_status::artisan_status <> 'none'
), s AS (
    INSERT INTO request_search (contact_id, search_text)
    SELECT c.id, c.prenom || ' ' || c.nom || ' ' || c.email FROM c WHERE @artisan_status::artisan_status <> 'none'
)
SELECT c.id, c.prenom, c.nom, c.email, c.type_compte, (@artisan_status::artisan_status = 'pending')::boolean AS demande_artisan,
       @artisan_status::artisan_status AS artisan_status, c.token_version, FALSE AS is_pdg, c.created_at,
       NULL::timestamptz AS decided_at, NULL::text AS decision_reason
FROM c;

-- name: GetCredentialsByEmail :one
-- GetCredentialsByEmail returns what login needs to check a password.
SELECT id, password_hash FROM contacts WHERE email = @email;

-- name: GetUser :one
-- GetUser returns a contact with its PDG right and its artisan request's state (artisan_requests:
-- 'none' when it has none). CreateContact and ListPDG return the same columns, in the same order,
-- so that one function maps them all to a user.
SELECT c.id, c.prenom, c.nom, c.email, c.type_compte, COALESCE(r.status = 'pending', FALSE)::boolean AS demande_artisan,
       COALESCE(r.status, 'none')::artisan_status AS artisan_status, c.token_version,
       EXISTS (SELECT 1 FROM employees e WHERE e.contact_id = c.id AND e.role = 'PDG') AS is_pdg, c.created_at,
       r.decided_at, r.decision_reason
FROM contacts c
LEFT JOIN artisan_requests r ON r.contact_id = c.id
WHERE c.id = @id;

-- name: ListPendingRequests :many
-- ListPendingRequests returns pending artisan requests, newest first (ties: higher id first).
SELECT c.id, c.prenom, c.nom, c.email, c.type_compte, r.created_at
FROM artisan_requests r
JOIN contacts c ON c.id = r.contact_id
WHERE r.status = 'pending'
ORDER BY r.created_at DESC, r.contact_id DESC
LIMIT @max_rows;

-- name: CountPendingRequests :one
SELECT count(*) FROM artisan_requests WHERE status = 'pending';

-- name: ListPendingPage :many
-- ListPendingPage returns a page of the pending requests, newest request first (ties: higher id
-- first), after the keyset (before_at, before_id), whose text (first name, last name, email) matches
-- the ILIKE pattern when one is given. The decider's columns are NULL (no decision yet).
SELECT c.id, c.prenom, c.nom, c.email, c.type_compte, r.created_at, r.status AS artisan_status,
       r.decided_at, r.decision_reason, r.decided_by, d.prenom AS decider_prenom, d.nom AS decider_nom
FROM artisan_requests r
JOIN contacts c ON c.id = r.contact_id
LEFT JOIN request_search s ON s.contact_id = r.contact_id AND sqlc.narg(pattern)::text IS NOT NULL
LEFT JOIN contacts d ON d.id = r.decided_by
WHERE r.status = 'pending'
  AND (r.created_at, r.contact_id) < (@before_at::timestamptz, @before_id::bigint)
  AND (sqlc.narg(pattern)::text IS NULL OR s.search_text ILIKE sqlc.narg(pattern)::text)
ORDER BY r.created_at DESC, r.contact_id DESC
LIMIT @max_rows;

-- name: ListAllRequestsPage :many
-- ListAllRequestsPage returns a page of every request ever made (pending or decided), like ListPendingPage.
-- The decider's name is NULL when that contact was removed.
SELECT c.id, c.prenom, c.nom, c.email, c.type_compte, r.created_at, r.status AS artisan_status,
       r.decided_at, r.decision_reason, r.decided_by, d.prenom AS decider_prenom, d.nom AS decider_nom
FROM artisan_requests r
JOIN contacts c ON c.id = r.contact_id
LEFT JOIN request_search s ON s.contact_id = r.contact_id AND sqlc.narg(pattern)::text IS NOT NULL
LEFT JOIN contacts d ON d.id = r.decided_by
WHERE (r.created_at, r.contact_id) < (@before_at::timestamptz, @before_id::bigint)
  AND (sqlc.narg(pattern)::text IS NULL OR s.search_text ILIKE sqlc.narg(pattern)::text)
ORDER BY r.created_at DESC, r.contact_id DESC
LIMIT @max_rows;

-- name: ListDecidedPage :many
-- ListDecidedPage returns a page of the requests decided with status (approved or rejected), newest
-- decision first (ties: higher id first), after the keyset (before_at, before_id), like ListPendingPage.
SELECT c.id, c.prenom, c.nom, c.email, c.type_compte, r.created_at, r.status AS artisan_status,
       r.decided_at, r.decision_reason, r.decided_by, d.prenom AS decider_prenom, d.nom AS decider_nom
FROM artisan_requests r
JOIN contacts c ON c.id = r.contact_id
LEFT JOIN request_search s ON s.contact_id = r.contact_id AND sqlc.narg(pattern)::text IS NOT NULL
LEFT JOIN contacts d ON d.id = r.decided_by
WHERE r.status = @status AND r.status IN ('approved', 'rejected')
  AND (r.decided_at, r.contact_id) < (@before_at::timestamptz, @before_id::bigint)
  AND (sqlc.narg(pattern)::text IS NULL OR s.search_text ILIKE sqlc.narg(pattern)::text)
ORDER BY r.decided_at DESC, r.contact_id DESC
LIMIT @max_rows;

-- name: CountRequests :one
-- CountRequests returns how many requests have the status (every request, whatever its status, when
-- it is NULL) and match the pattern when one is given.
SELECT count(*)
FROM artisan_requests r
LEFT JOIN request_search s ON s.contact_id = r.contact_id AND sqlc.narg(pattern)::text IS NOT NULL
WHERE (sqlc.narg(status)::artisan_status IS NULL OR r.status = sqlc.narg(status)::artisan_status)
  AND (sqlc.narg(pattern)::text IS NULL OR s.search_text ILIKE sqlc.narg(pattern)::text);

-- name: DecideRequest :one
-- DecideRequest moves the pending request of contact id to approved or rejected and records its
-- event in the outbox (@event to @rooms, carrying @trace_context), in one statement, so in one
-- transaction: both or neither. The payload is built here from the decided row, in the shape of
-- asyncapi.yaml's artisan-request:approved / :rejected (contact_id; for an approval nom_complet and
-- email; decided_by {id, name}; decided_at in RFC 3339 UTC to the second, as the REST API shows it;
-- for a rejection the reason when there is one); store tests decode it with the generated types.
-- The decision replaces the request's pending row (artisan_requests) by its decided row, and each
-- write reads the one row the conditional DELETE returned. The DELETE takes the row: of concurrent
-- deciders one deletes it, the others wait for it, find it deleted and match nothing, without
-- locking or writing anything. decided_at is now(), the transaction's time.
-- It always returns one row: decided_id is the contact's id when this call decided; otherwise the
-- current_* columns are the request's decision as it stands after the DELETE (artisan_decision
-- reads it with a snapshot of its own, so a call that waited for a concurrent decider sees that
-- decision), current_status NULL when there is no such request.
-- The decider's right is checked here, by the statement that decides, not only when the call was
-- authorized: a decider whose PDG right was revoked (or whose contact was deleted, employees going
-- with it) since matches nothing, and current_status is then 'pending'.
WITH pending AS (
    DELETE FROM artisan_requests
    WHERE contact_id = sqlc.arg(id)::bigint AND status = 'pending'
      AND EXISTS (SELECT 1 FROM employees e WHERE e.contact_id = sqlc.arg(decided_by)::bigint AND e.role = 'PDG')
    RETURNING contact_id, created_at
), applicant AS (
    SELECT d.contact_id, d.created_at, now()::timestamptz AS decided_at, a.prenom, a.nom, a.email,
           p.id AS decider_id, (p.prenom || ' ' || p.nom)::text AS decider_name
    FROM pending AS d
    LEFT JOIN contacts AS a ON a.id = d.contact_id
    LEFT JOIN contacts AS p ON p.id = sqlc.arg(decided_by)::bigint
), decided AS (
    INSERT INTO artisan_requests (contact_id, status, created_at, decided_by, decided_at, decision_reason)
    SELECT d.contact_id, @status, d.created_at, sqlc.arg(decided_by)::bigint, d.decided_at, sqlc.narg(reason)
    FROM applicant AS d
), recorded AS (
    INSERT INTO outbox (event, rooms, payload, trace_context)
    SELECT @event, @rooms::text[],
           jsonb_build_object('contact_id', d.contact_id,
                              'decided_by', jsonb_build_object('id', COALESCE(d.decider_id, 0), 'name', COALESCE(d.decider_name, '')),
                              'decided_at', to_char(d.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
           || CASE WHEN @status = 'approved'
                   THEN jsonb_build_object('nom_complet', d.prenom || ' ' || d.nom, 'email', d.email)
                   WHEN sqlc.narg(reason) <> ''
                   THEN jsonb_build_object('reason', sqlc.narg(reason))
                   ELSE '{}'::jsonb
              END,
           sqlc.narg(trace_context)
    FROM applicant AS d
)
SELECT d.contact_id AS decided_id, d.prenom, d.nom, d.email, d.decided_at, d.decider_name,
       cur.status AS current_status, cur.decided_by AS current_decided_by, cur.decided_at AS current_decided_at,
       cur.decision_reason AS current_reason, cur.decider_name AS current_decider_name
FROM (SELECT sqlc.arg(id)::bigint AS id) AS req
LEFT JOIN applicant AS d ON TRUE
-- Called only when this call did not decide (STRICT: not called with NULL), after the DELETE.
LEFT JOIN LATERAL artisan_decision(CASE WHEN d.contact_id IS NULL THEN req.id END) AS cur ON TRUE;
