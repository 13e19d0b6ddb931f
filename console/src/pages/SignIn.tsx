import { useLocation } from 'preact-iso';
import { useState } from 'preact/hooks';
import { api, type ApiError, type Me } from '../api';
import { useSession } from '../session';
import { Field, FormError, Submit } from '../ui/form';
import { AuthLayout } from '../ui/layout';
import { asApiError } from '../ui/useApi';

export function SignIn() {
  const { query, route } = useLocation();
  const { state, signedIn } = useSession();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const notice = state.status === 'signed-out' ? state.notice : undefined;

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const me = await api<Me>('/auth/login', { method: 'POST', body: { email, password } });
      route(afterSignIn(query.next), true);
      signedIn(me);
    } catch (failure) {
      setError(asApiError(failure));
      setBusy(false);
    }
  };

  return (
    <AuthLayout title="Sign in">
      {notice && !error && <p class="notice" role="status">{notice}</p>}
      <form onSubmit={submit}>
        <Field label="Email" name="email" type="email" value={email} onInput={setEmail} autocomplete="username"
          required error={error} />
        <Field label="Password" name="password" type="password" value={password} onInput={setPassword}
          autocomplete="current-password" required error={error} />
        <FormError error={error} fields={['email', 'password']} />
        <Submit busy={busy}>{busy ? 'Signing in…' : 'Sign in'}</Submit>
      </form>
      <p class="switch"><a href="/forgot-password">Forgot your password?</a></p>
      <p class="switch">New to AllToken? <a href={query.next ? `/sign-up?next=${encodeURIComponent(query.next)}` : '/sign-up'}>
        Create an account</a></p>
    </AuthLayout>
  );
}

/** Where to go after signing in: a console path from ?next=, never another site. */
export function afterSignIn(next: string | undefined): string {
  return next && /^\/(?![/\\])/.test(next) ? next : '/';
}
