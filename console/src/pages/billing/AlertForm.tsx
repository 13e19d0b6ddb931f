import { useState } from 'preact/hooks';
import { api, type ApiError } from '../../api';
import { plainUsd, usdAmount } from '../../money';
import { Field, FormError, Submit } from '../../ui/form';
import { ErrorNotice, Loading } from '../../ui/states';
import { asApiError, useApi } from '../../ui/useApi';
import type { Alert } from './types';

/** An email when the balance falls below a threshold. */
export function AlertSection() {
  const alert = useApi<Alert>('/billing/alerts');
  return (
    <section class="card" aria-labelledby="alert-heading">
      <h2 id="alert-heading">Low-balance alert</h2>
      {alert.error ? <ErrorNotice error={alert.error} retry={alert.reload} />
        : !alert.data ? <Loading label="Loading the alert" rows={2} />
        : <AlertForm alert={alert.data} />}
    </section>
  );
}

function AlertForm({ alert: initial }: { alert: Alert }) {
  const [alert, setAlert] = useState(initial);
  const [threshold, setThreshold] = useState(initial.low_balance_usd === null ? '' : plainUsd(initial.low_balance_usd));
  const [email, setEmail] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  const save = async (low: string | null) => {
    setBusy(true);
    setError(undefined);
    try {
      const saved = await api<Alert>('/billing/alerts', {
        method: 'PUT', body: { low_balance_usd: low, email: email.trim() || null },
      });
      setAlert(saved);
      setThreshold(saved.low_balance_usd === null ? '' : plainUsd(saved.low_balance_usd));
    } catch (failure) {
      setError(asApiError(failure));
    }
    setBusy(false);
  };

  return (
    <form class="narrow" noValidate onSubmit={(event) => { event.preventDefault(); save(threshold.trim() || null); }}>
      <p role="status" class="hint">{alert.low_balance_usd === null ? 'Off.'
        : `On: an email to ${alert.email} when your balance falls below ${usdAmount(alert.low_balance_usd)}.`}
        {alert.outstanding && ' Your balance is below it now.'}</p>
      {!alert.email_enabled && <p class="hint">This server has no email set up, so the alert is recorded but no email
        is sent.</p>}
      <Field label="Alert below (USD)" name="low_balance_usd" value={threshold} onInput={setThreshold} error={error}
        hint="Leave empty to turn the alert off." />
      <Field label="Send it to (optional)" name="email" type="email" value={email} onInput={setEmail} error={error}
        placeholder={alert.email} hint="Empty: your account's email." />
      <FormError error={error} fields={['low_balance_usd', 'email']} />
      <div class="actions">
        <Submit busy={busy}>Save alert</Submit>
        {alert.low_balance_usd !== null &&
          <button type="button" class="button" disabled={busy} onClick={() => save(null)}>Turn off</button>}
      </div>
    </form>
  );
}
