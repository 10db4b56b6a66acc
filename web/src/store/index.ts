import { combineReducers, configureStore } from "@reduxjs/toolkit";
import { useDispatch, useSelector } from "react-redux";
import auth, { initialAuthState, type AuthState } from "./authSlice";
import notifications from "./notificationsSlice";
import connection from "./connectionSlice";
import toasts from "./toastsSlice";

export const rootReducer = combineReducers({ auth, notifications, connection, toasts });
export type RootState = ReturnType<typeof rootReducer>;

/** Where the session (token + user) survives a reload of the tab. */
export const SESSION_KEY = "artisan-notify.session";

export function loadSession(storage: Pick<Storage, "getItem"> | undefined): AuthState {
  try {
    const raw = storage?.getItem(SESSION_KEY);
    if (!raw) return initialAuthState;
    const parsed = JSON.parse(raw) as Partial<AuthState>;
    if (typeof parsed.token !== "string" || !parsed.user || typeof parsed.user.id !== "number") return initialAuthState;
    return { token: parsed.token, user: parsed.user, applicantStatus: parsed.applicantStatus ?? "none" };
  } catch {
    return initialAuthState;
  }
}

export function makeStore(storage?: Pick<Storage, "getItem" | "setItem" | "removeItem">) {
  const store = configureStore({
    reducer: rootReducer,
    preloadedState: { auth: loadSession(storage) },
  });
  if (storage) {
    let last = store.getState().auth;
    store.subscribe(() => {
      const auth = store.getState().auth;
      if (auth === last) return;
      last = auth;
      try {
        if (auth.token) storage.setItem(SESSION_KEY, JSON.stringify(auth));
        else storage.removeItem(SESSION_KEY);
      } catch {
        // storage full or disabled: the session just won't survive a reload
      }
    });
  }
  return store;
}

export type AppStore = ReturnType<typeof makeStore>;
export type AppDispatch = AppStore["dispatch"];
export const useAppDispatch = useDispatch.withTypes<AppDispatch>();
export const useAppSelector = useSelector.withTypes<RootState>();
