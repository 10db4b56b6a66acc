import { useAppSelector } from "../store";
import type { ConnectionStatus } from "../socket/socketService";

const LABELS: Record<ConnectionStatus, string> = {
  connecting: "Connexion…",
  connected: "Connecté",
  reconnecting: "Reconnexion…",
  offline: "Hors ligne",
};

/** The live connection's state; data-state is one of connecting, connected, reconnecting, offline. */
export default function ConnectionIndicator() {
  const status = useAppSelector((s) => s.connection.status);
  const online = useAppSelector((s) => s.connection.online);
  const shown: ConnectionStatus = online ? status : "offline";
  return (
    <span className={`connection connection-${shown}`} role="status" data-testid="connection-status" data-state={status}>
      <span className="dot" aria-hidden="true" />
      <span className="collapse-label">{LABELS[shown]}</span>
    </span>
  );
}
