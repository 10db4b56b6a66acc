import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "react-redux";
import { API_BASE_URL } from "./config";
import { SocketService } from "./socket/socketService";
import { makeStore } from "./store";
import { browserOnlineChanged } from "./store/connectionSlice";
import { decisionsFlushed, flushQueued } from "./store/decisionsSlice";
import { showDesktopNotification } from "./attention/attention";
import App from "./App";
import "./styles.css";

// One store and one socket per tab, created once outside React: re-renders and StrictMode's double
// effects cannot open a second socket. The listener middleware connects it when a session starts.
const store = makeStore({
  baseUrl: API_BASE_URL,
  sockets: new SocketService({ url: API_BASE_URL }),
  storage: window.sessionStorage,
  notify: showDesktopNotification,
  isHidden: () => document.hidden,
});

// The browser's own view of the network: offline, the decision buttons are disabled at once.
store.dispatch(browserOnlineChanged(navigator.onLine));
window.addEventListener("online", () => store.dispatch(browserOnlineChanged(true)));
window.addEventListener("offline", () => store.dispatch(browserOnlineChanged(false)));

// Decisions still in their undo window leave with the page (fetch keepalive outlives it).
window.addEventListener("pagehide", () => {
  const s = store.getState();
  if (flushQueued(s.decisions.queued, { baseUrl: API_BASE_URL, token: s.auth.token, fetch: window.fetch.bind(window) }) > 0) {
    store.dispatch(decisionsFlushed());
  }
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Provider store={store}>
      <App />
    </Provider>
  </StrictMode>,
);
