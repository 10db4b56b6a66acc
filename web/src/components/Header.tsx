import { useState } from "react";
import { useLogoutMutation } from "../api/api";
import { useMe } from "../api/hooks";
import { useAppDispatch } from "../store";
import { loggedOut } from "../store/actions";
import ConnectionIndicator from "./ConnectionIndicator";
import NotificationBell from "./NotificationBell";

/** Under 480 px the labels collapse (visually) and only the icons stay; the names stay for screen readers. */
export default function Header({ route }: { route: string }) {
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
      <a className="brand" href="#/">
        <span aria-hidden="true" className="brand-mark">
          AN
        </span>
        <span className="brand-text">Artisan Notify</span>
      </a>
      <nav className="header-right" aria-label="Compte">
        <ConnectionIndicator />
        {user.is_pdg && (
          <a className="nav-link" href="#/demandes" aria-current={route === "#/demandes" ? "page" : undefined}>
            <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
              <path fill="currentColor" d="M4 5h16v2H4V5Zm0 6h16v2H4v-2Zm0 6h10v2H4v-2Z" />
            </svg>
            <span className="nav-label">Demandes</span>
          </a>
        )}
        {user.is_pdg && <NotificationBell />}
        <span className="user-name collapse-label">
          {user.prenom} {user.nom}
          {user.is_pdg && <span className="role"> · PDG</span>}
        </span>
        <button type="button" className="logout" onClick={() => void logout()} disabled={leaving}>
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
            <path fill="currentColor" d="M10 3h9a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2h-9v-2h9V5h-9V3Zm1 5 1.4 1.4L10.8 11H17v2h-6.2l1.6 1.6L11 16l-4-4 4-4Z" />
          </svg>
          <span className="collapse-label">Se déconnecter</span>
        </button>
      </nav>
    </header>
  );
}
