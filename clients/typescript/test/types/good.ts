// Compiles: the event map and the REST types as a consumer uses them (imported by the package's name).
import { ArtisanNotifyError, createClient, type ErrorCode, type EventPayload } from "@artisan-notify/client";

const client = createClient({ baseUrl: "http://localhost:3001", token: "t" });
client.on("artisan-request:new", (r) => console.log(r.contact_id.toFixed(), r.nom_complet, r.created_at, r.type_compte));
client.on("artisan-request:approved", (d) => console.log(d.contact_id, d.nom_complet, d.email));
client.on("artisan-request:rejected", (d) => console.log(d.contact_id));
client.socket.on("artisan-request:approved", (d) => console.log(d.email));
client.socket.on("connect_error", (e) => console.log(e.message));
const rejected: EventPayload<"artisan-request:rejected"> = { contact_id: 1 };
export async function decide(id: number): Promise<string> {
  try {
    return (await client.approve(id)).status;
  } catch (e) {
    if (e instanceof ArtisanNotifyError) {
      const code: ErrorCode = e.code;
      return `${e.status} ${code} ${e.retryAfter ?? 0}`;
    }
    throw e;
  }
}
export const n: Promise<number> = client.countPending();
export { rejected };
