import { describe, expect, it, vi } from "vitest";
import type { BaseQueryApi } from "@reduxjs/toolkit/query";
import { isApiError, openapiBaseQuery, type Call } from "./client";

function run(call: Call, fetch: typeof globalThis.fetch, token: string | null = "tok") {
  const api = { extra: { baseUrl: "http://api.test", fetch }, getState: () => ({ auth: { token } }) } as unknown as BaseQueryApi;
  return openapiBaseQuery(call, api, {});
}

describe("openapiBaseQuery", () => {
  it("sends the session's token and answers the body", async () => {
    const fetch = vi.fn(async (r: Request) => Response.json({ count: 3, auth: r.headers.get("Authorization"), url: r.url }));
    const res = await run((c) => c.GET("/api/notifications/artisan-requests/count"), fetch as unknown as typeof globalThis.fetch);
    expect(res.data).toEqual({ count: 3, auth: "Bearer tok", url: "http://api.test/api/notifications/artisan-requests/count" });
  });

  it("sends no Authorization header without a session", async () => {
    const fetch = vi.fn(async (r: Request) => Response.json({ auth: r.headers.get("Authorization") }));
    const res = await run((c) => c.POST("/api/users/auth/login", { body: { email: "a@b.c", password: "x" } }), fetch as unknown as typeof globalThis.fetch, null);
    expect(res.data).toEqual({ auth: null });
  });

  it("maps the contract's error body to an ApiError, with a fallback message per status", async () => {
    const withBody = async () => Response.json({ error: { code: "conflict", message: "Déjà traitée." } }, { status: 409 });
    const res = await run((c) => c.GET("/api/users/me"), withBody as unknown as typeof globalThis.fetch);
    expect(res.error).toEqual({ status: 409, code: "conflict", message: "Déjà traitée." });
    expect(isApiError(res.error)).toBe(true);

    const bare = async () => new Response("oops", { status: 403 });
    const res2 = await run((c) => c.GET("/api/users/me"), bare as unknown as typeof globalThis.fetch);
    expect(res2.error).toEqual({ status: 403, code: "unknown", message: "Accès réservé au PDG." });
  });

  it("an unreachable server is status 0", async () => {
    const down = async () => {
      throw new TypeError("Failed to fetch");
    };
    const res = await run((c) => c.GET("/api/users/me"), down as unknown as typeof globalThis.fetch);
    expect(res.error).toMatchObject({ status: 0, message: "Le serveur est injoignable. Réessayez dans un instant." });
  });

  it("a 204 answers null", async () => {
    const noContent = async () => new Response(null, { status: 204 });
    const res = await run((c) => c.POST("/api/users/auth/logout"), noContent as unknown as typeof globalThis.fetch);
    expect(res).toEqual({ data: null });
  });
});
