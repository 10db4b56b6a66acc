import { useEffect } from "react";
import Header from "../components/Header";
import ApplicantStatusCard from "../components/ApplicantStatus";
import DesktopNotificationsButton from "../components/DesktopNotificationsButton";
import OfflineBanner from "../components/OfflineBanner";
import { useMe, usePending } from "../api/hooks";
import { applicantStatus } from "../api/pending";
import { useTitleAndFavicon } from "../attention/attention";
import DemandesPage from "./DemandesPage";

function Home() {
  const user = useMe();
  const { count } = usePending();
  if (!user) return null;
  const status = applicantStatus(user);
  const showApplicant = status !== "none" || user.type_compte === "Artisan/Promoteur";
  return (
    <main className="home">
      <h1>Bonjour {user.prenom}</h1>
      {user.is_pdg && (
        <section className="card" aria-labelledby="pdg-title">
          <h2 id="pdg-title">Espace PDG</h2>
          <OfflineBanner />
          <p>
            {count === 0
              ? "Aucune demande artisan en attente."
              : count === 1
                ? "1 demande artisan en attente."
                : `${count} demandes artisan en attente.`}{" "}
            Ouvrez la cloche pour les traiter ; les nouvelles demandes arrivent en direct.
          </p>
          <p className="actions-row">
            <a className="button-link" href="#/demandes">
              Toutes les demandes et l'historique
            </a>
            <DesktopNotificationsButton />
          </p>
        </section>
      )}
      {showApplicant && <ApplicantStatusCard status={status} user={user} />}
      {!user.is_pdg && !showApplicant && (
        <section className="card">
          <p>Votre compte client est actif.</p>
        </section>
      )}
    </main>
  );
}

/** The signed-in app: the header, then home or (for a PDG) the Demandes page. */
export default function HomePage({ route }: { route: string }) {
  const user = useMe();
  const { count } = usePending();
  useTitleAndFavicon(user?.is_pdg ? count : 0);
  const onDemandes = route === "#/demandes" && !!user?.is_pdg;
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [onDemandes]);
  if (!user) return null;
  return (
    <>
      <Header route={route} />
      {onDemandes ? <DemandesPage /> : <Home />}
    </>
  );
}
