import { useState } from 'preact/hooks';
import { confirmPassword } from '../../api';
import { useMe } from '../../session';

/** Data portability: everything the server holds about the account, as one JSON file. The owner's, with the
 * password confirmed (a plain download: the session cookie goes with it, and a GET needs no CSRF token). */
export function DataExport() {
  const me = useMe();
  const [cancelled, setCancelled] = useState(false);
  const download = async () => {
    setCancelled(false);
    if (!await confirmPassword()) {
      setCancelled(true);
      return;
    }
    const link = document.createElement('a');
    link.href = '/api/account/export';
    link.download = `${me.account_id}.json`;
    link.click();
  };
  return (
    <section class="card" aria-labelledby="export-heading">
      <h2 id="export-heading">Your data</h2>
      <p>Download everything AllToken holds about your account as one JSON file: the account, its users, keys
        (never their secrets), terms acceptances, ledger, usage records (ids, models, tokens and costs; no prompt or
        completion is ever kept), payments and the audit entries about it. It asks for your password first.</p>
      {cancelled && <p class="hint" role="status">Not downloaded: the password was not confirmed.</p>}
      <button type="button" class="button" onClick={download}>Download my data</button>
    </section>
  );
}
