// Must NOT compile: the type-level test expects tsc to report each line marked "error:".
import { ArtisanNotifyError, createClient, type EventPayload } from "@artisan-notify/client";

const client = createClient({ baseUrl: "http://localhost:3001", token: "t" });
client.on("artisan-request:aproved", () => {}); // error: wrong event name
client.on("artisan-request:rejected", (d) => console.log(d.nom_complet)); // error: rejected has no nom_complet
client.on("artisan-request:new", (r) => console.log(r.full_name)); // error: wrong payload property
client.socket.on("artisan-request:created", () => {}); // error: wrong event name on the raw socket
const p: EventPayload<"artisan-request:approved"> = { contact_id: 1, email: "a@b.c" }; // error: nom_complet missing
export function code(e: ArtisanNotifyError): boolean {
  return e.code === "teapot"; // error: not one of the contract's codes
}
export { p };
