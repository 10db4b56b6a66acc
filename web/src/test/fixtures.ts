import type { ArtisanRequest, User } from "../api/client";

export const req = (id: number, created_at = `2026-01-${String(id).padStart(2, "0")}T10:00:00Z`): ArtisanRequest => ({
  contact_id: id,
  prenom: `P${id}`,
  nom: `N${id}`,
  nom_complet: `P${id} N${id}`,
  email: `a${id}@example.com`,
  type_compte: "Artisan/Promoteur",
  created_at,
});

export const user = (over: Partial<User> = {}): User => ({
  id: 9,
  prenom: "Awa",
  nom: "Sow",
  email: "awa@example.com",
  type_compte: "Artisan/Promoteur",
  demande_artisan: true,
  is_pdg: false,
  ...over,
});

export const pdg = user({ id: 1, prenom: "Paul", nom: "Dg", email: "pdg@example.com", type_compte: "Client", demande_artisan: false, is_pdg: true });

/** Who decided, as the approved/rejected events say it (another PDG than `pdg`). */
export const decidedBy = { decided_by: { id: 77, name: "Paul Martin" }, decided_at: "2026-01-20T13:02:00Z" };
