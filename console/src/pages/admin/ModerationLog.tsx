import { useState } from 'preact/hooks';
import { api, type ApiError } from '../../api';
import { when } from '../../ui/dates';
import { Field } from '../../ui/form';
import { PageHeader } from '../../ui/layout';
import { EmptyState, ErrorNotice, Loading } from '../../ui/states';
import { asApiError, useApi } from '../../ui/useApi';
import type { ModerationEntry } from './types';

const PAGE_SIZE = 100;

interface ModerationPage {
  data: ModerationEntry[];
  next_cursor: string | null;
}

/** The image moderation log: exactly its five fields, nothing about the prompt or the image. */
export function ModerationLog() {
  const [account, setAccount] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [filters, setFilters] = useState('');
  const first = useApi<ModerationPage>(`/admin/moderation-log?limit=${PAGE_SIZE}${filters}`);
  const [more, setMore] = useState<{ filters: string; rows: ModerationEntry[]; cursor: string | null }>();
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const extra = more?.filters === filters ? more : undefined;
  const rows = [...(first.data?.data ?? []), ...(extra?.rows ?? [])];
  const cursor = extra ? extra.cursor : first.data?.next_cursor ?? null;

  const apply = (event: Event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if (account.trim()) query.set('account_id', account.trim());
    if (since) query.set('since', new Date(since).toISOString());
    if (until) query.set('until', new Date(until).toISOString());
    setFilters(query.size ? `&${query}` : '');
  };
  const showMore = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const page = await api<ModerationPage>(`/admin/moderation-log?limit=${PAGE_SIZE}${filters}`
        + `&cursor=${encodeURIComponent(cursor!)}`);
      setMore({ filters, rows: [...(extra?.rows ?? []), ...page.data], cursor: page.next_cursor });
    } catch (failure) {
      setError(asApiError(failure));
    }
    setBusy(false);
  };

  return (
    <>
      <PageHeader title="Moderation log">The moderation level of every image request (terms §4.7(c)): when, which
        account, which task, which model, which level. Nothing else is kept.</PageHeader>
      <form class="filters" onSubmit={apply} aria-label="Filter the moderation log">
        <Field label="Account id" name="account_id" value={account} onInput={setAccount} placeholder="acct_…" />
        <Field label="Since" name="since" type="datetime-local" value={since} onInput={setSince} />
        <Field label="Until" name="until" type="datetime-local" value={until} onInput={setUntil} />
        <div class="actions">
          <button type="submit" class="button">Filter</button>
          <a class="button" href={`/api/admin/moderation-log/export?format=csv${filters}`} download>Download CSV</a>
        </div>
      </form>
      {first.error ? <ErrorNotice error={first.error} retry={first.reload} />
        : first.loading && !first.data ? <Loading label="Loading the moderation log" rows={4} />
        : rows.length === 0 ? <EmptyState title="No image requests match." />
        : <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Image moderation log, oldest first</caption>
              <thead>
                <tr><th scope="col">Time</th><th scope="col">Account</th><th scope="col">Task</th>
                  <th scope="col">Model</th><th scope="col">Moderation</th></tr>
              </thead>
              <tbody>
                {rows.map((row) => (
                  <tr key={row.task_id}>
                    <td>{when(row.timestamp)}</td>
                    <td><code>{row.account_id}</code></td>
                    <td><code>{row.task_id}</code></td>
                    <td>{row.model}</td>
                    <td>{row.moderation ?? 'not set'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>}
      {error && <ErrorNotice error={error} />}
      {cursor && <button type="button" class="button" disabled={busy} aria-busy={busy} onClick={showMore}>Show more</button>}
    </>
  );
}
