import { createSlice, isAnyOf, type PayloadAction } from "@reduxjs/toolkit";
import { loggedOut, sessionExpired } from "./actions";

export interface Toast {
  id: number;
  kind: "info" | "success" | "error";
  text: string;
}

let nextId = 1;

const toastsSlice = createSlice({
  name: "toasts",
  initialState: [] as Toast[],
  reducers: {
    toastShown: {
      reducer(state, action: PayloadAction<Toast>) {
        state.push(action.payload);
        if (state.length > 5) state.shift();
      },
      prepare(kind: Toast["kind"], text: string) {
        return { payload: { id: nextId++, kind, text } };
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

export const { toastShown, toastDismissed } = toastsSlice.actions;
export default toastsSlice.reducer;
