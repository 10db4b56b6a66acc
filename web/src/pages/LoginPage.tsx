import { useState, type FormEvent } from "react";
import { isApiError } from "../api/client";
import { useLoginMutation } from "../api/api";
import { useAppDispatch } from "../store";
import { loggedIn } from "../store/actions";

export default function LoginPage() {
  const [login] = useLoginMutation();
  const dispatch = useAppDispatch();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const res = await login({ email: email.trim(), password }).unwrap();
      dispatch(loggedIn(res));
    } catch (err) {
      setError(isApiError(err) ? err.message : "Connexion impossible.");
      setBusy(false);
    }
  }

  return (
    <main className="auth-page">
      <form className="card auth-form" onSubmit={onSubmit} aria-labelledby="login-title">
        <h1 id="login-title">Connexion</h1>
        <label htmlFor="login-email">Email</label>
        <input
          id="login-email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <label htmlFor="login-password">Mot de passe</label>
        <input
          id="login-password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        {error && (
          <p role="alert" className="form-error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          Se connecter
        </button>
        <p className="switch">
          Pas encore de compte ? <a href="#/inscription">Créer un compte</a>
        </p>
      </form>
    </main>
  );
}
