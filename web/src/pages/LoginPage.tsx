import { useState } from "react";
import { useLoginMutation } from "../api/api";
import AuthForm, { Field } from "../components/AuthForm";

export default function LoginPage() {
  const [login] = useLoginMutation();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  return (
    <AuthForm
      id="login"
      title="Connexion"
      submitLabel="Se connecter"
      failure="Connexion impossible."
      send={() => login({ email: email.trim(), password }).unwrap()}
      footer={
        <>
          Pas encore de compte ? <a href="#/inscription">Créer un compte</a>
        </>
      }
    >
      <Field id="login-email" label="Email" type="email" autoComplete="username" required value={email} onValue={setEmail} />
      <Field
        id="login-password"
        label="Mot de passe"
        type="password"
        autoComplete="current-password"
        required
        value={password}
        onValue={setPassword}
      />
    </AuthForm>
  );
}
