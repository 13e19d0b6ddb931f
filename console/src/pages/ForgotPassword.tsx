import { useState } from 'preact/hooks';
import { api, type ApiError } from '../api';
import { Field, FormError, Submit } from '../ui/form';
import { AuthLayout } from '../ui/layout';
import { asApiError } from '../ui/useApi';

/** Ask for a reset link by email. The server answers the same whether or not the email has an account. */
export function ForgotPassword() {
  const [email, setEmail] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api('/auth/password-reset', { method: 'POST', body: { email } });
      setSent(true);
    } catch (failure) {
      setError(asApiError(failure));
    }
    setBusy(false);
  };

  return (
    <AuthLayout title="Reset your password">
      {sent
        ? <p class="notice notice-ok" role="status">If an account uses {email}, a link to choose a new password is on
            its way. It works once, for one hour. Check your spam folder if it does not arrive.</p>
        : <form onSubmit={submit}>
            <p>Type the email you sign in with; we will email you a link to choose a new password.</p>
            <Field label="Email" name="email" type="email" value={email} onInput={setEmail} autocomplete="username"
              required error={error} />
            <FormError error={error} fields={['email']} />
            <Submit busy={busy}>{busy ? 'Sending…' : 'Email me a reset link'}</Submit>
          </form>}
      <p class="switch">Remembered it? <a href="/sign-in">Sign in</a></p>
    </AuthLayout>
  );
}
