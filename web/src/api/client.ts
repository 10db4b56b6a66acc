import createClient from "openapi-fetch";
import type { components, paths } from "../gen/api";

export type User = components["schemas"]["User"];
export type ArtisanRequest = components["schemas"]["ArtisanRequest"];
export type ArtisanStatus = components["schemas"]["ArtisanStatus"];
export type AccountType = components["schemas"]["AccountType"];
export type RegisterRequest = components["schemas"]["RegisterRequest"];
export type LoginRequest = components["schemas"]["LoginRequest"];
export type AuthResponse = components["schemas"]["AuthResponse"];
export type ArtisanRequestList = components["schemas"]["ArtisanRequestList"];
export type ApproveResponse = components["schemas"]["ApproveResponse"];
export type RejectResponse = components["schemas"]["RejectResponse"];
type ErrorBody = components["schemas"]["Error"];

export const ACCOUNT_TYPES: readonly AccountType[] = ["Client", "Artisan/Promoteur"];

/** A non-2xx answer (status 0: the server could not be reached). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

const FALLBACK_MESSAGES: Record<number, string> = {
  0: "Le serveur est injoignable. Réessayez dans un instant.",
  400: "Requête invalide.",
  401: "Email ou mot de passe incorrect.",
  403: "Accès réservé au PDG.",
  404: "Demande introuvable.",
  409: "Cette demande a déjà été traitée.",
  429: "Trop de tentatives. Réessayez dans une minute.",
};

function toApiError(status: number, body: unknown): ApiError {
  const err = (body as Partial<ErrorBody> | undefined)?.error;
  const message = err?.message || FALLBACK_MESSAGES[status] || "Erreur du serveur.";
  return new ApiError(status, err?.code || "unknown", message);
}

/** The REST calls the app makes, typed by the generated `paths`. Each rejects with ApiError. */
export interface Api {
  login(body: LoginRequest): Promise<AuthResponse>;
  register(body: RegisterRequest): Promise<AuthResponse>;
  /** Revokes the session's token on the server (every node; its sockets are disconnected). */
  logout(): Promise<void>;
  me(): Promise<User>;
  countRequests(): Promise<number>;
  listRequests(): Promise<ArtisanRequestList>;
  approve(id: number): Promise<ApproveResponse>;
  reject(id: number, reason?: string): Promise<RejectResponse>;
}

/** Builds the API on openapi-fetch; `getToken` is read at every request (Authorization: Bearer). */
export function createApi(baseUrl: string, getToken: () => string | null, fetchImpl?: typeof fetch): Api {
  const client = createClient<paths>({ baseUrl, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  client.use({
    onRequest({ request }) {
      const token = getToken();
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  });

  async function call<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
    let res: { data?: T; error?: unknown; response: Response };
    try {
      res = await p;
    } catch {
      throw toApiError(0, undefined);
    }
    if (res.data !== undefined && res.response.ok) return res.data;
    throw toApiError(res.response.status, res.error);
  }

  return {
    login: (body) => call(client.POST("/api/users/auth/login", { body })),
    register: (body) => call(client.POST("/api/users/auth/register", { body })),
    logout: async () => {
      let res: { error?: unknown; response: Response };
      try {
        res = await client.POST("/api/users/auth/logout");
      } catch {
        throw toApiError(0, undefined);
      }
      if (!res.response.ok) throw toApiError(res.response.status, res.error);
    },
    me: () => call(client.GET("/api/users/me")),
    countRequests: async () => (await call(client.GET("/api/notifications/artisan-requests/count"))).count,
    listRequests: () => call(client.GET("/api/notifications/artisan-requests")),
    approve: (id) =>
      call(client.POST("/api/notifications/artisan-requests/{id}/approve", { params: { path: { id } } })),
    reject: (id, reason) =>
      call(
        client.POST("/api/notifications/artisan-requests/{id}/reject", {
          params: { path: { id } },
          body: reason ? { reason } : {},
        }),
      ),
  };
}
