import { useState } from 'preact/hooks';
import { api, type ApiError, reauthenticate } from '../../api';
import { useMe, useSession } from '../../session';
import { Field, FormError } from '../../ui/form';
import { asApiError } from '../../ui/useApi';

/** Delete the account (a team, for its owner): typed confirmation and the password again; says what goes and
 * what the law keeps. */
export function DeleteAccount() {
  const me = useMe();
  const { signedOut } = useSession();
  const [open, setOpen] = useState(false);
  const [confirm, setConfirm] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await reauthenticate(password);
      await api('/account/delete', { method: 'POST', body: { confirm } });
      // A deleted team leaves the session in its user's own account; one's own account takes its sessions along.
      const stillSignedIn = await api('/auth/me').then(() => true, () => false);
      if (stillSignedIn) window.location.assign('/');
      else signedOut('Your account is deleted. Its keys no longer work, and your personal data is erased.');
    } catch (failure) {
      setError(asApiError(failure));
      setBusy(false);
    }
  };

  return (
    <section class="card danger-zone" aria-labelledby="delete-heading">
      <h2 id="delete-heading">Delete account</h2>
      <p>Deleting your account cannot be undone. At once, every API key is revoked on every server, your email,
        name and password are erased, and your usage records are detached from the keys that made them.</p>
      <p>What the law makes us keep: the ledger (credits and charges) and your terms acceptances stay for the
        legal retention period (seven years unless this server is set otherwise), then they are purged; card
        payment receipts, anonymous usage records (model, tokens, cost) and the audit log, which hold ids and never
        your email or name, are kept. Download your data first if you want a copy.</p>
      {!open
        ? <button type="button" class="button button-danger" onClick={() => setOpen(true)}>Delete my account…</button>
        : <form onSubmit={submit} class="narrow">
            <input type="email" autocomplete="username" value={me.email} readOnly hidden />
            <Field label={`Type your account id (${me.account_id}) to confirm`} name="confirm" value={confirm}
              onInput={setConfirm} required error={error} />
            <Field label="Your password" name="password" type="password" value={password} onInput={setPassword}
              autocomplete="current-password" required error={error} />
            <FormError error={error} fields={['confirm', 'password']} />
            <div class="actions">
              <button type="submit" class="button button-danger" disabled={busy || confirm !== me.account_id}
                aria-busy={busy}>Delete this account for good</button>
              <button type="button" class="button" onClick={() => setOpen(false)}>Cancel</button>
            </div>
          </form>}
    </section>
  );
}
