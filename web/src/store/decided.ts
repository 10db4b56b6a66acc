import type { ArtisanRequest } from "../api/client";
import type { DecisionInfo } from "./settledSlice";

const timeFormat = new Intl.DateTimeFormat("fr-FR", { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat("fr-FR", { day: "2-digit", month: "2-digit", year: "numeric" });

/** "à 14:02" today, "le 28/11/2026 à 14:02" another day. */
export function when(iso: string | undefined, now: Date = new Date()): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const sameDay = dayFormat.format(d) === dayFormat.format(now);
  return sameDay ? `à ${timeFormat.format(d)}` : `le ${dayFormat.format(d)} à ${timeFormat.format(d)}`;
}

/** "Approuvée par Paul Martin à 14:02" (or without who/when when unknown). */
export function decidedLine(info: DecisionInfo, now?: Date): string {
  const verb = info.status === "approved" ? "Approuvée" : "Refusée";
  const by = info.by?.name ? ` par ${info.by.name}` : " par un autre PDG";
  const at = when(info.at, now);
  return `${verb}${by}${at ? ` ${at}` : ""}`;
}

/** The 409's toast: which request, who decided it, when. */
export function conflictMessage(name: string | undefined, info: DecisionInfo, now?: Date): string {
  const what = name ? `La demande de ${name}` : "Cette demande";
  const verb = info.status === "approved" ? "approuvée" : info.status === "rejected" ? "refusée" : "traitée";
  const by = info.by?.name ? ` par ${info.by.name}` : " par un autre PDG";
  const at = when(info.at, now);
  return `${what} a déjà été ${verb}${by}${at ? ` ${at}` : ""}.`;
}

type Loose = Record<string, unknown>;

function person(v: unknown): { id: number; name: string } | undefined {
  const p = v as Loose | null | undefined;
  if (!p || typeof p.id !== "number") return undefined;
  return { id: p.id, name: typeof p.name === "string" ? p.name : "" };
}

/** Who decided, when, why: from an event, a 409's details or a listed request (the fields are optional). */
export function decisionInfo(status: DecisionInfo["status"] | undefined, src: Loose | object): DecisionInfo {
  const o = src as Loose;
  const st = status ?? (o.status === "approved" || o.status === "rejected" ? o.status : undefined);
  const info: DecisionInfo = { status: st ?? "approved" };
  const by = person(o.decided_by);
  if (by) info.by = by;
  if (typeof o.decided_at === "string") info.at = o.decided_at;
  if (typeof o.reason === "string" && o.reason) info.reason = o.reason;
  return info;
}

/** A request's data, from whichever cached list has it (the bell's, the Demandes page's). */
export function findRequest(state: { api: { queries: Record<string, unknown> } }, id: number): ArtisanRequest | undefined {
  for (const entry of Object.values(state.api.queries)) {
    const data = (entry as { data?: unknown } | undefined)?.data as
      | { requests?: ArtisanRequest[]; pages?: { requests?: ArtisanRequest[] }[] }
      | undefined;
    if (!data) continue;
    const lists = data.pages ? data.pages.map((p) => p.requests ?? []) : data.requests ? [data.requests] : [];
    for (const list of lists) {
      const found = list.find((r) => r.contact_id === id);
      if (found) return found;
    }
  }
  return undefined;
}
