import { useState } from 'preact/hooks';
import { api, type ApiError } from '../../api';
import { when } from '../../ui/dates';
import { PageHeader } from '../../ui/layout';
import { EmptyState, ErrorNotice, Loading } from '../../ui/states';
import { asApiError, useApi } from '../../ui/useApi';
import type { AccountPage, AccountSummary } from './types';

const PAGE_SIZE = 50;

export const STATE_LABELS: Record<string, string> = {
  active: 'Active', warned: 'Warned', rate_limited: 'Rate-limited', suspended: 'Suspended',
  terminated: 'Terminated', deleted: 'Deleted',
};

/** Account search: by part of an id, email or name; newest first, a page at a time. */
export function Accounts() {
  const [typed, setTyped] = useState('');
  const [query, setQuery] = useState('');
  const first = useApi<AccountPage>(`/admin/accounts?limit=${PAGE_SIZE}&q=${encodeURIComponent(query)}`);
  const [more, setMore] = useState<{ query: string; rows: AccountSummary[]; cursor: string | null }>();
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const extra = more?.query === query ? more : undefined;
  const rows = [...(first.data?.data ?? []), ...(extra?.rows ?? [])];
  const cursor = extra ? extra.cursor : first.data?.next_cursor ?? null;

  const showMore = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const page = await api<AccountPage>(`/admin/accounts?limit=${PAGE_SIZE}&q=${encodeURIComponent(query)}`
        + `&cursor=${encodeURIComponent(cursor!)}`);
      setMore({ query, rows: [...(extra?.rows ?? []), ...page.data], cursor: page.next_cursor });
    } catch (failure) {
      setError(asApiError(failure));
    }
    setBusy(false);
  };

  return (
    <>
      <PageHeader title="Accounts">Find an account by part of its id, email or name, or a member’s email.</PageHeader>
      <form class="toolbar" role="search" onSubmit={(event) => { event.preventDefault(); setQuery(typed.trim()); }}>
        <div class="field field-inline">
          <label for="account-search">Search accounts</label>
          <input id="account-search" type="search" value={typed} placeholder="acct_…, name@example.com, Ada"
            onInput={(event) => setTyped(event.currentTarget.value)} />
        </div>
        <button type="submit" class="button">Search</button>
      </form>
      {first.error ? <ErrorNotice error={first.error} retry={first.reload} />
        : first.loading && !first.data ? <Loading label="Loading accounts" rows={4} />
        : rows.length === 0 ? <EmptyState title={query ? `No account matches “${query}”.` : 'No accounts yet.'} />
        : <AccountTable rows={rows} />}
      {error && <ErrorNotice error={error} />}
      {cursor && <button type="button" class="button" disabled={busy} aria-busy={busy} onClick={showMore}>Show more</button>}
    </>
  );
}

function AccountTable({ rows }: { rows: AccountSummary[] }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Accounts, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Name</th>
            <th scope="col">Account id</th>
            <th scope="col">Kind</th>
            <th scope="col">State</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id}>
              <th scope="row"><a href={`/admin/accounts/${row.id}`}>{row.email}</a></th>
              <td>{row.name ?? '—'}</td>
              <td><code>{row.id}</code></td>
              <td>{row.kind}</td>
              <td><span class={`pill pill-${row.status}`}>{STATE_LABELS[row.status] ?? row.status}</span></td>
              <td>{when(row.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
