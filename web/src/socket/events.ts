// The one place that imports the generated Socket.IO event map (src/gen/events.ts, from ../asyncapi.yaml).
export type {
  ArtisanRequestApproved,
  ArtisanRequestNew,
  ArtisanRequestRejected,
  ClientToServerEvents,
  ServerToClientEvents,
} from "../gen/events";
