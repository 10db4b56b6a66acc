import { createSlice, isAnyOf, type PayloadAction } from "@reduxjs/toolkit";
import type { ConnectionStatus } from "../socket/socketService";
import { connectionChanged, loggedOut, sessionExpired } from "./actions";

export interface ConnectionState {
  status: ConnectionStatus;
  /** navigator.onLine, kept by the window's online/offline events. */
  online: boolean;
}

const connectionSlice = createSlice({
  name: "connection",
  initialState: { status: "offline", online: true } as ConnectionState,
  reducers: {
    browserOnlineChanged(state, action: PayloadAction<boolean>) {
      state.online = action.payload;
    },
  },
  extraReducers: (builder) => {
    builder
      .addCase(connectionChanged, (state, action) => {
        state.status = action.payload;
      })
      .addMatcher(isAnyOf(loggedOut, sessionExpired), (state) => {
        state.status = "offline";
      });
  },
});

export const { browserOnlineChanged } = connectionSlice.actions;
export default connectionSlice.reducer;

/** Decisions cannot be sent: the browser is offline or the live connection is down. */
export function isDisconnected(s: ConnectionState): boolean {
  return !s.online || s.status === "offline" || s.status === "reconnecting";
}
