import { useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { useServices } from "../services";
import { useAppDispatch } from "../store";
import { loggedIn } from "../store/authSlice";

export default function LoginPage() {
  const { api } = useServices();
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
      const res = await api.login({ email: email.trim(), password });
      dispatch(loggedIn(res));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Connexion impossible.");
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
