import type { User } from "../api/client";
import type { ApplicantStatus } from "../api/pending";
import { formatDate } from "./format";

const TEXT: Record<ApplicantStatus, string> = {
  none: "Vous n'avez pas de demande artisan.",
  pending: "Votre demande est en attente de validation par un PDG.",
  approved: "Votre demande a été approuvée. Bienvenue parmi nos artisans !",
  rejected: "Votre demande a été refusée.",
  decided: "Votre demande a été traitée.",
};

const LABEL: Record<ApplicantStatus, string> = {
  none: "Aucune demande",
  pending: "En attente",
  approved: "Approuvée",
  rejected: "Refusée",
  decided: "Traitée",
};

/** The applicant's own request: where it stands and, once decided, when and (for a rejection) why. */
export default function ApplicantStatusCard({ status, user }: { status: ApplicantStatus; user: User }) {
  const decidedAt = status === "approved" || status === "rejected" ? user.artisan_decided_at : undefined;
  const reason = status === "rejected" ? user.artisan_reason?.trim() : undefined;
  return (
    <section className="card" aria-labelledby="applicant-title">
      <h2 id="applicant-title">Votre demande artisan</h2>
      <div aria-live="polite">
        <p className={`status status-${status}`} data-testid="artisan-status" data-status={status}>
          <strong>{LABEL[status]}</strong> — {TEXT[status]}
        </p>
        {decidedAt && (
          <p className="decision-date" data-testid="artisan-decided-at">
            Décision du <time dateTime={decidedAt}>{formatDate(decidedAt)}</time>
          </p>
        )}
        {status === "rejected" && (
          <p className="decision-reason" data-testid="artisan-reason">
            {reason ? (
              <>
                Motif donné : <q>{reason}</q>
              </>
            ) : (
              "Aucun motif n'a été donné."
            )}
          </p>
        )}
      </div>
    </section>
  );
}
