import { useMe } from '../../session';

/** Data portability: everything the server holds about the account, as one JSON file. */
export function DataExport() {
  const me = useMe();
  return (
    <section class="card" aria-labelledby="export-heading">
      <h2 id="export-heading">Your data</h2>
      <p>Download everything AllToken holds about your account as one JSON file: the account, its users, keys
        (never their secrets), terms acceptances, ledger, usage records (ids, models, tokens and costs; no prompt or
        completion is ever kept), payments and the audit entries about it.</p>
      {/* A plain download: the session cookie goes with it, and a GET changes nothing, so it needs no CSRF. */}
      <a class="button" href="/api/account/export" download={`${me.account_id}.json`}>Download my data</a>
    </section>
  );
}
