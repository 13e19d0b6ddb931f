import { usdAmount } from '../../money';
import { when } from '../../ui/dates';
import { PageHeader } from '../../ui/layout';
import { EmptyState, ErrorNotice, Loading } from '../../ui/states';
import { useApi } from '../../ui/useApi';
import type { UncollectedList } from './types';

/** Accounts whose requests cost more than their balance or a limit could take: the rest went uncollected. */
export function Uncollected() {
  const list = useApi<UncollectedList>('/admin/uncollected?limit=200');
  return (
    <>
      <PageHeader title="Uncollected cost">A provider reported more usage than a request was held for, and the
        account’s balance (down to its credit line), its key’s limit or its team member’s limit could not take
        all of it. The rest was not charged. Most recent first.</PageHeader>
      {list.error ? <ErrorNotice error={list.error} retry={list.reload} />
        : !list.data ? <Loading label="Loading uncollected cost" rows={3} />
        : list.data.data.length === 0 ? <EmptyState title="No uncollected cost: every request was charged in full." />
        : <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Accounts with uncollected cost, most recent first</caption>
              <thead>
                <tr><th scope="col">Account</th><th scope="col">Uncollected</th><th scope="col">Requests</th>
                  <th scope="col">Latest</th></tr>
              </thead>
              <tbody>
                {list.data.data.map((row) => (
                  <tr key={row.account_id}>
                    <th scope="row"><a href={`/admin/accounts/${row.account_id}`}>{row.email}</a>
                      {row.name ? ` · ${row.name}` : ''}</th>
                    <td><span class="pill pill-uncollected">{usdAmount(row.uncollected_usd)}</span></td>
                    <td>{row.requests}</td>
                    <td>{when(row.last_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>}
    </>
  );
}
