import { useState } from 'preact/hooks';
import { api } from '../../api';
import { usdAmount } from '../../money';
import { when } from '../../ui/dates';
import { Field, FormError, Submit } from '../../ui/form';
import { PageHeader } from '../../ui/layout';
import { EmptyState, ErrorNotice, Loading } from '../../ui/states';
import { useApi } from '../../ui/useApi';
import { STATE_LABELS } from './Accounts';
import { Select, TextArea, useAction } from './fields';
import type { AccountDetail, Correction, Enforcement } from './types';

/** One account: its figures and state, credit corrections, and enforcement with a reason. */
export function AccountView({ id }: { id: string }) {
  const account = useApi<AccountDetail>(`/admin/accounts/${encodeURIComponent(id)}`);
  if (account.error) {
    return (
      <>
        <PageHeader title="Account" />
        <ErrorNotice error={account.error} retry={account.reload} />
        <p><a href="/admin/accounts">Back to accounts</a></p>
      </>
    );
  }
  if (!account.data) {
    return <><PageHeader title="Account" /><Loading label="Loading the account" rows={4} /></>;
  }
  const data = account.data;
  return (
    <>
      <PageHeader title={data.email}>Account <code>{data.id}</code>{data.name ? ` · ${data.name}` : ''}.{' '}
        <a href="/admin/accounts">Back to accounts</a></PageHeader>
      <Facts account={data} />
      <div class="cards">
        <CreditForm account={data} changed={account.reload} />
        <EnforcementForm account={data} changed={account.reload} />
      </div>
      <History actions={data.enforcement} />
    </>
  );
}

function Facts({ account }: { account: AccountDetail }) {
  return (
    <section class="card" aria-labelledby="facts-heading">
      <h2 id="facts-heading">Summary</h2>
      <dl class="facts">
        <dt>Balance</dt><dd class="balance">{usdAmount(account.balance_usd)}</dd>
        <dt>Held for requests</dt><dd>{usdAmount(account.reserved_usd)}</dd>
        <dt>Uncollected</dt>
        <dd>{Number(account.uncollected_usd) > 0
          ? <><span class="pill pill-uncollected">{usdAmount(account.uncollected_usd)}</span> cost beyond what its
            balance or limits could take (<a href="/admin/uncollected">all accounts</a>)</>
          : 'None'}</dd>
        <dt>Spend this month</dt>
        <dd>{usdAmount(account.spend_this_month_usd)} over {account.requests_this_month} requests</dd>
        <dt>State</dt>
        <dd><span class={`pill pill-${account.status}`}>{STATE_LABELS[account.status] ?? account.status}</span>
          {account.status_reason && <> Reason: {account.status_reason}</>}</dd>
        <dt>Billing hold</dt>
        <dd>{account.billing_hold ? `${account.billing_hold}: ${account.billing_hold_reason ?? ''}` : 'None'}</dd>
        <dt>API keys</dt><dd>{account.keys_active} active of {account.keys_total}</dd>
        <dt>Kind</dt><dd>{account.kind}</dd>
        <dt>Created</dt><dd>{when(account.created_at)}</dd>
        <dt>Users</dt>
        <dd>{account.users.length === 0 ? 'None (API keys only)' : (
          <ul class="plain">
            {account.users.map((user) => (
              <li key={user.id}>{user.email} <code>{user.id}</code>{user.is_admin && <span class="tag">admin</span>}</li>
            ))}
          </ul>)}</dd>
      </dl>
    </section>
  );
}

const CORRECTIONS: [string, string][] = [
  ['adjustments', 'Adjustment (negative takes credit back)'],
  ['refunds', 'Refund of paid credit (returned outside AllToken)'],
];

