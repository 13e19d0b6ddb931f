import { useState } from 'preact/hooks';
import type { ApiError } from '../api';
import { useSession } from '../session';
import { accountLabel, type Membership, switchAccount } from '../teams';
import { asApiError, useApi } from './useApi';

/** The account the console acts in, and the others the user may switch to; shown with more than one. */
export function AccountSwitcher() {
  const accounts = useApi<Membership[]>('/account/memberships');
  const { retry } = useSession();
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const active = accounts.data?.find((account) => account.active);
  // Also shown with one account when the session acts in none of them (removed from its team): to get back.
  if (!accounts.data || (accounts.data.length < 2 && active)) return null;

  const change = async (accountId: string) => {
    setBusy(true);
    setError(undefined);
    try {
      await switchAccount(accountId);
      retry();   // every page loads afresh for the account now active
    } catch (failure) {
      setError(asApiError(failure));
      setBusy(false);
    }
  };

  return (
    <div class="account-switcher">
      <label for="account-switcher" class="visually-hidden">Account</label>
      <select id="account-switcher" value={active?.account_id ?? ''} disabled={busy}
        onChange={(event) => change(event.currentTarget.value)}>
        {!active && <option value="">Choose an account</option>}
        {accounts.data.map((account) => (
          <option key={account.account_id} value={account.account_id}>
            {accountLabel(account)} ({account.role})
          </option>
        ))}
      </select>
      {error && <p class="notice notice-error" role="alert">{error.message}</p>}
    </div>
  );
}
