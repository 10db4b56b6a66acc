import { combineReducers, configureStore } from "@reduxjs/toolkit";
import { useDispatch, useSelector } from "react-redux";
import { api } from "../api/api";
import { sessionRestored } from "./actions";
import auth from "./authSlice";
import connection from "./connectionSlice";
import toasts from "./toastsSlice";
import decisions from "./decisionsSlice";
import settled from "./settledSlice";
import attention from "./attentionSlice";
import { createListeners, loadSession, type Deps } from "./listeners";

export type { Deps } from "./listeners";
export { SESSION_KEY, loadSession } from "./listeners";

export const rootReducer = combineReducers({ auth, connection, toasts, decisions, settled, attention, [api.reducerPath]: api.reducer });
export type RootState = ReturnType<typeof rootReducer>;

/** The tab's store; a session kept in `deps.storage` is restored at once. */
export function makeStore(deps: Deps) {
  const listeners = createListeners(deps);
  const store = configureStore({
    reducer: rootReducer,
    middleware: (getDefault) =>
      getDefault({ thunk: { extraArgument: deps } })
        .prepend(listeners.middleware)
        .concat(api.middleware),
  });
  const session = loadSession(deps.storage);
  if (session) store.dispatch(sessionRestored(session));
  return store;
}

export type AppStore = ReturnType<typeof makeStore>;
export type AppDispatch = AppStore["dispatch"];
export const useAppDispatch = useDispatch.withTypes<AppDispatch>();
export const useAppSelector = useSelector.withTypes<RootState>();
