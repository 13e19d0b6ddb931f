import { useLocation } from 'preact-iso';
import { useState } from 'preact/hooks';
import { api, type ApiError, type Me } from '../api';
import { useSession } from '../session';
import { Field, FormError, Submit } from '../ui/form';
import { AuthLayout } from '../ui/layout';
import { asApiError } from '../ui/useApi';
import { afterSignIn } from './SignIn';

const MIN_PASSWORD = 10;   // the server's policy (docs/console.md)

export function SignUp() {
  const { query, route } = useLocation();
  const { signedIn } = useSession();
  const [email, setEmail] = useState(query.email ?? '');   // prefilled from an invitation link
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [terms, setTerms] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const me = await api<Me>('/auth/signup', {
        method: 'POST', body: { email, password, name: name.trim() || null, accept_terms: terms },
      });
      route(afterSignIn(query.next), true);
      signedIn(me);
    } catch (failure) {
      setError(asApiError(failure));
      setBusy(false);
    }
  };

  return (
    <AuthLayout title="Create your account">
      <form onSubmit={submit}>
        <Field label="Email" name="email" type="email" value={email} onInput={setEmail} autocomplete="email"
          required error={error} />
        <Field label="Name (optional)" name="name" value={name} onInput={setName} autocomplete="name" error={error} />
        <Field label="Password" name="password" type="password" value={password} onInput={setPassword}
          autocomplete="new-password" required minLength={MIN_PASSWORD}
          hint={`At least ${MIN_PASSWORD} characters.`} error={error} />
        <div class="check">
          <input id="field-terms" type="checkbox" checked={terms} required
            onChange={(event) => setTerms(event.currentTarget.checked)} />
          <label for="field-terms">I accept the AllToken terms of service.</label>
        </div>
        <FormError error={error} fields={['email', 'name', 'password']} />
        <Submit busy={busy}>{busy ? 'Creating your account…' : 'Create account'}</Submit>
      </form>
      <p class="switch">Already have an account? <a href={query.next ? `/sign-in?next=${encodeURIComponent(query.next)}` : '/sign-in'}>Sign in</a></p>
    </AuthLayout>
  );
}
