import { useState } from 'preact/hooks';
import { api, type ApiError } from '../../api';
import { usdAmount } from '../../money';
import { Field, FormError, Submit } from '../../ui/form';
import { asApiError } from '../../ui/useApi';
import type { Redeemed } from './types';

export function Redeem({ onRedeemed }: { onRedeemed: () => void }) {
  const [code, setCode] = useState('');
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState<Redeemed>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      setDone(await api<Redeemed>('/billing/redeem', { method: 'POST', body: { code } }));
      setCode('');
      onRedeemed();
    } catch (failure) {
      setError(asApiError(failure));
    }
    setBusy(false);
  };

  return (
    <section class="card" aria-labelledby="redeem-heading">
      <h2 id="redeem-heading">Redeem a code</h2>
      <form class="narrow" onSubmit={submit} noValidate>
        <Field label="Code" name="code" value={code} onInput={setCode} required autocomplete="off" error={error}
          placeholder="K7QX-M2PD-9HTA-WRZE" hint="Case, spaces and dashes do not matter." />
        <FormError error={error} fields={['code']} />
        <Submit busy={busy}>Redeem</Submit>
      </form>
      <div role="status">
        {done && <p class="notice notice-ok">Added {usdAmount(done.amount_usd)}; your balance is now{' '}
          {usdAmount(done.balance_usd)}.</p>}
      </div>
    </section>
  );
}
