import { useState } from 'preact/hooks';
import { api, type ApiError } from '../../api';
import { plainUsd, usdAmount } from '../../money';
import { Field, FormError, Submit } from '../../ui/form';
import { asApiError } from '../../ui/useApi';
import type { AutoTopUp } from './types';

/** Charge the saved card when the balance falls below a threshold. */
export function AutoTopUpForm({ settings, onSaved }: { settings: AutoTopUp; onSaved: (saved: AutoTopUp) => void }) {
  const [enabled, setEnabled] = useState(settings.enabled);
  const [threshold, setThreshold] = useState(settings.enabled ? plainUsd(settings.threshold_usd) : '5');
  const [amount, setAmount] = useState(settings.enabled ? plainUsd(settings.amount_usd) : '20');
  const [error, setError] = useState<ApiError>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setSaved(false);
    try {
      onSaved(await api<AutoTopUp>('/billing/auto-topup', {
        method: 'PUT', body: { enabled, threshold_usd: threshold.trim(), amount_usd: amount.trim() },
      }));
      setSaved(true);
    } catch (failure) {
      setError(asApiError(failure));
    }
    setBusy(false);
  };

  return (
    <section class="card" aria-labelledby="auto-topup-heading">
      <h2 id="auto-topup-heading">Auto top-up</h2>
      {!settings.card_payments_enabled
        ? <p>Auto top-up charges a saved card, and card payments are not set up on this server.</p>
        : <>
            <p class="hint">{settings.enabled
              ? `On: when your balance falls below ${usdAmount(settings.threshold_usd)}, your card is charged `
                + `${usdAmount(settings.total_usd)} (${usdAmount(settings.amount_usd)} of credit plus `
                + `${usdAmount(settings.tax_usd)} tax).`
              : 'Off.'}{' '}
              {settings.card_saved ? 'A card is saved.' : 'No card is saved yet: pay once by card above to save one.'}
            </p>
            {settings.switched_off_because &&
              <p class="notice notice-error">Auto top-up turned itself off: {settings.switched_off_because}</p>}
            <form class="narrow" onSubmit={submit} noValidate>
              <div class="check">
                <input id="field-enabled" type="checkbox" checked={enabled}
                  onChange={(event) => setEnabled(event.currentTarget.checked)} />
                <label for="field-enabled">Top up automatically</label>
              </div>
              <Field label="When the balance falls below (USD)" name="threshold_usd" id="field-auto-threshold" value={threshold}
                onInput={setThreshold} error={error} />
              <Field label="Buy this much credit (USD)" name="amount_usd" id="field-auto-amount" value={amount} onInput={setAmount} error={error}
                hint={`At least ${usdAmount(settings.minimum_usd)}; tax, if any, is added.`} />
              <FormError error={error} fields={['threshold_usd', 'amount_usd']} />
              <Submit busy={busy}>Save auto top-up</Submit>
              <div role="status">{saved && <p class="notice notice-ok">Auto top-up saved.</p>}</div>
            </form>
          </>}
    </section>
  );
}
