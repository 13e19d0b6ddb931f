import { useState } from 'preact/hooks';
import type { Balance, Transaction } from '../api';
import { usdAmount } from '../money';
import { when } from '../ui/dates';
import { PageHeader } from '../ui/layout';
import { EmptyState, ErrorNotice, Loading } from '../ui/states';
import { type Loaded, useApi } from '../ui/useApi';
import { usePagedList } from '../ui/usePagedList';
import { AlertSection } from './billing/AlertForm';
import { AutoTopUpForm } from './billing/AutoTopUpForm';
import { PaymentList } from './billing/PaymentList';
import { Redeem } from './billing/Redeem';
import { TopUp } from './billing/TopUp';
import type { AutoTopUp } from './billing/types';

const PAGE_SIZE = 50;

export default function Billing() {
  const balance = useApi<Balance>('/billing/balance');
  const [ledgerVersion, setLedgerVersion] = useState(0);
  const credited = () => {
    balance.reload();
    setLedgerVersion((n) => n + 1);   // a fresh first page of transactions
  };
  return (
    <>
      <PageHeader title="Billing">Your balance, how to add credit, every credit and charge, and your monthly
        statements.</PageHeader>
      <BalanceCard balance={balance} />
      <div class="cards billing-actions">
        <CardPayments />
        <Redeem onRedeemed={credited} />
      </div>
      <AlertSection />
      <PaymentList />
      <Transactions key={ledgerVersion} />
      <Statements />
    </>
  );
}

function BalanceCard({ balance }: { balance: Loaded<Balance> }) {
  return (
    <section class="card" aria-labelledby="balance-heading">
      <h2 id="balance-heading">Balance</h2>
      {balance.error ? <ErrorNotice error={balance.error} retry={balance.reload} />
        : !balance.data ? <Loading label="Loading the balance" rows={1} />
        : <>
            <p class="figure" aria-live="polite">{usdAmount(balance.data.balance_usd)}</p>
            {balance.data.reserved_usd.replace(/[0.]/g, '') !== '' &&
              <p class="hint">{usdAmount(balance.data.reserved_usd)} held for requests in progress;{' '}
                {usdAmount(balance.data.available_usd)} available.</p>}
            <button type="button" class="button" onClick={balance.reload}>Refresh</button>
          </>}
    </section>
  );
}

/** Top-up by card and auto top-up share one read: whether this server takes cards, and the saved settings. */
function CardPayments() {
  const settings = useApi<AutoTopUp>('/billing/auto-topup');
  const [saved, setSaved] = useState<AutoTopUp>();
  const current = saved ?? settings.data;
  if (settings.error) {
    return <section class="card" aria-label="Card payments"><ErrorNotice error={settings.error} retry={settings.reload} /></section>;
  }
  if (!current) return <section class="card" aria-label="Card payments"><Loading label="Loading card payments" rows={3} /></section>;
  return (
    <>
      <TopUp settings={current} />
      <AutoTopUpForm settings={current} onSaved={setSaved} />
    </>
  );
}

/** The ledger, newest first, a page at a time ("Show more" follows the API's cursor). */
function Transactions() {
  const { first, rows, more } = usePagedList<Transaction>('/billing/transactions', PAGE_SIZE);

  return (
    <section class="card" aria-labelledby="transactions-heading">
      <div class="toolbar">
        <h2 id="transactions-heading">Transactions</h2>
        {rows.length > 0 && <a class="button" href="/api/billing/transactions.csv" download>Download CSV</a>}
      </div>
      {first.error ? <ErrorNotice error={first.error} retry={first.reload} />
        : !first.data ? <Loading label="Loading transactions" rows={3} />
        : rows.length === 0 ? <EmptyState title="No transactions yet."><p>Credits and charges appear here.</p></EmptyState>
        : <TransactionTable rows={rows} />}
      {more}
    </section>
  );
}

function TransactionTable({ rows }: { rows: Transaction[] }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Transactions, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Date</th>
            <th scope="col">Kind</th>
            <th scope="col" class="num">Amount</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id}>
              <td>{when(row.created_at)}</td>
              <td>{row.kind}</td>
              <td class="num">{usdAmount(row.amount_usd)}</td>
              <td>{row.request_id ? <code>{row.request_id}</code> : row.note ?? ''}
                {row.expires_at && <span class="hint"> Expires {when(row.expires_at)}.</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Statements() {
  const months = useApi<{ data: { month: string; complete: boolean }[] }>('/billing/statements');
  return (
    <section class="card" aria-labelledby="statements-heading">
      <h2 id="statements-heading">Monthly statements</h2>
      {months.error ? <ErrorNotice error={months.error} retry={months.reload} />
        : !months.data ? <Loading label="Loading statements" rows={2} />
        : months.data.data.length === 0 ? <EmptyState title="No statements yet." />
        : <ul class="plain statements">
            {months.data.data.map(({ month, complete }) => (
              <li key={month}>
                <a href={`/api/billing/statements/${month}.csv`} download>Statement {month} (CSV)</a>
                {!complete && <span class="tag">month in progress</span>}
              </li>
            ))}
          </ul>}
    </section>
  );
}
