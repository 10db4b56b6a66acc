import { useEffect } from "react";
import { useAppDispatch, useAppSelector } from "../store";
import { toastDismissed, type Toast } from "../store/toastsSlice";

function ToastItem({ toast }: { toast: Toast }) {
  const dispatch = useAppDispatch();
  useEffect(() => {
    const t = setTimeout(() => dispatch(toastDismissed(toast.id)), 6000);
    return () => clearTimeout(t);
  }, [dispatch, toast.id]);
  return (
    <div className={`toast toast-${toast.kind}`} data-testid="toast">
      <span>{toast.text}</span>
      <button type="button" className="toast-close" aria-label="Fermer" onClick={() => dispatch(toastDismissed(toast.id))}>
        ×
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