function CreditForm({ account, changed }: { account: AccountDetail; changed: () => void }) {
  const [kind, setKind] = useState('adjustments');
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    action.run(async () => {
      const done = await api<Correction>(`/admin/accounts/${account.id}/${kind}`, {
        method: 'POST', body: { amount_usd: amount.trim(), reason },
      });
      setAmount('');
      setReason('');
      changed();
      return `Recorded ${usdAmount(done.amount_usd)}. The balance is now ${usdAmount(done.balance_usd)}.`;
    });
  };
  return (
    <section class="card" aria-labelledby="credit-heading">
      <h2 id="credit-heading">Credit</h2>
      <form onSubmit={submit}>
        <Select label="Correction" name="correction" value={kind} onChange={setKind} options={CORRECTIONS} />
        <Field label="Amount in USD" name="amount_usd" value={amount} onInput={setAmount} required
          placeholder="5.00" error={action.error} />
        <TextArea label="Reason for the credit change" name="reason" id="credit-reason" value={reason} onInput={setReason} required
          hint="Recorded with the entry and shown to the account." error={action.error} />
        <FormError error={action.error} fields={['amount_usd', 'reason']} />
        {action.done && <p class="notice notice-ok" role="status">{action.done}</p>}
        <Submit busy={action.busy}>Record the correction</Submit>
      </form>
    </section>
  );
}

const ACTIONS: [string, string][] = [
  ['warned', 'Warn'], ['rate_limited', 'Rate-limit'], ['suspended', 'Suspend'], ['terminated', 'Terminate (final)'],
  ['active', 'Reinstate'],
];

function EnforcementForm({ account, changed }: { account: AccountDetail; changed: () => void }) {
  const [state, setState] = useState('warned');
  const [reason, setReason] = useState('');
  const [sure, setSure] = useState(false);
  const action = useAction();
  const terminated = account.status === 'terminated';
  const submit = (event: Event) => {
    event.preventDefault();
    action.run(async () => {
      const done = await api<Enforcement>(`/admin/accounts/${account.id}/enforcement`, {
        method: 'POST', body: { state, reason },
      });
      setReason('');
      setSure(false);
      changed();
      return `The account is now ${STATE_LABELS[done.state].toLowerCase()}. Every server applies it within a second.`;
    });
  };
  return (
    <section class="card" aria-labelledby="enforcement-heading">
      <h2 id="enforcement-heading">Enforcement</h2>
      {terminated ? <p>This account was terminated. Termination is final.</p> : (
        <form onSubmit={submit}>
          <Select label="Action" name="state" value={state} onChange={setState} options={ACTIONS} />
          <TextArea label="Reason for the action" name="reason" id="enforcement-reason" value={reason} onInput={setReason} required
            hint="The account sees it on every page of its console and in API errors." error={action.error} />
          {state === 'terminated' && (
            <div class="check">
              <input id="terminate-sure" type="checkbox" checked={sure} required
                onChange={(event) => setSure(event.currentTarget.checked)} />
              <label for="terminate-sure">I understand termination is final: its keys are revoked for good.</label>
            </div>
          )}
          <FormError error={action.error} fields={['reason']} />
          {action.done && <p class="notice notice-ok" role="status">{action.done}</p>}
          <Submit busy={action.busy}>Apply</Submit>
        </form>
      )}
    </section>
  );
}

function History({ actions }: { actions: Enforcement[] }) {
  return (
    <section class="card" aria-labelledby="history-heading">
      <h2 id="history-heading">Enforcement history</h2>
      {actions.length === 0 ? <EmptyState title="No enforcement actions." /> : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Changes of the account’s state, newest first</caption>
            <thead>
              <tr><th scope="col">When</th><th scope="col">From</th><th scope="col">To</th>
                <th scope="col">Reason</th><th scope="col">By</th></tr>
            </thead>
            <tbody>
              {[...actions].reverse().map((one) => (
                <tr key={one.id}>
                  <td>{when(one.at)}</td>
                  <td>{STATE_LABELS[one.previous_state] ?? one.previous_state}</td>
                  <td>{STATE_LABELS[one.state] ?? one.state}</td>
                  <td>{one.reason}</td>
                  <td><code>{one.actor}</code></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
