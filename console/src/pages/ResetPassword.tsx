import { useLocation } from 'preact-iso';
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { useSession } from '../session';
import { Field, FormError, Submit } from '../ui/form';
import { AuthLayout } from '../ui/layout';
import { asApiError } from '../ui/useApi';

const MIN_PASSWORD = 10;   // the server's policy (docs/console.md)

/** The emailed link's page: /reset-password?token=... sets a new password, then signs in afresh. */
export function ResetPassword() {
  const { query } = useLocation();
  const { signedOut } = useSession();
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const token = query.token ?? '';

  const submit = async (event: Event) => {
    event.preventDefault();
    if (password !== again) {
      setError(new ApiError('The two passwords differ.', 0, null, 'repeat_password'));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await api('/auth/password-reset/confirm', { method: 'POST', body: { token, new_password: password } });
      // Every session of the user ended with the reset, this browser's too.
      signedOut('Your new password is set, and every session was signed out. Sign in with it.');
    } catch (failure) {
      setError(asApiError(failure));
      setBusy(false);
    }
  };

  return (
    <AuthLayout title="Choose a new password">
      {!token
        ? <p class="notice notice-error" role="alert">This page needs the link from the reset email.{' '}
            <a href="/forgot-password">Ask for a new link</a>.</p>
        : <form onSubmit={submit}>
            <Field label="New password" name="new_password" type="password" value={password} onInput={setPassword}
              autocomplete="new-password" required minLength={MIN_PASSWORD}
              hint={`At least ${MIN_PASSWORD} characters.`} error={error} />
            <Field label="New password again" name="repeat_password" type="password" value={again} onInput={setAgain}
              autocomplete="new-password" required error={error} />
            <FormError error={error} fields={['new_password', 'repeat_password']} />
            {error?.param === 'token' && <p><a href="/forgot-password">Ask for a new link</a></p>}
            <Submit busy={busy}>{busy ? 'Saving…' : 'Set new password'}</Submit>
          </form>}
    </AuthLayout>
  );
}
