import { usdAmount } from '../../money';
import { when } from '../../ui/dates';
import { EmptyState, ErrorNotice, Loading } from '../../ui/states';
import { useApi } from '../../ui/useApi';
import type { Payments } from './types';

/** Card payments, newest first, with their receipts; and the hold a failed or disputed payment puts on the API. */
export function PaymentList() {
  const payments = useApi<Payments>('/billing/payments');
  const hold = payments.data?.billing_hold;
  return (
    <section class="card" aria-labelledby="payments-heading">
      <h2 id="payments-heading">Card payments</h2>
      {hold && <p class="notice notice-error" role="alert">API access is on hold since {when(hold.since)}:{' '}
        {hold.reason ?? hold.code}. A successful top-up lifts it.</p>}
      {payments.error ? <ErrorNotice error={payments.error} retry={payments.reload} />
        : !payments.data ? <Loading label="Loading card payments" rows={2} />
        : payments.data.data.length === 0 ? <EmptyState title="No card payments yet." />
        : <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Card payments, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Date</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">Credit</th>
                  <th scope="col" class="num">Tax</th>
                  <th scope="col" class="num">Charged</th>
                  <th scope="col">Receipt</th>
                </tr>
              </thead>
              <tbody>
                {payments.data.data.map((payment) => (
                  <tr key={payment.id}>
                    <td>{when(payment.created_at)}</td>
                    <td>{payment.kind}</td>
                    <td>{payment.status}{payment.failure_message &&
                      <span class="hint"> {payment.failure_message}</span>}</td>
                    <td class="num">{usdAmount(payment.amount_usd)}</td>
                    <td class="num">{usdAmount(payment.tax_usd)}</td>
                    <td class="num">{usdAmount(payment.total_usd)}</td>
                    <td>{payment.receipt_number ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>}
    </section>
  );
}
