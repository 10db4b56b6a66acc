import { useRef } from "react";
import { useAppDispatch, useAppSelector } from "../store";
import { draftDiscarded } from "../store/decisionsSlice";
import { settledDismissed } from "../store/settledSlice";
import { isDisconnected } from "../store/connectionSlice";
import type { Row } from "../store/settledSlice";
import RequestRow from "./RequestRow";

/**
 * Pending requests with their actions. After a decision the focus moves to the next request still to
 * decide (else the previous one, else `fallback`), never to the page's body.
 */
export default function RequestList({ rows, fallback }: { rows: Row[]; fallback?: () => HTMLElement | null }) {
  const list = useRef<HTMLUListElement>(null);
  const disabled = useAppSelector((s) => isDisconnected(s.connection));
  const fresh = useAppSelector((s) => s.attention.fresh);
  const dispatch = useAppDispatch();
  const settledIds = rows.filter((r) => r.settled).map((r) => r.request.contact_id);
  const dismissAll = () => {
    for (const id of settledIds) {
      dispatch(settledDismissed(id));
      dispatch(draftDiscarded(id));
    }
    fallback?.()?.focus();
  };

  const onDecided = (id: number) => {
    // after React has drawn the decided row in its undo state
    requestAnimationFrame(() => {
      const items = [...(list.current?.querySelectorAll<HTMLElement>('li[data-state="pending"]') ?? [])];
      const all = [...(list.current?.querySelectorAll<HTMLElement>("li[data-contact-id]") ?? [])];
      const at = all.findIndex((li) => li.dataset.contactId === String(id));
      const next =
        items.find((li) => all.indexOf(li) > at) ?? [...items].reverse().find((li) => all.indexOf(li) < at);
      const target = next?.querySelector<HTMLElement>("button") ?? fallback?.() ?? null;
      target?.focus();
    });
  };

  return (
    <>
      {settledIds.length > 1 && (
        <p className="settled-bar">
          {settledIds.length} demandes traitées par d'autres PDG restent affichées.{" "}
          <button type="button" onClick={dismissAll}>
            Tout masquer
          </button>
        </p>
      )}
      <ul className="request-list" ref={list}>
      {rows.map((r) => (
        <RequestRow
          key={r.request.contact_id}
          req={r.request}
          settled={r.settled}
          fresh={fresh.includes(r.request.contact_id)}
          disabled={disabled}
          onDecided={onDecided}
        />
      ))}
      </ul>
    </>
  );
}
