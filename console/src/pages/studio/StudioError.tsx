import { useState } from 'preact/hooks';
import { api, type ApiError } from '../../api';
import { asApiError } from '../../ui/useApi';
import { advice } from './v1';

/** A failed Studio request in words, with what to do about it; when the account owes a terms acceptance,
 * a button that accepts the terms in effect (POST /api/terms/accept from the session: the owner's, with the
 * password confirmed, which api() asks for). */
export function StudioError({ error }: { error: ApiError }) {
  const [accepted, setAccepted] = useState<string>();
  const [failure, setFailure] = useState<ApiError>();
  const accept = async () => {
    setFailure(undefined);
    try {
      const answer = await api<{ version: string }>('/terms/accept', { method: 'POST' });
      setAccepted(`You accepted the terms of service, version ${answer.version}. Try again.`);
    } catch (refused) {
      setFailure(asApiError(refused));
    }
  };
  const hint = advice(error);
  return (
    <div class="notice notice-error" role="alert">
      <p>{error.message}</p>
      {hint && <p>{hint}{error.status === 402 && <> <a href="/billing">Go to Billing</a>.</>}</p>}
      {error.code === 'terms_not_accepted' && !accepted &&
        <button type="button" class="button" onClick={accept}>Accept the terms of service</button>}
      {accepted && <p role="status">{accepted}</p>}
      {failure && <p>{failure.message}</p>}
    </div>
  );
}
