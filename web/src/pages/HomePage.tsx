import Header from "../components/Header";
import ApplicantStatusCard from "../components/ApplicantStatus";
import { useAppSelector } from "../store";

export default function HomePage() {
  const user = useAppSelector((s) => s.auth.user);
  const status = useAppSelector((s) => s.auth.applicantStatus);
  const count = useAppSelector((s) => s.notifications.count);
  if (!user) return null;
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
