import { createSlice, type PayloadAction } from "@reduxjs/toolkit";
import type { ConnectionStatus } from "../socket/socketService";
import { loggedOut } from "./authSlice";

export interface ConnectionState {
  status: ConnectionStatus;
}

const connectionSlice = createSlice({
  name: "connection",
  initialState: { status: "offline" } as ConnectionState,
  reducers: {
    connectionStatusChanged(state, action: PayloadAction<ConnectionStatus>) {
      state.status = action.payload;
    },
  },
  extraReducers: (builder) => {
    builder.addCase(loggedOut, (state) => {
      state.status = "offline";
    });
  },
});

export const { connectionStatusChanged } = connectionSlice.actions;
export default connectionSlice.reducer;
