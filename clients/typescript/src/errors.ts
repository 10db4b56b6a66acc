/** The contract's machine-readable error codes (`{"error":{"code","message"}}`, openapi.yaml). */
export const ERROR_CODES = [
  "invalid_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "conflict",
  "payload_too_large",
  "rate_limited",
  "internal",
  "unavailable",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: "invalid_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  429: "rate_limited",
  503: "unavailable",
};

export function isErrorCode(v: unknown): v is ErrorCode {
  return typeof v === "string" && (ERROR_CODES as readonly string[]).includes(v);
}

import type { components } from "./gen/api.js";

/**
 * A REST call that did not succeed: the server's answer (status, the contract's code and message, and
 * `retryAfter` in seconds when it sent Retry-After, e.g. with 429 rate_limited or 503 unavailable), or
 * status 0 with code "unavailable" when the server could not be reached (the fetch error is the cause).
 */
export class ArtisanNotifyError extends Error {
  override readonly name = "ArtisanNotifyError";
  /** The HTTP status; 0 when no answer came. */
  readonly status: number;
  readonly code: ErrorCode;
  /** Seconds to wait before trying again, when the server sent Retry-After. */
  readonly retryAfter: number | undefined;
  /** With 409 conflict on approve / reject: the decision already taken (which request, what, by whom, when). */
  readonly decision: components["schemas"]["Decision"] | undefined;

  constructor(init: {
    status: number;
    code: ErrorCode;
    message: string;
    retryAfter?: number | undefined;
    decision?: components["schemas"]["Decision"] | undefined;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.retryAfter = init.retryAfter;
    this.decision = init.decision;
  }

  /** Builds the error from a non-2xx response and its parsed body (the contract's Error, when it is one). */
  static fromResponse(response: Response, body: unknown): ArtisanNotifyError {
    const err = (body as { error?: { code?: unknown; message?: unknown; decision?: unknown } } | undefined)?.error;
    const code = isErrorCode(err?.code) ? err.code : (CODE_BY_STATUS[response.status] ?? "internal");
    const message = typeof err?.message === "string" && err.message ? err.message : `HTTP ${response.status}`;
    const decision = isDecision(err?.decision) ? err.decision : undefined;
    return new ArtisanNotifyError({ status: response.status, code, message, retryAfter: parseRetryAfter(response.headers.get("Retry-After")), decision });
  }
}

function isDecision(v: unknown): v is components["schemas"]["Decision"] {
  const d = v as { contact_id?: unknown; status?: unknown; decided_at?: unknown } | null | undefined;
  return typeof d === "object" && d !== null && typeof d.contact_id === "number" &&
    (d.status === "approved" || d.status === "rejected") && typeof d.decided_at === "string";
}

export function isArtisanNotifyError(e: unknown): e is ArtisanNotifyError {
  return e instanceof ArtisanNotifyError;
}

/** Retry-After as seconds: delta-seconds, or an HTTP date (seconds from now, at least 0). */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}
