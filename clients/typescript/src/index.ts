// @artisan-notify/client: the artisan-notify REST API and Socket.IO events, typed by the generated code in gen/
// (openapi-typescript from openapi.yaml, cmd/asyncgen from asyncapi.yaml).
export { createClient, type ArtisanNotifyClient, type ClientOptions } from "./client.js";
export {
  createRestClient,
  unwrap,
  type AccountType,
  type ApproveResponse,
  type ArtisanRequest,
  type ArtisanRequestList,
  type ArtisanStatus,
  type AuthResponse,
  type Decider,
  type Decision,
  type ErrorResponse,
  type ListRequestsOptions,
  type LoginRequest,
  type RegisterRequest,
  type RejectResponse,
  type RequestFilter,
  type RestClient,
  type RestOptions,
  type TokenSource,
  type User,
} from "./rest.js";
export { ArtisanNotifyError, ERROR_CODES, isArtisanNotifyError, isErrorCode, parseRetryAfter, type ErrorCode } from "./errors.js";
export { connectEvents, type EventName, type EventPayload, type EventSocket, type EventsOptions, type SocketIoOptions } from "./events.js";
export {
  PendingRequests,
  syncPendingRequests,
  type PendingSource,
  type PendingSync,
  type PendingSyncOptions,
} from "./pending.js";
export type { components, operations, paths } from "./gen/api.js";
export * from "./gen/events.js";
