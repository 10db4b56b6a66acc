import createFetchClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./gen/api.js";
import { ArtisanNotifyError } from "./errors.js";

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
export type ErrorResponse = components["schemas"]["Error"];
export type Decider = components["schemas"]["Decider"];
export type Decision = components["schemas"]["Decision"];
export type RequestFilter = components["schemas"]["RequestFilter"];

/** The query of listRequests: all optional (the server's defaults: pending, no search, 50). */
export interface ListRequestsOptions {
  /** pending (default, newest request first), approved / rejected (newest decision first), all (newest request first). */
  status?: RequestFilter;
  /** Keeps the requests whose names or email contain it (case-insensitive; at most 100 characters). */
  q?: string;
  /** The previous page's next_cursor, sent with the same status and q (400 invalid_request otherwise). */
  cursor?: string;
  /** Page size, 1 to 200 (default 50). */
  limit?: number;
}

/** A bearer token, or a function read at every request and (re)connection (null/undefined: none). */
export type TokenSource = string | null | undefined | (() => string | null | undefined);

export function readToken(token: TokenSource): string | undefined {
  const t = typeof token === "function" ? token() : token;
  return t || undefined;
}

export interface RestOptions {
  /** The server, e.g. "http://localhost:3001" (REST under /api/...). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: TokenSource;
  /** A fetch implementation (default: the global fetch). */
  fetch?: typeof fetch;
}

/** The REST API, one method per operation of openapi.yaml; a non-2xx answer throws an ArtisanNotifyError. */
export interface RestClient {
  /** The underlying openapi-fetch client, typed by the generated `paths` (same base URL and token). */
  readonly fetchClient: Client<paths>;
  register(body: RegisterRequest): Promise<AuthResponse>;
  login(body: LoginRequest): Promise<AuthResponse>;
  /** Revokes the token on the server (every node; its sockets are disconnected). */
  logout(): Promise<void>;
  me(): Promise<User>;
  /** PDG only. */
  countPending(): Promise<number>;
  /** PDG only: the pending requests, newest first, with the total count (which may exceed the page). */
  listPending(options?: Omit<ListRequestsOptions, "status">): Promise<ArtisanRequestList>;
  /**
   * PDG only: a page of requests by status (pending by default; approved / rejected: the history, with
   * decided_by, decided_at, reason), optionally searched; `next_cursor` is set when more follow.
   */
  listRequests(options?: ListRequestsOptions): Promise<ArtisanRequestList>;
  /** Every page of listRequests, following next_cursor (at most maxPages pages, default 100). */
  pages(options?: Omit<ListRequestsOptions, "cursor">, maxPages?: number): AsyncGenerator<ArtisanRequestList>;
  /** PDG only: 409 conflict when the request was already decided (the error's `decision` says which). */
  approve(id: number): Promise<ApproveResponse>;
  /** PDG only: 409 conflict when the request was already decided (the error's `decision` says which). */
  reject(id: number, reason?: string): Promise<RejectResponse>;
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** Awaits an openapi-fetch call: its data, or an ArtisanNotifyError. */
export async function unwrap<T>(call: Promise<Answer<T>>): Promise<T> {
  let res: Answer<T>;
  try {
    res = await call;
  } catch (cause) {
    if (cause instanceof ArtisanNotifyError) throw cause;
    throw new ArtisanNotifyError({ status: 0, code: "unavailable", message: `server unreachable: ${String((cause as Error)?.message ?? cause)}`, cause });
  }
  if (!res.response.ok) throw ArtisanNotifyError.fromResponse(res.response, res.error);
  return res.data as T;
}

export function createRestClient(options: RestOptions): RestClient {
  const c = createFetchClient<paths>({ baseUrl: options.baseUrl.replace(/\/+$/, ""), ...(options.fetch ? { fetch: options.fetch } : {}) });
  c.use({
    onRequest({ request }) {
      const token = readToken(options.token);
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  });
  const id = (n: number) => ({ params: { path: { id: n } } });
  const listRequests = (o: ListRequestsOptions = {}) => {
    const query: ListRequestsOptions = {};
    if (o.status !== undefined) query.status = o.status;
    if (o.q !== undefined) query.q = o.q;
    if (o.cursor !== undefined) query.cursor = o.cursor;
    if (o.limit !== undefined) query.limit = o.limit;
    return unwrap(c.GET("/api/notifications/artisan-requests", Object.keys(query).length ? { params: { query } } : {}));
  };
  return {
    fetchClient: c,
    register: (body) => unwrap(c.POST("/api/users/auth/register", { body })),
    login: (body) => unwrap(c.POST("/api/users/auth/login", { body })),
    logout: async () => {
      await unwrap(c.POST("/api/users/auth/logout"));
    },
    me: () => unwrap(c.GET("/api/users/me")),
    countPending: async () => (await unwrap(c.GET("/api/notifications/artisan-requests/count"))).count,
    listPending: (o) => listRequests({ ...o }),
    listRequests,
    async *pages(o = {}, maxPages = 100) {
      let cursor: string | undefined;
      for (let i = 0; i < maxPages; i++) {
        const page = await listRequests(cursor === undefined ? o : { ...o, cursor });
        yield page;
        if (!page.next_cursor) return;
        cursor = page.next_cursor;
      }
    },
    approve: (n) => unwrap(c.POST("/api/notifications/artisan-requests/{id}/approve", id(n))),
    reject: (n, reason) =>
      unwrap(c.POST("/api/notifications/artisan-requests/{id}/reject", { ...id(n), body: reason === undefined ? {} : { reason } })),
  };
}
