import { useEffect } from "react";
import { useAppDispatch, useAppSelector } from "../store";
import { toastDismissed, type Toast } from "../store/toastsSlice";

/** How long an info toast stays (a grouped one counts from its last arrival), a success one; errors stay until closed. */
const TOAST_MS = 6000;
const SUCCESS_MS = 4000;

function ToastItem({ toast }: { toast: Toast }) {
  const dispatch = useAppDispatch();
  useEffect(() => {
    if (toast.kind === "error") return;
    const t = setTimeout(() => dispatch(toastDismissed(toast.id)), Math.max(1000, toast.at + (toast.kind === "success" ? SUCCESS_MS : TOAST_MS) - Date.now()));
    return () => clearTimeout(t);
  }, [dispatch, toast.id, toast.kind, toast.at]);
  return (
    <div className={`toast toast-${toast.kind}`} data-testid="toast" data-group={toast.group}>
      <span className="toast-text">{toast.text}</span>
      <button type="button" className="toast-close" onClick={() => dispatch(toastDismissed(toast.id))}>
        <span aria-hidden="true">×</span>
        <span className="visually-hidden">Fermer le message</span>
      </button>
    </div>
  );
}

export default function Toasts() {
  const toasts = useAppSelector((s) => s.toasts);
  return (
    <div className="toasts" role="log" aria-live="polite" aria-label="Messages">
      {toasts.map((t) => (
        <ToastItem key={t.id} toast={t} />
      ))}
    </div>
  );
}
