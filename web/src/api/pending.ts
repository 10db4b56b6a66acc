import type { ArtisanRequest, User } from "./client";

/** The PDG's pending requests: the count (the badge; may exceed the listed page) and the page, newest first. */
export interface Pending {
  count: number;
  requests: ArtisanRequest[];
  /** Ids decided during this session: a decision is final, so they never come back as pending. */
  decided: number[];
}

function newestFirst(a: ArtisanRequest, b: ArtisanRequest): number {
  const ta = Date.parse(a.created_at);
  const tb = Date.parse(b.created_at);
  if (ta !== tb) return tb - ta;
  return b.contact_id - a.contact_id;
}

/** A new request (artisan-request:new): listed and counted once, however often it arrives. */
export function addRequest(p: Pending, req: ArtisanRequest): void {
  if (p.decided.includes(req.contact_id)) return;
  if (p.requests.some((r) => r.contact_id === req.contact_id)) return;
  p.requests.push(req);
  p.requests.sort(newestFirst);
  p.count += 1;
}

/** A decided request (by an event or by our own click, which may both arrive): removed and uncounted once. */
export function removeRequest(p: Pending, id: number): void {
  if (p.decided.includes(id)) return;
  p.decided.push(id);
  p.requests = p.requests.filter((r) => r.contact_id !== id);
  p.count = Math.max(0, p.count - 1);
}

/**
 * A fresh answer replaces the cached one, except that requests decided meanwhile stay out: an answer
 * overtaken by a decision still lists (and counts) the decided request, so it is left out of both.
 */
export function mergeAnswer(current: Pending, answer: Pending): void {
  const requests = answer.requests.filter((r) => !current.decided.includes(r.contact_id));
  current.count = Math.max(0, answer.count - (answer.requests.length - requests.length));
  current.requests = requests;
}

/** Where the user's own artisan request stands; "decided" when the server does not say which way. */
export type ApplicantStatus = NonNullable<User["artisan_status"]> | "decided";

export function applicantStatus(user: User): ApplicantStatus {
  if (user.artisan_status) return user.artisan_status;
  if (user.demande_artisan) return "pending";
  if (user.type_compte !== "Artisan/Promoteur") return "none";
  return "decided";
}

/** The user's own request was decided (their user room). */
export function decideOwn(user: User, decision: "approved" | "rejected", event?: { decided_at?: string | null; reason?: string | null }): void {
  user.demande_artisan = false;
  user.artisan_status = decision;
  if (event?.decided_at) user.artisan_decided_at = event.decided_at;
  if (event?.reason) user.artisan_reason = event.reason;
  else delete user.artisan_reason;
}

/**
 * A fresh GET /api/users/me replaces the cached user. Servers that do not send the optional
 * artisan_status (the original one) only tell pending from not pending: then a decision learnt
 * from an event is kept.
 */
export function mergeUser(current: User, answer: User): User {
  const known = current.artisan_status;
  if (answer.artisan_status || answer.demande_artisan || answer.type_compte !== "Artisan/Promoteur") return answer;
  if (known !== "approved" && known !== "rejected") return answer;
  return { ...answer, artisan_status: known };
}
