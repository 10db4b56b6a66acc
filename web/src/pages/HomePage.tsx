import Header from "../components/Header";
import ApplicantStatusCard from "../components/ApplicantStatus";
import { useMe, usePending } from "../api/hooks";
import { applicantStatus } from "../api/pending";

export default function HomePage() {
  const user = useMe();
  const { count } = usePending();
  if (!user) return null;
  const status = applicantStatus(user);
  const showApplicant = status !== "none" || user.type_compte === "Artisan/Promoteur";
  return (
    <>
      <Header />
      <main className="home">
        <h1>Bonjour {user.prenom}</h1>
        {user.is_pdg && (
          <section className="card" aria-labelledby="pdg-title">
            <h2 id="pdg-title">Espace PDG</h2>
            <p>
              {count === 0
                ? "Aucune demande artisan en attente."
                : count === 1
                  ? "1 demande artisan en attente."
                  : `${count} demandes artisan en attente.`}{" "}
              Ouvrez la cloche pour les traiter ; les nouvelles demandes arrivent en direct.
            </p>
          </section>
        )}
        {showApplicant && <ApplicantStatusCard status={status} />}
        {!user.is_pdg && !showApplicant && (
          <section className="card">
            <p>Votre compte client est actif.</p>
          </section>
        )}
      </main>
    </>
  );
}
