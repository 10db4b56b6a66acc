import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "react-redux";
import { createApi } from "./api/client";
import { API_BASE_URL } from "./config";
import { createRealtime } from "./realtime/realtime";
import { ServicesProvider } from "./services";
import { SocketService } from "./socket/socketService";
import { makeStore } from "./store";
import App from "./App";
import "./styles.css";

// One store, one API client and one socket per tab, created once outside React: re-renders and
// StrictMode's double effects cannot open a second socket.
const store = makeStore(window.sessionStorage);
const api = createApi(API_BASE_URL, () => store.getState().auth.token);
const sockets = new SocketService({ url: API_BASE_URL });
const realtime = createRealtime(store, api, sockets);
realtime.start();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Provider store={store}>
      <ServicesProvider services={{ api, realtime }}>
        <App />
      </ServicesProvider>
    </Provider>
  </StrictMode>,
);
