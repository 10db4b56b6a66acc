import { createSlice, isAnyOf } from "@reduxjs/toolkit";
import type { ConnectionStatus } from "../socket/socketService";
import { connectionChanged, loggedOut, sessionExpired } from "./actions";

export interface ConnectionState {
  status: ConnectionStatus;
}

const connectionSlice = createSlice({
  name: "connection",
  initialState: { status: "offline" } as ConnectionState,
  reducers: {},
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

export default connectionSlice.reducer;
