import { useEffect, useRef, useState } from 'preact/hooks';
import { type ApiError, onPasswordNeeded, reauthenticate } from '../api';
import { useMe } from '../session';
import { Field, FormError, Submit } from './form';
import { asApiError } from './useApi';

/** The password, asked again when an action needs it fresh (deleting or exporting the account, accepting
 * terms, a new alert address, who the owners are): the API refuses those with `reauthentication_required`
 * until the session confirms it, and `api()` then asks here and sends the action again. */
export function PasswordPrompt() {
  const me = useMe();
  const dialog = useRef<HTMLDialogElement>(null);
  const [answer, setAnswer] = useState<(confirmed: boolean) => void>();
  const [password, setPassword] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    onPasswordNeeded(() => new Promise<boolean>((resolve) => setAnswer(() => resolve)));
    return () => onPasswordNeeded(null);
  }, []);
  useEffect(() => {
    if (answer) dialog.current?.showModal();
    else dialog.current?.close();
  }, [answer]);

  const finish = (confirmed: boolean) => {
    answer?.(confirmed);
    setAnswer(undefined);
    setPassword('');
    setError(undefined);
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await reauthenticate(password);
      finish(true);
    } catch (failure) {
      setError(asApiError(failure));
    }
    setBusy(false);
  };

  return (
    <dialog ref={dialog} class="card password-prompt" aria-labelledby="password-prompt-heading"
      onCancel={(event) => { event.preventDefault(); finish(false); }}>
      <form onSubmit={submit}>
        <h2 id="password-prompt-heading">Confirm your password</h2>
        <p>This needs your password again. Once confirmed, it is not asked again for 10 minutes.</p>
        {/* Tells password managers whose password this is. */}
        <input type="email" autocomplete="username" value={me.email} readOnly hidden />
        <Field label="Password" name="password" id="field-confirm-password" type="password" value={password}
          onInput={setPassword} autocomplete="current-password" required error={error} />
        <FormError error={error} fields={['password']} />
        <div class="actions">
          <Submit busy={busy}>Confirm</Submit>
          <button type="button" class="button" onClick={() => finish(false)}>Cancel</button>
        </div>
      </form>
    </dialog>
  );
}
