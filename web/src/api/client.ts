import createClient, { type Client } from "openapi-fetch";
import type { BaseQueryFn } from "@reduxjs/toolkit/query";
import type { AccountType, components, ErrorResponse as ErrorBody, paths } from "@artisan-notify/client";

export type {
  AccountType,
  ApproveResponse,
  ArtisanRequest,
  ArtisanRequestList,
  ArtisanStatus,
  AuthResponse,
  LoginRequest,
  RegisterRequest,
  RejectResponse,
  User,
} from "@artisan-notify/client";

/** Which requests a list shows: pending, approved, rejected or all. */
export type RequestFilter = components["schemas"]["RequestFilter"];

export const ACCOUNT_TYPES: readonly AccountType[] = ["Client", "Artisan/Promoteur"];

/**
 * A non-2xx answer (status 0: the server could not be reached): the contract's
 * `{"error":{"code","message"}}` with its HTTP status. Plain data, so that it can sit in the store.
 */
export interface ApiError {
  status: number;
  code: string;
  message: string;
  /** The error object's other fields, as sent (e.g. a 409 naming the request and who decided it). */
  details?: Record<string, unknown>;
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

export function toApiError(status: number, body: unknown): ApiError {
  const err = (body as Partial<ErrorBody> | undefined)?.error;
  const message = err?.message || FALLBACK_MESSAGES[status] || "Erreur du serveur.";
  const { code: _code, message: _message, ...rest } = (err && typeof err === "object" ? err : {}) as Record<string, unknown>;
  const details = { ...rest };
  // fields beside "error" (the contract may put the conflict's facts there)
  if (body && typeof body === "object" && !Array.isArray(body)) {
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) if (k !== "error") details[k] = v;
  }
  return Object.keys(details).length ? { status, code: err?.code || "unknown", message, details } : { status, code: err?.code || "unknown", message };
}

export function isApiError(e: unknown): e is ApiError {
  return typeof e === "object" && e !== null && typeof (e as ApiError).status === "number" && typeof (e as ApiError).message === "string";
}

/** One request made with the openapi-fetch client typed by the generated `paths`; R is its success body. */
export type Call<R = unknown> = (client: Client<paths>) => Promise<{ data?: R; error?: unknown; response: Response }>;

/** What the base query needs from the store's extra argument. */
export interface ClientConfig {
  baseUrl: string;
  fetch?: typeof fetch;
}

/**
 * RTK Query's base query over openapi-fetch: an endpoint's `query` returns a Call, made with the session's
 * token (Authorization: Bearer, read from the store at every request); a non-2xx answer or a network
 * failure becomes an ApiError.
 */
export const openapiBaseQuery: BaseQueryFn<Call, unknown, ApiError> = async (call, { extra, getState }) => {
  const { baseUrl, fetch } = extra as ClientConfig;
  const token = (getState() as { auth?: { token?: string | null } }).auth?.token;
  const client = createClient<paths>({
    baseUrl,
    ...(fetch ? { fetch } : {}),
    ...(token ? { headers: { Authorization: `Bearer ${token}` } } : {}),
  });
  let res: Awaited<ReturnType<Call>>;
  try {
    res = await call(client);
  } catch {
    return { error: toApiError(0, undefined) };
  }
  if (!res.response.ok) return { error: toApiError(res.response.status, res.error) };
  return { data: res.data ?? null };
};
