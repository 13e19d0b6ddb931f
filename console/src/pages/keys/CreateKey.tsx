import { useState } from 'preact/hooks';
import { api, ApiError, type CreatedKey } from '../../api';
import { Field, FormError, Submit } from '../../ui/form';
import { asApiError } from '../../ui/useApi';

const RESETS = [['', 'Never (a lifetime limit)'], ['daily', 'Daily'], ['weekly', 'Weekly'], ['monthly', 'Monthly']];
const FIELDS = ['name', 'limit_usd', 'limit_reset', 'models', 'expires_at', 'allowed_ips'];

/** The new-key form. Empty fields mean no restriction; the API checks every value and names a wrong one. */
export function CreateKey({ created }: { created: (key: CreatedKey) => void }) {
  const [name, setName] = useState('');
  const [limit, setLimit] = useState('');
  const [reset, setReset] = useState('');
  const [models, setModels] = useState('');
  const [expires, setExpires] = useState('');
  const [ips, setIps] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  const send = async (acceptTerms: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      const key = await api<CreatedKey>('/account/keys', { method: 'POST', body: {
        name: name.trim() || null, limit_usd: limit.trim() || null, limit_reset: reset || null,
        models: list(models), allowed_ips: list(ips), accept_terms: acceptTerms,
        // The picker gives local time without a zone; the API wants an instant.
        expires_at: expires ? new Date(expires).toISOString() : null,
      } });
      [setName, setLimit, setReset, setModels, setExpires, setIps].forEach((clear) => clear(''));
      created(key);
    } catch (failure) {
      setError(asApiError(failure));
    }
    setBusy(false);
  };
  const submit = (event: Event) => {
    event.preventDefault();
    send(false);
  };

  return (
    <section class="card" aria-labelledby="create-heading">
      <h2 id="create-heading">Create a key</h2>
      <form onSubmit={submit} class="key-form">
        <Field label="Name" name="name" value={name} onInput={setName} hint="Where it is used, e.g. “CI” or “web app”."
          error={error} />
        <Field label="Spending limit in USD (optional)" name="limit_usd" value={limit} onInput={setLimit}
          placeholder="10.00" hint="The key is refused once it has spent this much." error={error} />
        <div class="field">
          <label for="field-limit_reset">Limit resets</label>
          <select id="field-limit_reset" name="limit_reset" value={reset}
            onChange={(event) => setReset(event.currentTarget.value)}>
            {RESETS.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
          </select>
        </div>
        <Field label="Models (optional)" name="models" value={models} onInput={setModels}
          placeholder="alltoken/demo, openai/gpt-4o-mini" hint="Model ids, separated by commas. Empty: every model."
          error={error} />
        <Field label="Expires (optional)" name="expires_at" type="datetime-local" value={expires} onInput={setExpires}
          hint="In your local time." error={error} />
        <Field label="IP allow-list (optional)" name="allowed_ips" value={ips} onInput={setIps}
          placeholder="203.0.113.0/24, 2001:db8::/32" hint="Networks or addresses, separated by commas. Empty: any."
          error={error} />
        <FormError error={error} fields={FIELDS} />
        {error?.code === 'terms_not_accepted'
          ? <div class="actions">
              <button type="button" class="button button-primary" disabled={busy} onClick={() => send(true)}>
                Accept the terms and create the key
              </button>
            </div>
          : <Submit busy={busy}>Create key</Submit>}
      </form>
    </section>
  );
}

/** "a, b c" -> ["a", "b", "c"]; nothing -> null (no restriction). */
function list(text: string): string[] | null {
  const items = text.split(/[\s,]+/).filter(Boolean);
  return items.length ? items : null;
}
