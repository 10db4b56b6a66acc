-- name: GrantPDG :one
-- GrantPDG makes the contact with this email a PDG; no row when no contact has it.
INSERT INTO employees (contact_id, role)
SELECT id, 'PDG' FROM contacts WHERE email = @email
ON CONFLICT (contact_id) DO UPDATE SET role = 'PDG'
RETURNING contact_id;

-- name: RevokePDG :one
-- RevokePDG removes the PDG right of the contact with this email; no row when it had none.
DELETE FROM employees e
USING contacts c
WHERE e.contact_id = c.id AND c.email = @email AND e.role = 'PDG'
RETURNING e.contact_id;

-- name: ListPDG :many
-- ListPDG returns every PDG, by id, with the columns of GetUser.
SELECT c.id, c.prenom, c.nom, c.email, c.type_compte, COALESCE(r.status = 'pending', FALSE)::boolean AS demande_artisan,
       COALESCE(r.status, 'none')::artisan_status AS artisan_status, c.token_version,
       TRUE AS is_pdg, c.created_at, r.decided_at, r.decision_reason
FROM employees e JOIN contacts c ON c.id = e.contact_id
LEFT JOIN artisan_requests r ON r.contact_id = c.id
WHERE e.role = 'PDG'
ORDER BY c.id;

-- name: BumpTokenVersion :one
-- BumpTokenVersion revokes every token issued so far to the contact with this email.
UPDATE contacts SET token_version = token_version + 1 WHERE email = @email RETURNING id;
