import { useEffect, useId, useRef, useState } from "react";
import { usePending } from "../api/hooks";
import { useAppSelector } from "../store";
import { rowsWithSettled } from "../store/settledSlice";
import OfflineBanner from "./OfflineBanner";
import { badgeCount } from "./format";
import RequestList from "./RequestList";

export function countText(count: number): string {
  return count === 1 ? "1 demande en attente" : `${count} demandes en attente`;
}

/**
 * The PDG's bell: a button named "Notifications : N demandes en attente" (its badge shows N, "999+" beyond 999) and its dropdown,
 * a full-width sheet on a phone. The dropdown lists the first page; "Voir toutes les demandes" opens the page.
 */
export default function NotificationBell() {
  const { count, requests } = usePending();
  const settled = useAppSelector((s) => s.settled);
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const title = useRef<HTMLHeadingElement>(null);
  const panelId = useId();

  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "Escape") return;
      setOpen(false);
      button.current?.focus();
    };
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

  const rows = rowsWithSettled(requests, settled);
  const pendingRows = rows.filter((r) => !r.settled).length;
  const more = count - pendingRows;

  return (
    <div className="bell" ref={root}>
      <button
        type="button"
        ref={button}
        className="bell-button"
        aria-expanded={open}
        aria-controls={panelId}
        data-testid="bell"
        onClick={() => setOpen((o) => !o)}
      >
        <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
          <path
            fill="currentColor"
            d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
          />
        </svg>
        <span className="visually-hidden">
          Notifications : {count}
          {count === 1 ? " demande en attente" : " demandes en attente"}
        </span>
        {/* capped at 999+ so that it stays on the bell; the exact count is in the name above */}
        <span className={`badge${count === 0 ? " badge-zero" : ""}`} data-testid="bell-badge" aria-hidden="true">
          {badgeCount(count)}
        </span>
      </button>
      {open && (
        <div className="bell-panel" id={panelId} role="region" aria-label="Demandes artisan en attente">
          <div className="bell-head">
            <h2 className="bell-title" ref={title} tabIndex={-1}>
              Demandes artisan en attente
            </h2>
            <button type="button" className="sheet-close" onClick={() => setOpen(false)}>
              Fermer<span className="visually-hidden"> les notifications</span>
            </button>
          </div>
          <OfflineBanner />
          {rows.length === 0 ? (
            <p className="empty">{count > 0 ? "Chargement des demandes suivantes…" : "Aucune demande en attente."}</p>
          ) : (
            <RequestList rows={rows} fallback={() => title.current} />
          )}
          <p className="bell-foot">
            <a href="#/demandes" onClick={() => setOpen(false)}>
              {more > 0 ? `Voir toutes les demandes (${count}, dont ${more} non affichée${more > 1 ? "s" : ""} ici)` : "Voir toutes les demandes et l'historique"}
            </a>
          </p>
        </div>
      )}
    </div>
  );
}
