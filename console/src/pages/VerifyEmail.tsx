import { useLocation } from 'preact-iso';
import { useEffect, useState } from 'preact/hooks';
import { api, type ApiError, type Me } from '../api';
import { useSession } from '../session';
import { AuthLayout } from '../ui/layout';
import { asApiError } from '../ui/useApi';

/** The emailed link's page: /verify-email?token=... confirms the address, signed in or not. */
export function VerifyEmail() {
  const { query } = useLocation();
  const { state, signedIn } = useSession();
  const [outcome, setOutcome] = useState<'verifying' | 'verified' | ApiError>('verifying');
  const token = query.token ?? '';

  useEffect(() => {
    if (!token) return;
    api('/auth/email-verification/confirm', { method: 'POST', body: { token } }).then(
      async () => {
        setOutcome('verified');
        // A signed-in console shows the change at once (the notice goes, key creation opens).
        if (state.status === 'signed-in') signedIn(await api<Me>('/auth/me'));
      },
      (failure) => setOutcome(asApiError(failure)),
    );
  }, [token]);

  const onward = state.status === 'signed-in' ? <a href="/">Go to the console</a> : <a href="/sign-in">Sign in</a>;
  return (
    <AuthLayout title="Verify your email">
      {!token
        ? <p class="notice notice-error" role="alert">This page needs the link from the verification email.</p>
        : outcome === 'verifying'
          ? <p role="status">Verifying…</p>
          : outcome === 'verified'
            ? <p class="notice notice-ok" role="status">Your email address is verified. You can create API keys.</p>
            : <p class="notice notice-error" role="alert">{outcome.message} A signed-in console page has a button
                that sends a new link.</p>}
      <p>{onward}</p>
    </AuthLayout>
  );
}
