import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { ApiError } from '../../api';
import { asApiError } from '../../ui/useApi';

/** A labelled multi-line field (reasons, summaries); the API error naming it shows under it. */
export function TextArea({ label, name, id = `field-${name}`, value, onInput, required, hint, error }: {
  label: string; name: string; id?: string; value: string; onInput: (value: string) => void; required?: boolean;
  hint?: string; error?: ApiError;
}) {
  const mine = error && error.param === name;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <textarea id={id} name={name} value={value} required={required} aria-invalid={mine ? 'true' : undefined}
        aria-describedby={[hint && `${id}-hint`, mine && `${id}-error`].filter(Boolean).join(' ') || undefined}
        onInput={(event) => onInput(event.currentTarget.value)} />
      {hint && <p class="hint" id={`${id}-hint`}>{hint}</p>}
      {mine && <p class="field-error" id={`${id}-error`} role="alert">{error.message}</p>}
    </div>
  );
}

export function Select({ label, name, value, onChange, options }: {
  label: string; name: string; value: string; onChange: (value: string) => void; options: [string, string][];
}) {
  const id = `field-${name}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} name={name} value={value} onChange={(event) => onChange(event.currentTarget.value)}>
        {options.map(([option, text]) => <option key={option} value={option}>{text}</option>)}
      </select>
    </div>
  );
}

/** A form's submission: busy while it runs, its error, and what it said when done. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState<ComponentChildren>();
  const run = async (action: () => Promise<ComponentChildren>) => {
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      setDone(await action());
    } catch (failure) {
      setError(asApiError(failure));
    }
    setBusy(false);
  };
  return { busy, error, done, run, setError };
}
