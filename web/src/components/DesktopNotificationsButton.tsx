import { useDesktopPermission } from "../attention/attention";

/** Desktop notifications are opt-in: asked from this button, never on load. */
export default function DesktopNotificationsButton() {
  const [permission, ask] = useDesktopPermission();
  if (permission === "unsupported") return null;
  if (permission === "granted")
    return (
      <p className="notif-state" data-testid="desktop-notifications" data-state="granted">
        Notifications du bureau activées (onglet en arrière-plan).
      </p>
    );
  if (permission === "denied")
    return (
      <p className="notif-state" data-testid="desktop-notifications" data-state="denied">
        Notifications du bureau bloquées dans le navigateur.
      </p>
    );
  return (
    <button type="button" onClick={ask} data-testid="desktop-notifications" data-state="default">
      Activer les notifications du bureau
    </button>
  );
}
