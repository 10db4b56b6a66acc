import { createSlice, isAnyOf, type PayloadAction } from "@reduxjs/toolkit";
import { loggedOut, sessionExpired } from "./actions";

export interface AttentionState {
  /** Requests that arrived while the tab was disconnected (shown highlighted after the resync). */
  fresh: number[];
  /** Ids pending when the connection was lost; null while connected. */
  away: number[] | null;
}

const initialState: AttentionState = { fresh: [], away: null };

const attentionSlice = createSlice({
  name: "attention",
  initialState,
  reducers: {
    wentAway(state, action: PayloadAction<number[]>) {
      if (state.away === null) state.away = action.payload;
    },
    cameBack(state, action: PayloadAction<number[]>) {
      state.fresh = action.payload;
      state.away = null;
    },
    freshSeen(state, action: PayloadAction<number>) {
      state.fresh = state.fresh.filter((id) => id !== action.payload);
    },
  },
  extraReducers: (builder) => {
    builder.addMatcher(isAnyOf(loggedOut, sessionExpired), () => initialState);
  },
});

export const { wentAway, cameBack, freshSeen } = attentionSlice.actions;
export default attentionSlice.reducer;

/** What came in while away: the ids listed now that were not pending when the connection was lost. */
export function newSince(away: readonly number[], now: readonly number[]): number[] {
  const before = new Set(away);
  return now.filter((id) => !before.has(id));
}
