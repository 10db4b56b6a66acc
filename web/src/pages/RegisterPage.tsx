import { useState } from "react";
import { useRegisterMutation } from "../api/api";
import { ACCOUNT_TYPES, type AccountType } from "../api/client";
import AuthForm, { Field } from "../components/AuthForm";

export default function RegisterPage() {
  const [register] = useRegisterMutation();
  const [prenom, setPrenom] = useState("");
  const [nom, setNom] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [typeCompte, setTypeCompte] = useState<AccountType>("Client");

  function validate(): string | null {
    const length = [...password].length;
    if (length < 8 || length > 128) return "Le mot de passe doit contenir de 8 à 128 caractères.";
    if (password !== confirm) return "Les mots de passe ne correspondent pas.";
    return null;
  }

  return (
    <AuthForm
      id="register"
      title="Inscription"
      submitLabel="Créer mon compte"
      failure="Inscription impossible."
      validate={validate}
      send={() =>
        register({
          prenom: prenom.trim(),
          nom: nom.trim(),
          email: email.trim(),
          password,
          confirm_password: confirm,
          type_compte: typeCompte,
        }).unwrap()
      }
      onSent={() => (window.location.hash = "")}
      footer={
        <>
          Déjà inscrit ? <a href="#/">Aller à la connexion</a>
        </>
      }
    >
      <Field id="reg-prenom" label="Prénom" required maxLength={100} autoComplete="given-name" value={prenom} onValue={setPrenom} />
      <Field id="reg-nom" label="Nom" required maxLength={100} autoComplete="family-name" value={nom} onValue={setNom} />
      <Field id="reg-email" label="Email" type="email" required maxLength={254} autoComplete="email" value={email} onValue={setEmail} />
      <Field id="reg-password" label="Mot de passe" type="password" required autoComplete="new-password" value={password} onValue={setPassword} />
      <Field
        id="reg-confirm"
        label="Confirmer le mot de passe"
        type="password"
        required
        autoComplete="new-password"
        value={confirm}
        onValue={setConfirm}
      />
      <label htmlFor="reg-type">Type de compte</label>
      <select id="reg-type" value={typeCompte} onChange={(e) => setTypeCompte(e.target.value as AccountType)}>
        {ACCOUNT_TYPES.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>
    </AuthForm>
  );
}
