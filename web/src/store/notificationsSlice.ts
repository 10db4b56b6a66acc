import { createSlice, type PayloadAction } from "@reduxjs/toolkit";
import type { ArtisanRequest } from "../api/client";
import { loggedOut } from "./authSlice";

export interface NotificationsState {
  /** Pending requests (the badge); may exceed requests.length when the list is paged. */
  count: number;
  /** Pending requests, newest first. */
  requests: ArtisanRequest[];
  /** Ids decided during this session: a decision is final, so they never come back as pending. */
  decidedIds: number[];
  /** True once count and list have been fetched. */
  loaded: boolean;
}

export const initialNotificationsState: NotificationsState = {
  count: 0,
  requests: [],
  decidedIds: [],
  loaded: false,
};

function newestFirst(a: ArtisanRequest, b: ArtisanRequest): number {
  const ta = Date.parse(a.created_at);
  const tb = Date.parse(b.created_at);
  if (ta !== tb) return tb - ta;
  return b.contact_id - a.contact_id;
}

const notificationsSlice = createSlice({
  name: "notifications",
  initialState: initialNotificationsState,
  reducers: {
    /** The pending count, as the server answered it. */
    setCount(state, action: PayloadAction<number>) {
      state.count = Math.max(0, action.payload);
      state.loaded = true;
    },
    /** The pending list, as the server answered it (decided ids are left out). */
    setRequests(state, action: PayloadAction<ArtisanRequest[]>) {
      const decided = new Set(state.decidedIds);
      state.requests = action.payload.filter((r) => !decided.has(r.contact_id));
    },
    /** A new request (artisan-request:new): listed and counted once, however often it arrives. */
    addRequest(state, action: PayloadAction<ArtisanRequest>) {
      const req = action.payload;
      if (state.decidedIds.includes(req.contact_id)) return;
      if (state.requests.some((r) => r.contact_id === req.contact_id)) return;
      state.requests.push(req);
      state.requests.sort(newestFirst);
      state.count += 1;
    },
    /** A decided request (approved/rejected, by an event or by our own click): removed and uncounted once. */
    removeRequest(state, action: PayloadAction<number>) {
      const id = action.payload;
      if (state.decidedIds.includes(id)) return;
      state.decidedIds.push(id);
      state.requests = state.requests.filter((r) => r.contact_id !== id);
      state.count = Math.max(0, state.count - 1);
    },
  },
  extraReducers: (builder) => {
    builder.addCase(loggedOut, () => initialNotificationsState);
  },
});

export const { setCount, setRequests, addRequest, removeRequest } = notificationsSlice.actions;
export default notificationsSlice.reducer;
