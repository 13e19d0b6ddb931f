import { useState } from 'preact/hooks';
import { api, type ApiError } from '../../api';
import { usdAmount } from '../../money';
import { Field, FormError, Submit } from '../../ui/form';
import { asApiError } from '../../ui/useApi';
import type { AutoTopUp, Checkout } from './types';

/** Buy credit by card: the server opens a Stripe Checkout page, and the browser goes there to pay. */
export function TopUp({ settings }: { settings: AutoTopUp }) {
  const [amount, setAmount] = useState('20');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const opened = await api<Checkout>('/billing/checkout', { method: 'POST', body: { amount_usd: amount.trim() } });
      window.location.assign(opened.checkout_url);   // Stripe's page; it sends the customer back when done
    } catch (failure) {
      setError(asApiError(failure));
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="topup-heading">
      <h2 id="topup-heading">Top up by card</h2>
      {!settings.card_payments_enabled
        ? <p>Card payments are not set up on this server (its operator has not configured Stripe), so you cannot
            top up by card here. Redeem a code below, or ask your AllToken administrator for credit.</p>
        : <form class="narrow" onSubmit={submit} noValidate>
            <Field label="Amount in USD" name="amount_usd" value={amount} onInput={setAmount} required error={error}
              hint={`At least ${usdAmount(settings.minimum_usd)}, in whole cents. Tax, if any, is added at checkout; `
                + 'the credit arrives as soon as Stripe confirms the payment.'} />
            <FormError error={error} fields={['amount_usd']} />
            <Submit busy={busy}>Pay by card</Submit>
          </form>}
    </section>
  );
}
