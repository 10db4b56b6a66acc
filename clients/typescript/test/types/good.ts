// Compiles: the event map and the REST types as a consumer uses them (imported by the package's name).
import { ArtisanNotifyError, createClient, type ErrorCode, type EventPayload } from "@artisan-notify/client";

const client = createClient({ baseUrl: "http://localhost:3001", token: "t" });
client.on("artisan-request:new", (r) => console.log(r.contact_id.toFixed(), r.nom_complet, r.created_at, r.type_compte));
client.on("artisan-request:approved", (d) => console.log(d.contact_id, d.nom_complet, d.email));
client.on("artisan-request:rejected", (d) => console.log(d.contact_id, d.decided_by.name, d.decided_at, d.reason ?? ""));
client.on("user:rights-changed", (r) => console.log(r.contact_id, r.is_pdg ? "PDG" : "not PDG"));
client.socket.on("artisan-request:approved", (d) => console.log(d.email));
client.socket.on("connect_error", (e) => console.log(e.message));
const rejected: EventPayload<"artisan-request:rejected"> = { contact_id: 1, decided_by: { id: 2, name: "Paul Martin" }, decided_at: "2026-01-16T09:00:00Z" };
export async function decide(id: number): Promise<string> {
  try {
    return (await client.approve(id)).status;
  } catch (e) {
    if (e instanceof ArtisanNotifyError) {
      const code: ErrorCode = e.code;
      return `${e.status} ${code} ${e.retryAfter ?? 0} ${e.decision?.status ?? ""} ${e.decision?.decided_by?.name ?? ""}`;
    }
    throw e;
  }
}
export const n: Promise<number> = client.countPending();
export async function history(): Promise<string[]> {
  const page = await client.listRequests({ status: "rejected", q: "diallo", limit: 20 });
  const next = page.next_cursor ? await client.listRequests({ status: "rejected", q: "diallo", cursor: page.next_cursor }) : undefined;
  return [...page.requests, ...(next?.requests ?? [])].map((r) => `${r.nom_complet} ${r.status ?? ""} ${r.decided_by?.name ?? ""} ${r.decided_at ?? ""} ${r.reason ?? ""}`);
}
export { rejected };
