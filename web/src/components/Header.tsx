import { useAppDispatch, useAppSelector } from "../store";
import { loggedOut } from "../store/authSlice";
import ConnectionIndicator from "./ConnectionIndicator";
import NotificationBell from "./NotificationBell";

export default function Header() {
  const user = useAppSelector((s) => s.auth.user);
  const dispatch = useAppDispatch();
  if (!user) return null;
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
        <button type="button" onClick={() => dispatch(loggedOut())}>
          Se déconnecter
        </button>
      </div>
    </header>
  );
}
