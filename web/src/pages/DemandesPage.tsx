import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { useRequestPagesInfiniteQuery } from "../api/api";
import type { ArtisanRequest, RequestFilter } from "../api/client";
import { usePending } from "../api/hooks";
import { useAppSelector } from "../store";
import { rowsWithSettled } from "../store/settledSlice";
import { decidedLine, decisionInfo } from "../store/decided";
import DesktopNotificationsButton from "../components/DesktopNotificationsButton";
import OfflineBanner from "../components/OfflineBanner";
import RequestList from "../components/RequestList";
import { badgeCount, formatDate } from "../components/format";
import Email from "../components/Email";

const TABS: { id: RequestFilter; label: string }[] = [
  { id: "pending", label: "En attente" },
  { id: "approved", label: "Approuvées" },
  { id: "rejected", label: "Refusées" },
  { id: "all", label: "Toutes" },
];

function HistoryRow({ req }: { req: ArtisanRequest }) {
  const decided = req.status === "approved" || req.status === "rejected";
  const info = decisionInfo(req.status === "approved" || req.status === "rejected" ? req.status : undefined, req);
  return (
    <li className="request history-row" data-testid="history-request" data-contact-id={req.contact_id} data-status={req.status}>
      <div className="request-who">
        <span className="request-name">{req.nom_complet}</span>
        <Email className="request-email" value={req.email} />
        <span className="request-date">
          Demande du <time dateTime={req.created_at}>{formatDate(req.created_at)}</time>
        </span>
      </div>
      <p className={`status-line status-${req.status ?? "pending"}`}>
        {decided ? decidedLine(info) : "En attente de décision"}
      </p>
      {req.status === "rejected" && <p className="history-reason">{req.reason ? <>Motif : <q>{req.reason}</q></> : "Sans motif"}</p>}
    </li>
  );
}

/** Every request: the pending ones to decide, the history (who decided, when, why), a search, and paging. */
export default function DemandesPage() {
  const [tab, setTab] = useState<RequestFilter>("pending");
  const [typed, setTyped] = useState("");
  const [q, setQ] = useState("");
  const pending = usePending();
  const settled = useAppSelector((s) => s.settled);
  const heading = useRef<HTMLHeadingElement>(null);
  const tabRefs = useRef<(HTMLButtonElement | null)[]>([]);

  useEffect(() => {
    const t = setTimeout(() => setQ(typed.trim()), 300);
    return () => clearTimeout(t);
  }, [typed]);

  const { data, isFetching, isLoading, isError, hasNextPage, fetchNextPage, isFetchingNextPage } = useRequestPagesInfiniteQuery({ status: tab, q });
  const seen = new Set<number>();
  const requests: ArtisanRequest[] = [];
  for (const page of data?.pages ?? []) {
    for (const r of page.requests) {
      if (seen.has(r.contact_id)) continue;
      seen.add(r.contact_id);
      requests.push(r);
    }
  }
  const total = data?.pages[0]?.count ?? 0;
  // with no search, the pending total is the bell's count (both kept live), so the two never disagree
  const shownTotal = tab === "pending" && !q ? pending.count : total;
  const needle = q.toLowerCase();
  const rows =
    tab === "pending"
      ? rowsWithSettled(
          requests.filter((r) => !pending.decided.includes(r.contact_id) || settled[r.contact_id]),
          settled,
          (id) => !needle || `${settled[id]?.request.nom_complet} ${settled[id]?.request.email}`.toLowerCase().includes(needle),
        )
      : [];
  const listedPending = rows.filter((r) => !r.settled).length;

  const onTabKey = (e: KeyboardEvent, i: number) => {
    const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
    if (!d) return;
    e.preventDefault();
    const j = (i + d + TABS.length) % TABS.length;
    setTab(TABS[j].id);
    tabRefs.current[j]?.focus();
  };

  return (
    <main className="page">
      <div className="page-head">
        <h1 ref={heading} tabIndex={-1}>
          Demandes artisan
        </h1>
        <DesktopNotificationsButton />
      </div>
      <OfflineBanner />
      <div className="tabs" role="tablist" aria-label="Quelles demandes">
        {TABS.map((t, i) => (
          <button
            key={t.id}
            ref={(el) => {
              tabRefs.current[i] = el;
            }}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls="requests-panel"
            tabIndex={tab === t.id ? 0 : -1}
            onClick={() => setTab(t.id)}
            onKeyDown={(e) => onTabKey(e, i)}
          >
            {t.label}
            {t.id === "pending" && (
              <>
                <span className="tab-count" aria-hidden="true">
                  {badgeCount(pending.count)}
                </span>
                <span className="visually-hidden"> ({pending.count})</span>
              </>
            )}
          </button>
        ))}
      </div>
      <div className="search">
        <label htmlFor="requests-search">Rechercher un nom ou un email</label>
        <input id="requests-search" type="search" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" />
      </div>
      <section id="requests-panel" role="tabpanel" aria-labelledby={`tab-${tab}`} className="card list-card" aria-busy={isFetching}>
        <p className="list-summary" aria-live="polite" data-testid="list-summary">
          {isLoading
            ? "Chargement…"
            : isError
              ? "Impossible de charger les demandes. Elles seront rechargées au retour de la connexion."
              : tab === "pending"
                ? `${listedPending} affichée${listedPending > 1 ? "s" : ""} sur ${shownTotal} en attente${q ? ` pour « ${q} »` : ""}`
                : `${requests.length} affichée${requests.length > 1 ? "s" : ""} sur ${total}${q ? ` pour « ${q} »` : ""}`}
        </p>
        {tab === "pending" ? (
          rows.length === 0 && !isLoading ? (
            <p className="empty">{q ? "Aucune demande en attente ne correspond." : "Aucune demande en attente."}</p>
          ) : (
            <RequestList rows={rows} fallback={() => heading.current} />
          )
        ) : requests.length === 0 && !isLoading ? (
          <p className="empty">Aucune demande.</p>
        ) : (
          <ul className="request-list">
            {requests.map((r) => (
              <HistoryRow key={r.contact_id} req={r} />
            ))}
          </ul>
        )}
        {hasNextPage && (
          <button type="button" className="more-button" disabled={isFetchingNextPage} onClick={() => void fetchNextPage()}>
            {isFetchingNextPage ? "Chargement…" : "Voir plus"}
          </button>
        )}
      </section>
    </main>
  );
}
