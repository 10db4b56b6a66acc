import { useState } from "react";
import { useLogoutMutation } from "../api/api";
import { useMe } from "../api/hooks";
import { useAppDispatch } from "../store";
import { loggedOut } from "../store/actions";
import ConnectionIndicator from "./ConnectionIndicator";
import NotificationBell from "./NotificationBell";

export default function Header() {
  const user = useMe();
  const dispatch = useAppDispatch();
  const [revoke] = useLogoutMutation();
  const [leaving, setLeaving] = useState(false);
  if (!user) return null;
  // The token is revoked on the server first (it must not outlive the session), then forgotten
  // here; offline, it is forgotten anyway and expires on its own.
  const logout = async () => {
    setLeaving(true);
    // offline or already revoked: nothing more to do than forget it
    await revoke();
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
