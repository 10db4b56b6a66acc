import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import type { ArtisanRequest } from "../api/client";
import { useAppDispatch, useAppSelector } from "../store";
import { decisionQueued, decisionUndone, draftDiscarded, reasonTyped, rejectFormClosed, rejectFormOpened } from "../store/decisionsSlice";
import { settledDismissed, type Settled } from "../store/settledSlice";
import { decidedLine } from "../store/decided";
import { freshSeen } from "../store/attentionSlice";
import { UNDO_MS } from "../store/listeners";
import { formatDate } from "./format";
import Email from "./Email";

/** Seconds left before a queued decision leaves, ticking. */
function useSecondsLeft(dueAt: number | undefined): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (dueAt === undefined) return;
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, [dueAt]);
  return dueAt === undefined ? 0 : Math.max(0, Math.ceil((dueAt - now) / 1000));
}

interface Props {
  req: ArtisanRequest;
  settled?: Settled;
  fresh?: boolean;
  /** Decision buttons disabled (offline). */
  disabled: boolean;
  /** A decision was taken on this row: focus moves on. */
  onDecided(id: number): void;
  undoMs?: number;
}

/**
 * One pending request: Approuver / Rejeter (named with the person), the undo window once decided, the
 * reject form (its reason kept in the store), or, decided by another PDG, greyed with who and when.
 */
export default function RequestRow({ req, settled, fresh, disabled, onDecided, undoMs = UNDO_MS }: Props) {
  const dispatch = useAppDispatch();
  const id = req.contact_id;
  const name = req.nom_complet;
  const queued = useAppSelector((s) => s.decisions.queued[id]);
  const draft = useAppSelector((s) => s.decisions.drafts[id]);
  const reasonId = useId();
  const hintId = useId();
  const textarea = useRef<HTMLTextAreaElement>(null);
  const rejectButton = useRef<HTMLButtonElement>(null);
  const left = useSecondsLeft(queued?.dueAt);
  const wasOpen = useRef(false);

  // The form opens with its reason box focused; closing it gives the focus back to Rejeter.
  useEffect(() => {
    if (draft?.open && !wasOpen.current) textarea.current?.focus();
    if (!draft?.open && wasOpen.current && !queued && !settled) rejectButton.current?.focus();
    wasOpen.current = !!draft?.open;
  }, [draft?.open, queued, settled]);

  const queue = (decision: "approve" | "reject", reason?: string) => {
    dispatch(decisionQueued({ id, decision, reason, name, dueAt: Date.now() + undoMs }));
    if (fresh) dispatch(freshSeen(id));
    onDecided(id);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    queue("reject", draft?.reason ?? "");
  };
  const onFormKey = (e: KeyboardEvent) => {
    if (e.key !== "Escape") return;
    // only the form closes (the reason stays); the bell stays open
    e.stopPropagation();
    e.nativeEvent.stopImmediatePropagation();
    dispatch(rejectFormClosed(id));
  };

  const who = (
    <div className="request-who">
      <span className="request-name">
        {name}
        {fresh && <span className="chip">Nouveau</span>}
      </span>
      <Email className="request-email" value={req.email} />
      <span className="request-date">
        Demande du <time dateTime={req.created_at}>{formatDate(req.created_at)}</time>
      </span>
    </div>
  );

  if (settled) {
    const typed = draft?.reason?.trim();
    return (
      <li className="request request-settled" data-testid="artisan-request" data-contact-id={id} data-state="settled">
        {who}
        <p className="settled-line" data-testid="decided-elsewhere">
          {decidedLine(settled)}
          {settled.reason && <span className="settled-reason"> — Motif : {settled.reason}</span>}
        </p>
        {typed && (
          <p className="kept-reason">
            Votre motif, non envoyé : <q>{typed}</q>
          </p>
        )}
        <div className="request-actions">
          <button
            type="button"
            onClick={() => {
              dispatch(settledDismissed(id));
              dispatch(draftDiscarded(id));
            }}
          >
            Masquer<span className="visually-hidden"> la demande de {name}</span>
          </button>
        </div>
      </li>
    );
  }

  if (queued) {
    const what = queued.decision === "approve" ? "Approbation" : "Rejet";
    return (
      <li className="request request-queued" data-testid="artisan-request" data-contact-id={id} data-state="queued">
        {who}
        <div className="undo-line" role="status">
          <span>
            {what} envoyé{queued.decision === "approve" ? "e" : ""} dans {left} s
          </span>
          <button type="button" className="undo" onClick={() => dispatch(decisionUndone(id))}>
            Annuler<span className="visually-hidden"> {queued.decision === "approve" ? "l'approbation" : "le rejet"} de {name}</span>
          </button>
        </div>
      </li>
    );
  }

  return (
    <li className={`request${fresh ? " request-fresh" : ""}`} data-testid="artisan-request" data-contact-id={id} data-state="pending">
      {who}
      {!draft?.open ? (
        <div className="request-actions">
          <button type="button" className="primary" data-action="approve" disabled={disabled} onClick={() => queue("approve")}>
            Approuver<span className="visually-hidden"> {name}</span>
          </button>
          <button type="button" className="danger" ref={rejectButton} disabled={disabled} onClick={() => dispatch(rejectFormOpened(id))}>
            Rejeter<span className="visually-hidden"> {name}</span>
            {draft?.reason ? <span className="draft-mark"> (motif en cours)</span> : null}
          </button>
        </div>
      ) : (
        <form className="reject-form" onSubmit={submit} onKeyDown={onFormKey}>
          <label htmlFor={reasonId}>Motif du rejet (facultatif)</label>
          <p id={hintId} className="hint">
            Le motif sera montré au demandeur.
          </p>
          <textarea
            id={reasonId}
            ref={textarea}
            aria-describedby={hintId}
            maxLength={1000}
            rows={3}
            value={draft.reason}
            onChange={(e) => dispatch(reasonTyped({ id, reason: e.target.value }))}
          />
          <div className="request-actions">
            <button type="submit" className="danger-solid" disabled={disabled}>
              Confirmer le rejet<span className="visually-hidden"> de {name}</span>
            </button>
            <button type="button" onClick={() => dispatch(rejectFormClosed(id))}>
              Replier<span className="visually-hidden"> le motif (il est gardé)</span>
            </button>
          </div>
        </form>
      )}
    </li>
  );
}
