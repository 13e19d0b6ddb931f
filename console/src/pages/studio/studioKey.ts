// The Studio's API key: issued for this signed-in user by POST /api/studio/key, valid for an hour, kept
// in this page's memory only (never storage), and replaced before it expires or once it stops working.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError, type CreatedKey } from '../../api';
import { asApiError } from '../../ui/useApi';
import type { V1Fetch } from './v1';

export type KeyState =
  | { status: 'loading' }
  | { status: 'ready' }
  | { status: 'terms'; error: ApiError }     // the account owes a terms acceptance
  | { status: 'error'; error: ApiError };

interface Held {
  secret: string;
  expiresAt: number;
}

const RENEW_BEFORE_MS = 2 * 60 * 1000;

export interface StudioKey {
  state: KeyState;
  /** fetch() on this gateway with the Studio key (a new one first if it is about to expire; once more
   * with a new one if it was refused as revoked or expired). */
  call: V1Fetch;
  /** Accept the terms in effect and get the key. */
  acceptTerms: () => void;
  retry: () => void;
}

export function useStudioKey(): StudioKey {
  const [state, setState] = useState<KeyState>({ status: 'loading' });
  const held = useRef<Held | null>(null);
  const pending = useRef<Promise<Held> | null>(null);

  const issue = useCallback((acceptTerms = false): Promise<Held> => {
    pending.current ??= api<CreatedKey>('/studio/key', { method: 'POST', body: { accept_terms: acceptTerms } })
      .then((key) => {
        held.current = { secret: key.key, expiresAt: Date.parse(key.expires_at!) };
        setState({ status: 'ready' });
        return held.current;
      }, (failure) => {
        const error = asApiError(failure);
        setState(error.code === 'terms_not_accepted' ? { status: 'terms', error } : { status: 'error', error });
        throw error;
      })
      .finally(() => { pending.current = null; });
    return pending.current;
  }, []);

  useEffect(() => {
    issue().catch(() => undefined);            // the state says why
    return () => { held.current = null; };     // leaving the page forgets it
  }, [issue]);

  const call = useCallback<V1Fetch>(async (path, init = {}) => {
    const current = held.current;
    const key = current && current.expiresAt - Date.now() > RENEW_BEFORE_MS ? current : await issue();
    const send = (secret: string) => fetch(path, {
      ...init, credentials: 'omit',
      headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${secret}` },
    });
    const response = await send(key.secret);
    if (response.status !== 401) return response;
    return send((await issue()).secret);        // revoked (a newer Studio tab, sign-out elsewhere) or expired
  }, [issue]);

  const acceptTerms = useCallback(() => {
    setState({ status: 'loading' });
    issue(true).catch(() => undefined);
  }, [issue]);
  const retry = useCallback(() => {
    setState({ status: 'loading' });
    issue().catch(() => undefined);
  }, [issue]);

  return useMemo(() => ({ state, call, acceptTerms, retry }), [state, call, acceptTerms, retry]);
}
