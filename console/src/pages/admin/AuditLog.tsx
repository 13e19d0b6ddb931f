import { useState } from 'preact/hooks';
import { api, type ApiError } from '../../api';
import { when } from '../../ui/dates';
import { Field } from '../../ui/form';
import { PageHeader } from '../../ui/layout';
import { EmptyState, ErrorNotice, Loading } from '../../ui/states';
import { asApiError, useApi } from '../../ui/useApi';
import type { AuditEntry } from './types';

const PAGE_SIZE = 100;

interface AuditPage {
  entries: AuditEntry[];
  next_after: number | null;
}

export function AuditLog() {
  const [target, setTarget] = useState('');
  const [since, setSince] = useState('');
  const [filters, setFilters] = useState('');
  const first = useApi<AuditPage>(`/admin/audit-log?limit=${PAGE_SIZE}${filters}`);
  const [more, setMore] = useState<{ filters: string; rows: AuditEntry[]; after: number | null }>();
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const extra = more?.filters === filters ? more : undefined;
  const rows = [...(first.data?.entries ?? []), ...(extra?.rows ?? [])];
  const after = extra ? extra.after : first.data?.next_after ?? null;

  const apply = (event: Event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if (target.trim()) query.set('target', target.trim());
    if (since) query.set('since', new Date(since).toISOString());
    setFilters(query.size ? `&${query}` : '');
  };
  const showMore = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const page = await api<AuditPage>(`/admin/audit-log?limit=${PAGE_SIZE}${filters}&after=${after}`);
      setMore({ filters, rows: [...(extra?.rows ?? []), ...page.entries], after: page.next_after });
    } catch (failure) {
      setError(asApiError(failure));
    }
    setBusy(false);
  };

  return (
    <>
      <PageHeader title="Audit log">Who changed what, to what, when and from where; oldest first. Entries are never
        changed or deleted.</PageHeader>
      <form class="filters" onSubmit={apply} aria-label="Filter the audit log">
        <Field label="Target" name="target" value={target} onInput={setTarget}
          placeholder="acct_…, key_…, model:…, terms:…" />
        <Field label="Since" name="since" type="datetime-local" value={since} onInput={setSince} />
        <div class="actions">
          <button type="submit" class="button">Filter</button>
          <a class="button" href={`/api/admin/audit-log.csv${filters.replace(/^&/, '?')}`} download>Download CSV</a>
        </div>
      </form>
      {first.error ? <ErrorNotice error={first.error} retry={first.reload} />
        : first.loading && !first.data ? <Loading label="Loading the audit log" rows={4} />
        : rows.length === 0 ? <EmptyState title="No entries match." />
        : <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Audit log entries, oldest first</caption>
              <thead>
                <tr><th scope="col">When</th><th scope="col">Actor</th><th scope="col">Action</th>
                  <th scope="col">Target</th><th scope="col">Address</th><th scope="col">Details</th></tr>
              </thead>
              <tbody>
                {rows.map((entry) => (
                  <tr key={entry.id}>
                    <td>{when(entry.at)}</td>
                    <td><code>{entry.actor}</code></td>
                    <td>{entry.action}</td>
                    <td>{entry.target ? <code>{entry.target}</code> : '—'}</td>
                    <td>{entry.address ?? '—'}</td>
                    <td>{Object.keys(entry.details).length ? <code>{JSON.stringify(entry.details)}</code> : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>}
      {error && <ErrorNotice error={error} />}
      {after !== null && rows.length > 0 &&
        <button type="button" class="button" disabled={busy} aria-busy={busy} onClick={showMore}>Show more</button>}
    </>
  );
}
