import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api';

interface FieldProps {
  label: string;
  name: string;
  type?: 'text' | 'email' | 'password' | 'datetime-local';
  value: string;
  onInput: (value: string) => void;
  autocomplete?: string;
  required?: boolean;
  minLength?: number;
  hint?: string;
  error?: ApiError;
  placeholder?: string;
  /** The input's id when two forms on a page have a field of the same name; default `field-<name>`. */
  id?: string;
}

/** A labelled input; the API error that names this field is shown under it. */
export function Field({ label, name, type = 'text', value, onInput, autocomplete, required, minLength, hint,
  error, placeholder, id: idProp }: FieldProps) {
  const id = idProp ?? `field-${name}`;
  const mine = error && error.param === name;
  const described = [hint && `${id}-hint`, mine && `${id}-error`].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {/* Preact types each input type separately; the cast joins the ones this takes. */}
      <input id={id} name={name} type={type as 'text'} value={value} autocomplete={autocomplete} required={required}
        minLength={minLength} placeholder={placeholder} aria-invalid={mine ? 'true' : undefined} aria-describedby={described}
        onInput={(event) => onInput(event.currentTarget.value)} />
      {hint && <p class="hint" id={`${id}-hint`}>{hint}</p>}
      {mine && <p class="field-error" id={`${id}-error`} role="alert">{error.message}</p>}
    </div>
  );
}

/** An error that no field of the form shows (`fields` names those that do), announced when it appears. */
export function FormError({ error, fields = [] }: { error?: ApiError; fields?: string[] }) {
  if (!error || (error.param && fields.includes(error.param))) return null;
  return <p class="notice notice-error" role="alert">{error.message}</p>;
}

export function Submit({ busy, children }: { busy: boolean; children: ComponentChildren }) {
  return (
    <button type="submit" class="button button-primary" disabled={busy} aria-busy={busy}>
      {children}
    </button>
  );
}
