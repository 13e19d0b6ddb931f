import { useLocation } from 'preact-iso';
import { useEffect, useState } from 'preact/hooks';
import { api, type ApiError } from '../api';
import { useSession } from '../session';
import type { InvitationPreview, Membership } from '../teams';
import { when } from '../ui/dates';
import { FormError } from '../ui/form';
import { AuthLayout } from '../ui/layout';
import { ErrorNotice, Loading } from '../ui/states';
import { asApiError } from '../ui/useApi';

/** Where an emailed invitation link lands: signed out, sign up or sign in first and come back; signed in,
 * accept it (as the invited address) and switch to the team. */
export function Invitation() {
  const { query, url } = useLocation();
  const { state } = useSession();
  const token = query.token ?? '';
  const [preview, setPreview] = useState<InvitationPreview>();
  const [error, setError] = useState<ApiError>();

  useEffect(() => {
    api<InvitationPreview>('/invitations/preview', { method: 'POST', body: { token } })
      .then(setPreview, (failure) => setError(asApiError(failure)));
  }, [token]);

  return (
    <AuthLayout title="Team invitation">
      {error ? <ErrorNotice error={error} />
        : !preview ? <Loading label="Loading the invitation" rows={2} />
        : <>
            <p><strong>{preview.team_name ?? 'A team'}</strong> invites <strong>{preview.email}</strong> to join as{' '}
              <strong>{preview.role}</strong>. The invitation expires {when(preview.expires_at)}.</p>
            {state.status === 'signed-in' ? <Accept token={token} preview={preview} signedInAs={state.me.email} />
              : <SignedOut next={url} email={preview.email} />}
          </>}
    </AuthLayout>
  );
}

function SignedOut({ next, email }: { next: string; email: string }) {
  const back = encodeURIComponent(next);
  return (
    <>
      <p>Create an AllToken account with {email}, or sign in with it, to accept.</p>
      <div class="actions">
        <a class="button button-primary" href={`/sign-up?next=${back}&email=${encodeURIComponent(email)}`}>
          Create an account
        </a>
        <a class="button" href={`/sign-in?next=${back}`}>Sign in</a>
      </div>
    </>
  );
}

function Accept({ token, preview, signedInAs }: { token: string; preview: InvitationPreview; signedInAs: string }) {
  const { route } = useLocation();
  const { retry } = useSession();
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const accept = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api<Membership>('/invitations/accept', { method: 'POST', body: { token } });
      route('/team', true);
      retry();   // the session now acts in the team
    } catch (failure) {
      setError(asApiError(failure));
      setBusy(false);
    }
  };
  const mismatch = signedInAs.toLowerCase() !== preview.email.toLowerCase();
  return (
    <>
      {mismatch && <p class="notice notice-error">You are signed in as {signedInAs}; this invitation is for{' '}
        {preview.email}. Sign out and sign in with that address to accept it.</p>}
      <FormError error={error} />
      <div class="actions">
        <button type="button" class="button button-primary" disabled={busy || mismatch} onClick={accept}>
          {busy ? 'Joining…' : `Join ${preview.team_name ?? 'the team'}`}
        </button>
        <a class="button" href="/">Not now</a>
      </div>
    </>
  );
}
