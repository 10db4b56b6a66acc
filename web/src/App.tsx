import { useEffect, useState } from "react";
import { useAppSelector } from "./store";
import LoginPage from "./pages/LoginPage";
import RegisterPage from "./pages/RegisterPage";
import HomePage from "./pages/HomePage";
import Toasts from "./components/Toasts";

function useHash(): string {
  const [hash, setHash] = useState(() => window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return hash;
}

export default function App() {
  const loggedIn = useAppSelector((s) => s.auth.token !== null);
  const hash = useHash();
  return (
    <>
      {loggedIn ? <HomePage route={hash} /> : hash === "#/inscription" ? <RegisterPage /> : <LoginPage />}
      <Toasts />
    </>
  );
}
