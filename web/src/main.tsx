import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "react-redux";
import { API_BASE_URL } from "./config";
import { SocketService } from "./socket/socketService";
import { makeStore } from "./store";
import App from "./App";
import "./styles.css";

// One store and one socket per tab, created once outside React: re-renders and StrictMode's double
// effects cannot open a second socket. The listener middleware connects it when a session starts.
const store = makeStore({
  baseUrl: API_BASE_URL,
  sockets: new SocketService({ url: API_BASE_URL }),
  storage: window.sessionStorage,
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Provider store={store}>
      <App />
    </Provider>
  </StrictMode>,
);
