import { useState } from 'preact/hooks';
import type { ApiError } from '../../api';
import { advice, errorOf, type V1Fetch } from './v1';

/** A failed Studio request in words, with what to do about it; when the account owes a terms acceptance,
 * a button that accepts the terms in effect (POST /api/terms/accept with the Studio key). */
export function StudioError({ error, call }: { error: ApiError; call: V1Fetch }) {
  const [accepted, setAccepted] = useState<string>();
  const [failure, setFailure] = useState<ApiError>();
  const accept = async () => {
    setFailure(undefined);
    const response = await call('/api/terms/accept', { method: 'POST' });
    const payload = await response.json().catch(() => undefined);
    if (response.ok) setAccepted(`You accepted the terms of service, version ${payload.version}. Try again.`);
    else setFailure(errorOf(payload?.error, response.status, 'The terms could not be accepted.'));
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
