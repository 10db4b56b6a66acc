import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import type { ArtisanRequest } from "../api/client";
import { useDecideMutation } from "../api/api";
import { usePending } from "../api/hooks";

const dateFormat = new Intl.DateTimeFormat("fr-FR", { dateStyle: "short", timeStyle: "short" });

function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateFormat.format(d);
}

function RequestItem({ req }: { req: ArtisanRequest }) {
  const [decide] = useDecideMutation();
  const [busy, setBusy] = useState(false);
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState("");
  const reasonId = useId();

  async function approve() {
    setBusy(true);
    if ((await decide({ id: req.contact_id, decision: "approve" })).error) setBusy(false);
  }

  async function reject(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    if ((await decide({ id: req.contact_id, decision: "reject", reason })).error) setBusy(false);
  }

  return (
    <li className="request" data-testid="artisan-request" data-contact-id={req.contact_id}>
      <div className="request-who">
        <span className="request-name">{req.nom_complet}</span>
        <span className="request-email">{req.email}</span>
        <time className="request-date" dateTime={req.created_at}>
          {formatDate(req.created_at)}
        </time>
      </div>
      {!rejecting ? (
        <div className="request-actions">
          <button type="button" className="primary" disabled={busy} onClick={approve}>
            Approuver
          </button>
          <button type="button" className="danger" disabled={busy} onClick={() => setRejecting(true)}>
            Rejeter
          </button>
        </div>
      ) : (
        <form className="reject-form" onSubmit={reject}>
          <label htmlFor={reasonId}>Motif du rejet (facultatif)</label>
          <textarea id={reasonId} maxLength={1000} rows={2} value={reason} onChange={(e) => setReason(e.target.value)} />
          <div className="request-actions">
            <button type="submit" className="danger" disabled={busy}>
              Confirmer le rejet
            </button>
            <button type="button" disabled={busy} onClick={() => setRejecting(false)}>
              Annuler
            </button>
          </div>
        </form>
      )}
    </li>
  );
}

/** The PDG's bell: a button named "Notifications" whose badge shows the pending count, and its dropdown. */
export default function NotificationBell() {
  const { count, requests } = usePending();
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const panelId = useId();
  const descId = useId();

  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    const onClick = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("mousedown", onClick);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("mousedown", onClick);
    };
  }, [open]);

  return (
    <div className="bell" ref={root}>
      <button
        type="button"
        className="bell-button"
        aria-label="Notifications"
        aria-describedby={descId}
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen((o) => !o)}
      >
        <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
          <path
            fill="currentColor"
            d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
          />
        </svg>
        <span className={`badge${count === 0 ? " badge-zero" : ""}`} data-testid="bell-badge">
          {count}
        </span>
      </button>
      <span id={descId} className="visually-hidden">
        {count === 1 ? "1 demande en attente" : `${count} demandes en attente`}
      </span>
      {open && (
        <div className="bell-panel" id={panelId} role="region" aria-label="Demandes artisan en attente">
          <h2 className="bell-title">Demandes artisan en attente</h2>
          {requests.length === 0 ? (
            <p className="empty">Aucune demande en attente.</p>
          ) : (
            <ul className="request-list">
              {requests.map((r) => (
                <RequestItem key={r.contact_id} req={r} />
              ))}
            </ul>
          )}
          {count > requests.length && (
            <p className="more">
              {count - requests.length} autre(s) demande(s) non affichée(s).
            </p>
          )}
        </div>
      )}
    </div>
  );
}
