import { createSlice, isAnyOf, type PayloadAction } from "@reduxjs/toolkit";
import { loggedOut, sessionExpired } from "./actions";

export interface Toast {
  id: number;
  kind: "info" | "success" | "error";
  text: string;
  /** Toasts of a group that follow each other closely are merged into one ("3 nouvelles demandes"). */
  group?: string;
  count?: number;
  /** When it was shown or last grew (ms since the epoch): the group's window and the dismiss timer start there. */
  at: number;
}

/** Arrivals closer than this to the group's last one join it. */
export const GROUP_WINDOW_MS = 4000;
const MAX_TOASTS = 5;

let nextId = 1;

/** A new request, as a toast: alone, or joining a burst. */
export function groupArrival(state: Toast[], name: string, at: number, id: number): void {
  const last = state.find((t) => t.group === "new-request" && at - t.at < GROUP_WINDOW_MS);
  if (last) {
    last.count = (last.count ?? 1) + 1;
    last.text = `${last.count} nouvelles demandes artisan`;
    last.at = at;
    return;
  }
  state.push({ id, kind: "info", group: "new-request", count: 1, text: `Nouvelle demande artisan : ${name}`, at });
  if (state.length > MAX_TOASTS) state.shift();
}

const toastsSlice = createSlice({
  name: "toasts",
  initialState: [] as Toast[],
  reducers: {
    toastShown: {
      reducer(state, action: PayloadAction<Toast>) {
        state.push(action.payload);
        if (state.length > MAX_TOASTS) state.shift();
      },
      prepare(kind: Toast["kind"], text: string) {
        return { payload: { id: nextId++, kind, text, at: Date.now() } };
      },
    },
    arrivalToastShown: {
      reducer(state, action: PayloadAction<{ id: number; name: string; at: number }>) {
        groupArrival(state, action.payload.name, action.payload.at, action.payload.id);
      },
      prepare(name: string, at: number = Date.now()) {
        return { payload: { id: nextId++, name, at } };
      },
    },
    toastDismissed(state, action: PayloadAction<number>) {
      return state.filter((t) => t.id !== action.payload);
    },
  },
  extraReducers: (builder) => {
    builder.addMatcher(isAnyOf(loggedOut, sessionExpired), () => []);
  },
});

export const { toastShown, arrivalToastShown, toastDismissed } = toastsSlice.actions;
export default toastsSlice.reducer;
