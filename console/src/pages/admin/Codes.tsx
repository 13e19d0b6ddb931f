import { useState } from 'preact/hooks';
import { api } from '../../api';
import { usdAmount } from '../../money';
import { when } from '../../ui/dates';
import { Field, FormError, Submit } from '../../ui/form';
import { PageHeader } from '../../ui/layout';
import { EmptyState, ErrorNotice, Loading } from '../../ui/states';
import { useApi } from '../../ui/useApi';
import { useAction } from './fields';
import type { CodeRow, CreatedCodes } from './types';

export function Codes() {
  const codes = useApi<{ data: CodeRow[] }>('/admin/codes');
  const [made, setMade] = useState<CreatedCodes>();
  return (
    <>
      <PageHeader title="Redemption codes">Codes worth credit that accounts redeem from their Billing page or with
        <code> POST /v1/credits/redeem</code>. Only their hashes are kept: a code is shown once, when it is made.</PageHeader>
      <CreateCodes made={(batch) => { setMade(batch); codes.reload(); }} />
      {made && <NewCodes batch={made} done={() => setMade(undefined)} />}
      <section class="card" aria-labelledby="codes-heading">
        <h2 id="codes-heading">Codes</h2>
        {codes.error ? <ErrorNotice error={codes.error} retry={codes.reload} />
          : !codes.data ? <Loading label="Loading codes" rows={3} />
          : codes.data.data.length === 0 ? <EmptyState title="No codes yet." />
          : <CodeTable rows={codes.data.data} />}
      </section>
    </>
  );
}

function CreateCodes({ made }: { made: (batch: CreatedCodes) => void }) {
  const [amount, setAmount] = useState('');
  const [count, setCount] = useState('1');
  const [uses, setUses] = useState('1');
  const [expires, setExpires] = useState('');
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    action.run(async () => {
      const batch = await api<CreatedCodes>('/admin/codes', { method: 'POST', body: {
        amount_usd: amount.trim(), count: Number(count), uses: Number(uses),
        expires_at: expires ? new Date(expires).toISOString() : null,
      } });
      setAmount('');
      made(batch);
      return undefined;
    });
  };
  return (
    <section class="card" aria-labelledby="new-codes-heading">
      <h2 id="new-codes-heading">Make codes</h2>
      <form class="admin-form" onSubmit={submit}>
        <Field label="Credit per redemption in USD" name="amount_usd" value={amount} onInput={setAmount} required
          placeholder="5" error={action.error} />
        <Field label="How many codes" name="count" value={count} onInput={setCount} required error={action.error} />
        <Field label="Redemptions per code" name="uses" value={uses} onInput={setUses} required
          hint="By different accounts." error={action.error} />
        <Field label="Expires (optional)" name="expires_at" type="datetime-local" value={expires} onInput={setExpires}
          error={action.error} />
        <FormError error={action.error} fields={['amount_usd', 'count', 'uses', 'expires_at']} />
        <Submit busy={action.busy}>Make codes</Submit>
      </form>
    </section>
  );
}

function NewCodes({ batch, done }: { batch: CreatedCodes; done: () => void }) {
  return (
    <section class="card secret" aria-labelledby="made-heading">
      <h2 id="made-heading">{batch.codes.length === 1 ? 'Your new code' : `Your ${batch.codes.length} new codes`}</h2>
      <p>Each is worth {usdAmount(batch.amount_usd)} and may be redeemed {batch.uses === 1 ? 'once'
        : `${batch.uses} times`}. Copy them now: they are not shown again.</p>
      <label for="new-codes">The new codes</label>
      <textarea id="new-codes" class="secret-value" readOnly rows={Math.min(batch.codes.length, 10)}
        value={batch.codes.join('\n')} />
      <div class="actions"><button type="button" class="button" onClick={done}>I have copied them</button></div>
    </section>
  );
}

function CodeTable({ rows }: { rows: CodeRow[] }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Redemption codes, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Code</th>
            <th scope="col">Batch</th>
            <th scope="col" class="num">Worth</th>
            <th scope="col" class="num">Redeemed</th>
            <th scope="col" class="num">Uses left</th>
            <th scope="col">Expires</th>
            <th scope="col">Made</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.batch_id}-${row.hint}`}>
              <th scope="row"><code>…{row.hint}</code></th>
              <td><code>{row.batch_id}</code></td>
              <td class="num">{usdAmount(row.amount_usd)}</td>
              <td class="num">{row.redemptions}</td>
              <td class="num">{row.uses_left}</td>
              <td>{row.expires_at ? when(row.expires_at) : 'Never'}</td>
              <td>{when(row.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
