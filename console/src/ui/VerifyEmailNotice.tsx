import { useState } from 'preact/hooks';
import { api, type ApiError } from '../api';
import { useMe } from '../session';
import { asApiError } from './useApi';

/** Above every signed-in page while the user's email waits for verification (and the server asks for it):
 * what it holds up, and a button that sends a new link. */
export function VerifyEmailNotice() {
  const me = useMe();
  const [sent, setSent] = useState<string>();
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  if (!me.must_verify_email) return null;

  const resend = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setSent((await api<{ message: string }>('/auth/email-verification', { method: 'POST' })).message);
    } catch (failure) {
      setError(asApiError(failure));
    }
    setBusy(false);
  };

  return (
    <section class="notices" aria-label="Verify your email">
      <div class="notice notice-warn" role="status">
        <p class="notice-title">Verify your email address.</p>
        <p>We sent a link to {me.email}. Follow it to create API keys and use the Studio.</p>
        {sent && <p>{sent.charAt(0).toUpperCase() + sent.slice(1)}.</p>}
        {error && <p role="alert">{error.message}</p>}
        <button type="button" class="button" onClick={resend} disabled={busy}>
          {busy ? 'Sending…' : 'Send a new link'}
        </button>
      </div>
    </section>
  );
}
