import type { ApplicantStatus } from "../api/pending";

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

export default function ApplicantStatusCard({ status }: { status: ApplicantStatus }) {
  return (
    <section className="card" aria-labelledby="applicant-title">
      <h2 id="applicant-title">Votre demande artisan</h2>
      <p className={`status status-${status}`} data-testid="artisan-status" data-status={status} aria-live="polite">
        <strong>{LABEL[status]}</strong> — {TEXT[status]}
      </p>
    </section>
  );
}
