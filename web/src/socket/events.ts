// The one place that imports the Socket.IO event map (generated from ../asyncapi.yaml into the
// @artisan-notify/client package, clients/typescript).
export type {
  ArtisanRequestApproved,
  ArtisanRequestNew,
  ArtisanRequestRejected,
  ClientToServerEvents,
  ServerToClientEvents,
} from "@artisan-notify/client";
