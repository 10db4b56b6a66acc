import { createSlice, type PayloadAction } from "@reduxjs/toolkit";
import type { ArtisanStatus, User } from "../api/client";

/** Where the user's own artisan request stands; "decided" when the server no longer says which way. */
export type ApplicantStatus = ArtisanStatus | "decided";

export interface AuthState {
  token: string | null;
  user: User | null;
  /** Status of the user's own request, from the API's artisan_status or from the events of their user room. */
  applicantStatus: ApplicantStatus;
}

export const initialAuthState: AuthState = { token: null, user: null, applicantStatus: "none" };

/**
 * The applicant status a freshly fetched user implies. Servers that do not send the optional
 * artisan_status (the original one) only tell pending (demande_artisan) from not pending: then a
 * decision learnt from an event is kept.
 */
export function deriveApplicantStatus(user: User, previous: ApplicantStatus): ApplicantStatus {
  if (user.artisan_status) return user.artisan_status;
  if (user.demande_artisan) return "pending";
  if (user.type_compte !== "Artisan/Promoteur") return "none";
  if (previous === "approved" || previous === "rejected") return previous;
  return "decided";
}

const authSlice = createSlice({
  name: "auth",
  initialState: initialAuthState,
  reducers: {
    loggedIn(state, action: PayloadAction<{ token: string; user: User }>) {
      state.token = action.payload.token;
      state.user = action.payload.user;
      state.applicantStatus = deriveApplicantStatus(action.payload.user, "none");
    },
    userRefreshed(state, action: PayloadAction<User>) {
      state.user = action.payload;
      state.applicantStatus = deriveApplicantStatus(action.payload, state.applicantStatus);
    },
    applicantDecided(state, action: PayloadAction<"approved" | "rejected">) {
      state.applicantStatus = action.payload;
      if (state.user) {
        state.user.demande_artisan = false;
        if (state.user.artisan_status !== undefined) state.user.artisan_status = action.payload;
      }
    },
    loggedOut() {
      return initialAuthState;
    },
  },
});

export const { loggedIn, userRefreshed, applicantDecided, loggedOut } = authSlice.actions;
export default authSlice.reducer;
