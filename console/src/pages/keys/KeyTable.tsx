import { useState } from 'preact/hooks';
import { api, type ApiKey, ApiError, type CreatedKey } from '../../api';
import { usdAmount } from '../../money';
import { when } from '../../ui/dates';
import { asApiError } from '../../ui/useApi';

interface Props {
  keys: ApiKey[];
  rotated: (key: CreatedKey) => void;
  changed: () => void;
}

/** Every key of the account, newest first, with what limits it and how it was last used. */
export function KeyTable({ keys, rotated, changed }: Props) {
  return (
    <div class="table-wrap">
      <table class="keys">
        <caption class="visually-hidden">Your API keys</caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Models</th>
            <th scope="col" class="num">Spent / limit</th>
            <th scope="col">IP allow-list</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Status</th>
            <th scope="col"><span class="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {[...keys].reverse().map((key) => <KeyRow key={key.id} apiKey={key} rotated={rotated} changed={changed} />)}
        </tbody>
      </table>
    </div>
  );
}

function KeyRow({ apiKey: key, rotated, changed }: { apiKey: ApiKey; rotated: Props['rotated']; changed: () => void }) {
  return (
    <tr>
      <th scope="row">
        <span class="model-name">{key.name ?? 'Unnamed key'}</span>
        <code class="model-id">{key.hint}</code>
      </th>
      <td>{key.models ? key.models.join(', ') : 'All models'}</td>
      <td class="num">{usdAmount(key.spent_usd)}{' / '}
        {key.limit_usd ? `${usdAmount(key.limit_usd)}${key.limit_reset ? ` ${key.limit_reset}` : ''}` : 'no limit'}
      </td>
      <td>{key.allowed_ips ? key.allowed_ips.join(', ') : 'Any address'}</td>
      <td>{when(key.created_at)}</td>
      <td>{key.last_used_at ? <>{when(key.last_used_at)}<br /><code>{key.last_used_address ?? ''}</code></> : 'Never'}</td>
      <td><Status apiKey={key} /></td>
      <td>{!key.revoked_at && <KeyActions apiKey={key} rotated={rotated} changed={changed} />}</td>
    </tr>
  );
}

function Status({ apiKey: key }: { apiKey: ApiKey }) {
  if (key.revoked_at) return <span class="pill pill-open">Revoked {when(key.revoked_at)}</span>;
  if (key.expires_at && new Date(key.expires_at) <= new Date()) return <span class="pill pill-open">Expired</span>;
  const grace = key.previous_secret_valid_until && new Date(key.previous_secret_valid_until) > new Date();
  return (
    <>
      <span class="pill pill-closed">Active</span>
      {key.expires_at && <p class="hint">Expires {when(key.expires_at)}</p>}
      {grace && <p class="hint">Old secret works until {when(key.previous_secret_valid_until!)}</p>}
    </>
  );
}

/** Rotate at once (the old secret keeps a grace period); revoke after a confirmation. */
function KeyActions({ apiKey: key, rotated, changed }: { apiKey: ApiKey; rotated: Props['rotated']; changed: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<ApiError>();
  const label = key.name ?? key.hint;
  const act = async (action: 'rotate' | 'revoke') => {
    setError(undefined);
    try {
      const answer = await api<CreatedKey>(`/account/keys/${key.id}/${action}`, { method: 'POST' });
      if (action === 'rotate') rotated(answer);
      changed();
    } catch (failure) {
      setError(asApiError(failure));
    }
    setConfirming(false);
  };
  return (
    <div class="actions row-actions">
      {confirming
        ? <div class="actions" role="group" aria-label={`Confirm revoking ${label}`}>
            <button type="button" class="button button-danger" onClick={() => act('revoke')}>Yes, revoke</button>
            <button type="button" class="button" onClick={() => setConfirming(false)}>Cancel</button>
          </div>
        : <>
            <button type="button" class="button" aria-label={`Rotate ${label}`} onClick={() => act('rotate')}>
              Rotate
            </button>
            <button type="button" class="button" aria-label={`Revoke ${label}`} onClick={() => setConfirming(true)}>
              Revoke
            </button>
          </>}
      {error && <p class="field-error" role="alert">{error.message}</p>}
    </div>
  );
}
