import { useState, type FormEvent } from "react";
import { ACCOUNT_TYPES, isApiError, type AccountType } from "../api/client";
import { useRegisterMutation } from "../api/api";
import { useAppDispatch } from "../store";
import { loggedIn } from "../store/actions";

export default function RegisterPage() {
  const [register] = useRegisterMutation();
  const dispatch = useAppDispatch();
  const [prenom, setPrenom] = useState("");
  const [nom, setNom] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [typeCompte, setTypeCompte] = useState<AccountType>("Client");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    const length = [...password].length;
    if (length < 8 || length > 128) {
      setError("Le mot de passe doit contenir de 8 à 128 caractères.");
      return;
    }
    if (password !== confirm) {
      setError("Les mots de passe ne correspondent pas.");
      return;
    }
    setBusy(true);
    try {
      const res = await register({
        prenom: prenom.trim(),
        nom: nom.trim(),
        email: email.trim(),
        password,
        confirm_password: confirm,
        type_compte: typeCompte,
      }).unwrap();
      window.location.hash = "";
      dispatch(loggedIn(res));
    } catch (err) {
      setError(isApiError(err) ? err.message : "Inscription impossible.");
      setBusy(false);
    }
  }

  return (
    <main className="auth-page">
      <form className="card auth-form" onSubmit={onSubmit} aria-labelledby="register-title">
        <h1 id="register-title">Inscription</h1>
        <label htmlFor="reg-prenom">Prénom</label>
        <input id="reg-prenom" required maxLength={100} autoComplete="given-name" value={prenom} onChange={(e) => setPrenom(e.target.value)} />
        <label htmlFor="reg-nom">Nom</label>
        <input id="reg-nom" required maxLength={100} autoComplete="family-name" value={nom} onChange={(e) => setNom(e.target.value)} />
        <label htmlFor="reg-email">Email</label>
        <input id="reg-email" type="email" required maxLength={254} autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        <label htmlFor="reg-password">Mot de passe</label>
        <input id="reg-password" type="password" required autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        <label htmlFor="reg-confirm">Confirmer le mot de passe</label>
        <input id="reg-confirm" type="password" required autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} />
        <label htmlFor="reg-type">Type de compte</label>
        <select id="reg-type" value={typeCompte} onChange={(e) => setTypeCompte(e.target.value as AccountType)}>
          {ACCOUNT_TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        {error && (
          <p role="alert" className="form-error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          Créer mon compte
        </button>
        <p className="switch">
          Déjà inscrit ? <a href="#/">Aller à la connexion</a>
        </p>
      </form>
    </main>
  );
}
