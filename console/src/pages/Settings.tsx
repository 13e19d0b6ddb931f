import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { useMe, useSession } from '../session';
import { Field, FormError, Submit } from '../ui/form';
import { PageHeader } from '../ui/layout';
import { asApiError } from '../ui/useApi';
import { DataExport } from './settings/DataExport';
import { DeleteAccount } from './settings/DeleteAccount';
import { Terms } from './settings/Terms';

export default function Settings() {
  const me = useMe();
  return (
    <>
      <PageHeader title="Settings">Your profile, password, sessions, terms and data.</PageHeader>
      <section class="card" aria-labelledby="profile-heading">
        <h2 id="profile-heading">Profile</h2>
        <dl class="facts">
          <dt>Email</dt><dd>{me.email}</dd>
          <dt>User id</dt><dd><code>{me.user_id}</code></dd>
          <dt>Account id</dt><dd><code>{me.account_id}</code></dd>
          <dt>Role</dt><dd>{me.is_admin ? 'Administrator' : 'Member'}</dd>
        </dl>
      </section>
      <PasswordChange />
      <SignOutEverywhere />
      <section class="card" aria-labelledby="team-title">
        <h2 id="team-title">Team</h2>
        <p>Members, roles, limits and invitations are on the <a href="/team">Team</a> page.</p>
      </section>
      <Terms />
      <DataExport />
      <DeleteAccount />
    </>
  );
}

function PasswordChange() {
  const me = useMe();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setDone(false);
    if (next !== again) {
      setError(new ApiError('The two new passwords differ.', 0, null, 'repeat_password'));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await api('/auth/password', { method: 'POST', body: { current_password: current, new_password: next } });
      setCurrent('');
      setNext('');
      setAgain('');
      setDone(true);
    } catch (failure) {
      setError(asApiError(failure));
    }
    setBusy(false);
  };

  return (
    <section class="card" aria-labelledby="password-heading">
      <h2 id="password-heading">Password</h2>
      <form onSubmit={submit} class="narrow">
        {/* Tells password managers whose password this is. */}
        <input type="email" autocomplete="username" value={me.email} readOnly hidden />
        <Field label="Current password" name="current_password" type="password" value={current} onInput={setCurrent}
          autocomplete="current-password" required error={error} />
        <Field label="New password" name="new_password" type="password" value={next} onInput={setNext}
          autocomplete="new-password" required minLength={10} hint="At least 10 characters." error={error} />
        <Field label="New password again" name="repeat_password" type="password" value={again} onInput={setAgain}
          autocomplete="new-password" required error={error} />
        <FormError error={error} fields={['current_password', 'new_password', 'repeat_password']} />
        {done && <p class="notice notice-ok" role="status">Password changed. Your other sessions were signed out.</p>}
        <Submit busy={busy}>Change password</Submit>
      </form>
    </section>
  );
}

function SignOutEverywhere() {
  const { signedOut } = useSession();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<ApiError>();

  const signOutEverywhere = async () => {
    try {
      await api('/auth/logout-everywhere', { method: 'POST' });
      signedOut('You are signed out on every device.');
    } catch (failure) {
      setError(asApiError(failure));
    }
  };

  return (
    <section class="card" aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Sessions</h2>
      <p>Lost a device, or signed in somewhere you should not have? End every session of your user, this one
        included.</p>
      <FormError error={error} />
      {confirming
        ? <div class="actions" role="group" aria-label="Confirm signing out everywhere">
            <button type="button" class="button button-danger" onClick={signOutEverywhere}>
              Yes, sign out everywhere
            </button>
            <button type="button" class="button" onClick={() => setConfirming(false)}>Cancel</button>
          </div>
        : <button type="button" class="button" onClick={() => setConfirming(true)}>Sign out everywhere</button>}
    </section>
  );
}
