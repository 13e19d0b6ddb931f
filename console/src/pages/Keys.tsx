import { useState } from 'preact/hooks';
import { api, type ApiKey, ApiError, type CreatedKey } from '../api';
import { when } from '../ui/dates';
import { FormError } from '../ui/form';
import { PageHeader } from '../ui/layout';
import { SecretOnce } from '../ui/SecretOnce';
import { EmptyState, ErrorNotice, Loading } from '../ui/states';
import { asApiError, useApi } from '../ui/useApi';
import { CreateKey } from './keys/CreateKey';
import { KeyTable } from './keys/KeyTable';

type Shown = { key: CreatedKey; rotated: boolean };

export default function Keys() {
  const keys = useApi<ApiKey[]>('/account/keys');
  const [shown, setShown] = useState<Shown>();
  const created = (key: CreatedKey) => {
    setShown({ key, rotated: false });
    keys.reload();
  };

  return (
    <>
      <PageHeader title="API keys">
        Keys call the API for your account. Give each use its own key, with only the models, spend and addresses it
        needs.
      </PageHeader>
      {shown && <NewSecret shown={shown} done={() => setShown(undefined)} />}
      <CreateKey created={created} />
      <section aria-labelledby="keys-heading">
        <h2 id="keys-heading">Your keys</h2>
        {keys.error ? <ErrorNotice error={keys.error} retry={keys.reload} />
          : !keys.data ? <Loading label="Loading keys" rows={3} />
          : keys.data.length === 0 ? <EmptyState title="No keys yet."><p>Create one above.</p></EmptyState>
          : <KeyTable keys={keys.data} rotated={(key) => setShown({ key, rotated: true })} changed={keys.reload} />}
      </section>
      {keys.data && keys.data.length > 0 && <RevokeAll live={keys.data.some((key) => !key.revoked_at)}
        done={keys.reload} />}
    </>
  );
}

function NewSecret({ shown: { key, rotated }, done }: { shown: Shown; done: () => void }) {
  const name = key.name ?? 'your new key';
  return (
    <SecretOnce title={rotated ? `New secret for ${name}` : `Your new key: ${name}`} secret={key.key} onDone={done}>
      {rotated && key.previous_secret_valid_until &&
        <p>The old secret keeps working until {when(key.previous_secret_valid_until)}: switch to the new one
          before then.</p>}
      {key.terms_accepted && <p>You accepted the terms of service, version {key.terms_accepted}.</p>}
    </SecretOnce>
  );
}

/** Shown while a key is live, and after revoking them all, to say how many were. */
function RevokeAll({ live, done }: { live: boolean; done: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [result, setResult] = useState<string>();
  const revokeAll = async () => {
    setError(undefined);
    try {
      const answer = await api<{ revoked: string[] }>('/account/keys/revoke-all', { method: 'POST', body: {} });
      setResult(`${answer.revoked.length} ${answer.revoked.length === 1 ? 'key' : 'keys'} revoked.`);
      done();
    } catch (failure) {
      setError(asApiError(failure));
    }
    setConfirming(false);
  };
  if (!live && !result) return null;
  return (
    <section class="card danger-zone" aria-labelledby="revoke-all-heading">
      <h2 id="revoke-all-heading">Revoke every key</h2>
      <p>A key leaked and you are not sure which? Revoke them all at once; every call with any of them is refused
        within a second.</p>
      <FormError error={error} />
      {result && <p class="notice notice-ok" role="status">{result}</p>}
      {!live ? null : confirming
        ? <div class="actions" role="group" aria-label="Confirm revoking every key">
            <button type="button" class="button button-danger" onClick={revokeAll}>Yes, revoke every key</button>
            <button type="button" class="button" onClick={() => setConfirming(false)}>Cancel</button>
          </div>
        : <button type="button" class="button" onClick={() => setConfirming(true)}>Revoke all keys</button>}
    </section>
  );
}
