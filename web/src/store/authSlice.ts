import { createSlice, isAnyOf } from "@reduxjs/toolkit";
import { loggedIn, loggedOut, sessionExpired, sessionRestored } from "./actions";

/** The session's token; the user it belongs to is server state (the `me` query). */
export interface AuthState {
  token: string | null;
}

const authSlice = createSlice({
  name: "auth",
  initialState: { token: null } as AuthState,
  reducers: {},
  extraReducers: (builder) => {
    builder
      .addMatcher(isAnyOf(loggedIn, sessionRestored), (state, action) => {
        state.token = action.payload.token;
      })
      .addMatcher(isAnyOf(loggedOut, sessionExpired), (state) => {
        state.token = null;
      });
  },
});

export default authSlice.reducer;
