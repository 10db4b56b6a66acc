import { useAppSelector } from "../store";
import { isDisconnected } from "../store/connectionSlice";

/** Said plainly when decisions cannot be sent. */
export default function OfflineBanner() {
  const disconnected = useAppSelector((s) => isDisconnected(s.connection));
  if (!disconnected) return null;
  return (
    <div className="offline-banner" role="alert" data-testid="offline-banner">
      <strong>Hors ligne.</strong> Les décisions sont désactivées jusqu'au retour de la connexion ; la liste sera remise à jour
      automatiquement.
    </div>
  );
}
