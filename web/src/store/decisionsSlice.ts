import { createSlice, isAnyOf, type PayloadAction } from "@reduxjs/toolkit";
import { loggedOut, sessionExpired } from "./actions";

export type DecisionKind = "approve" | "reject";

/** A decision taken in this tab and not sent yet: it leaves when its undo window ends (or at pagehide). */
export interface QueuedDecision {
  id: number;
  decision: DecisionKind;
  reason?: string;
  /** Who it is about, for the undo button and the messages. */
  name: string;
  /** When it is sent (ms since the epoch). */
  dueAt: number;
}

/** A reject form: open or not, and what was typed (kept when the form, the bell or the page closes). */
export interface Draft {
  open: boolean;
  reason: string;
}

export interface DecisionsState {
  queued: Record<number, QueuedDecision>;
  drafts: Record<number, Draft>;
  /** Ids this tab sent a decision for: the events they cause are ours, not another PDG's. */
  sent: number[];
}

const initialState: DecisionsState = { queued: {}, drafts: {}, sent: [] };

const decisionsSlice = createSlice({
  name: "decisions",
  initialState,
  reducers: {
    decisionQueued(state, action: PayloadAction<QueuedDecision>) {
      state.queued[action.payload.id] = action.payload;
    },
    /** Annuler, within the window: nothing is sent, the request stays pending here and everywhere. */
    decisionUndone(state, action: PayloadAction<number>) {
      delete state.queued[action.payload];
    },
    /** The window ended: the decision leaves for the server. */
    decisionSent(state, action: PayloadAction<number>) {
      delete state.queued[action.payload];
      delete state.drafts[action.payload];
      if (!state.sent.includes(action.payload)) state.sent.push(action.payload);
    },
    /** The page is going away: every queued decision was sent with fetch keepalive. */
    decisionsFlushed(state) {
      for (const id of Object.keys(state.queued).map(Number)) {
        delete state.drafts[id];
        if (!state.sent.includes(id)) state.sent.push(id);
      }
      state.queued = {};
    },
    rejectFormOpened(state, action: PayloadAction<number>) {
      const d = state.drafts[action.payload];
      if (d) d.open = true;
      else state.drafts[action.payload] = { open: true, reason: "" };
    },
    /** Escape or "Fermer": the form closes, the reason typed so far is kept. */
    rejectFormClosed(state, action: PayloadAction<number>) {
      const d = state.drafts[action.payload];
      if (d) d.open = false;
    },
    reasonTyped(state, action: PayloadAction<{ id: number; reason: string }>) {
      const d = state.drafts[action.payload.id];
      if (d) d.reason = action.payload.reason;
      else state.drafts[action.payload.id] = { open: true, reason: action.payload.reason };
    },
    draftDiscarded(state, action: PayloadAction<number>) {
      delete state.drafts[action.payload];
    },
  },
  extraReducers: (builder) => {
    builder.addMatcher(isAnyOf(loggedOut, sessionExpired), () => initialState);
  },
});

export const {
  decisionQueued,
  decisionUndone,
  decisionSent,
  decisionsFlushed,
  rejectFormOpened,
  rejectFormClosed,
  reasonTyped,
  draftDiscarded,
} = decisionsSlice.actions;
export default decisionsSlice.reducer;

/** The path and body of a decision, as POSTed (by RTK Query, or by the keepalive flush). */
export function decisionRequest(d: Pick<QueuedDecision, "id" | "decision" | "reason">): { path: string; body: string | undefined } {
  const path = `/api/notifications/artisan-requests/${d.id}/${d.decision}`;
  if (d.decision === "approve") return { path, body: undefined };
  const reason = d.reason?.trim();
  return { path, body: JSON.stringify(reason ? { reason } : {}) };
}

/**
 * Sends every queued decision with fetch(..., {keepalive: true}), which outlives the page: called on
 * pagehide, so that closing the tab inside the undo window does not lose a decision.
 */
export function flushQueued(
  queued: Record<number, QueuedDecision>,
  { baseUrl, token, fetch: doFetch }: { baseUrl: string; token: string | null; fetch: typeof fetch },
): number {
  const list = Object.values(queued);
  if (!token) return 0;
  for (const d of list) {
    const { path, body } = decisionRequest(d);
    const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    void doFetch(baseUrl + path, { method: "POST", keepalive: true, headers, body }).catch(() => {});
  }
  return list.length;
}
