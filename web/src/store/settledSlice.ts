import { createSlice, isAnyOf, type PayloadAction } from "@reduxjs/toolkit";
import type { ArtisanRequest } from "../api/client";
import { loggedOut, sessionExpired } from "./actions";

/** Who decided a request, when, and why (for a rejection). */
export interface DecisionInfo {
  status: "approved" | "rejected";
  by?: { id: number; name: string };
  at?: string;
  reason?: string;
}

/**
 * A request another PDG decided while it was on this PDG's screen: it stays where it was, greyed, saying who
 * decided and when, until dismissed (a reason typed meanwhile is kept with it).
 */
export interface Settled extends DecisionInfo {
  request: ArtisanRequest;
}

const settledSlice = createSlice({
  name: "settled",
  initialState: {} as Record<number, Settled>,
  reducers: {
    settledElsewhere(state, action: PayloadAction<Settled>) {
      const id = action.payload.request.contact_id;
      // an event and a 409 may both tell it: keep what each knows
      state[id] = { ...state[id], ...action.payload, by: action.payload.by ?? state[id]?.by, at: action.payload.at ?? state[id]?.at };
    },
    settledDismissed(state, action: PayloadAction<number>) {
      delete state[action.payload];
    },
  },
  extraReducers: (builder) => {
    builder.addMatcher(isAnyOf(loggedOut, sessionExpired), () => ({}));
  },
});

export const { settledElsewhere, settledDismissed } = settledSlice.actions;
export default settledSlice.reducer;

function newestFirst(a: ArtisanRequest, b: ArtisanRequest): number {
  const ta = Date.parse(a.created_at);
  const tb = Date.parse(b.created_at);
  if (ta !== tb) return tb - ta;
  return b.contact_id - a.contact_id;
}

/** A row of a list of pending requests: still pending, or decided elsewhere and kept in place. */
export interface Row {
  request: ArtisanRequest;
  settled?: Settled;
}

/**
 * The rows to show: the pending requests plus those decided elsewhere that were shown and are not dismissed,
 * each in its place (newest first). `within` limits the settled ones to the span of the listed page, so that a
 * page does not grow rows that were never on it.
 */
export function rowsWithSettled(pending: readonly ArtisanRequest[], settled: Record<number, Settled>, shown?: (id: number) => boolean): Row[] {
  const rows: Row[] = pending.filter((r) => !settled[r.contact_id]).map((request) => ({ request }));
  for (const s of Object.values(settled)) {
    if (shown && !shown(s.request.contact_id)) continue;
    rows.push({ request: s.request, settled: s });
  }
  return rows.sort((a, b) => newestFirst(a.request, b.request));
}
