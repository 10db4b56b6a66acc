import { useState } from "react";
import { useServices } from "../services";
import { useAppDispatch, useAppSelector } from "../store";
import { loggedOut } from "../store/authSlice";
import ConnectionIndicator from "./ConnectionIndicator";
import NotificationBell from "./NotificationBell";

export default function Header() {
  const user = useAppSelector((s) => s.auth.user);
  const dispatch = useAppDispatch();
  const { api } = useServices();
  const [leaving, setLeaving] = useState(false);
  if (!user) return null;
  // The token is revoked on the server first (it must not outlive the session), then forgotten
  // here; offline, it is forgotten anyway and expires on its own.
  const logout = async () => {
    setLeaving(true);
    try {
      await api.logout();
    } catch {
      // offline or already revoked: nothing more to do here
    }
    dispatch(loggedOut());
  };
  return (
    <header className="app-header">
      <span className="brand">Artisan Notify</span>
      <div className="header-right">
        <ConnectionIndicator />
        {user.is_pdg && <NotificationBell />}
        <span className="user-name">
          {user.prenom} {user.nom}
          {user.is_pdg && <span className="role"> · PDG</span>}
        </span>
        <button type="button" onClick={() => void logout()} disabled={leaving}>
          Se déconnecter
        </button>
      </div>
    </header>
  );
}
