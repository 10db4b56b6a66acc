import { useState, type FormEvent, type InputHTMLAttributes, type ReactNode } from "react";
import { isApiError, type AuthResponse } from "../api/client";
import { useAppDispatch } from "../store";
import { loggedIn } from "../store/actions";

interface AuthFormProps {
  /** Prefix of the title's id. */
  id: string;
  title: string;
  submitLabel: string;
  /** Shown when the failure is not an API error. */
  failure: string;
  /** Checks the fields before sending: the message to show, or null. */
  validate?: () => string | null;
  /** Sends the form (login or registration); rejects with an ApiError. */
  send: () => Promise<AuthResponse>;
  /** Run once sent, just before the session starts. */
  onSent?: () => void;
  /** The link to the other form. */
  footer: ReactNode;
  children: ReactNode;
}

/** The login and registration forms' frame: submit, busy button, error message, and the session starting. */
export default function AuthForm({ id, title, submitLabel, failure, validate, send, onSent, footer, children }: AuthFormProps) {
  const dispatch = useAppDispatch();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const invalid = validate?.() ?? null;
    setError(invalid);
    if (invalid) return;
    setBusy(true);
    try {
      const res = await send();
      onSent?.();
      dispatch(loggedIn(res));
    } catch (err) {
      setError(isApiError(err) ? err.message : failure);
      setBusy(false);
    }
  }

  return (
    <main className="auth-page">
      <form className="card auth-form" onSubmit={onSubmit} aria-labelledby={`${id}-title`}>
        <h1 id={`${id}-title`}>{title}</h1>
        {children}
        {error && (
          <p role="alert" className="form-error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {submitLabel}
        </button>
        <p className="switch">{footer}</p>
      </form>
    </main>
  );
}

type FieldProps = { id: string; label: string; value: string; onValue(value: string): void } & Omit<
  InputHTMLAttributes<HTMLInputElement>,
  "id" | "value" | "onChange"
>;

/** A labelled text input. */
export function Field({ id, label, value, onValue, ...input }: FieldProps) {
  return (
    <>
      <label htmlFor={id}>{label}</label>
      <input id={id} {...input} value={value} onChange={(e) => onValue(e.target.value)} />
    </>
  );
}
