import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, type ApiError, type UploadWarranty as WarrantyStatus } from '../../api';
import { asApiError } from '../../ui/useApi';

export interface Warranty {
  state: 'loading' | 'needed' | 'given' | 'failed';
  error?: ApiError;
  version?: string;
  give: () => void;
  /** An upload was refused for want of the warranty (a new terms version took effect meanwhile). */
  refused: () => void;
}

/** Whether the account gave the image-upload warranty (terms §4.8) for the terms in effect, read once
 * uploads are wanted, from GET /api/terms/image-uploads. Its owner gives it from their session (the password
 * confirmed: api() asks for it), never with the Studio key. */
export function useUploadWarranty(wanted: boolean): Warranty {
  const [state, setState] = useState<Warranty['state']>('loading');
  const [error, setError] = useState<ApiError>();
  const [version, setVersion] = useState<string>();
  const [checked, setChecked] = useState(false);

  const ask = useCallback(async (method: 'GET' | 'POST') => {
    setError(undefined);
    try {
      const answer = await api<WarrantyStatus>('/terms/image-uploads', { method });
      setVersion(answer.version);
      setState(answer.image_uploads ? 'given' : 'needed');
    } catch (failure) {
      setError(asApiError(failure));
      setState((previous) => previous === 'needed' ? 'needed' : 'failed');
    }
  }, []);

  useEffect(() => {
    if (wanted && !checked) {
      setChecked(true);
      ask('GET');
    }
  }, [wanted, checked, ask]);

  const give = useCallback(() => { ask('POST'); }, [ask]);
  const refused = useCallback(() => setState('needed'), []);
  return { state, error, version, give, refused };
}

/** What the warranty says, and a button to give it; or that it is given. */
export function UploadWarranty({ warranty }: { warranty: Warranty }) {
  if (warranty.state === 'given') {
    return <p class="hint">Your account gave the image-upload warranty for terms version {warranty.version}.</p>;
  }
  if (warranty.state === 'loading') return <p class="hint" role="status">Checking your image-upload warranty…</p>;
  return (
    <section class="notice warranty" aria-labelledby="warranty-heading">
      <h3 id="warranty-heading">Before you upload images</h3>
      <p>Edits and variations send your images to the provider to make new ones. Section 4.8 of the terms of
        service has your account warrant, for every image it uploads, that:</p>
      <ul>
        <li>you own the rights to it, or have a licence or other lawful basis to have it processed this way;</li>
        <li>anyone recognisable in it consented to this edit or variation, or you have other lawful authority;</li>
        <li>its content is lawful and allowed by the provider's usage policy;</li>
        <li>you alone are responsible for how you use the images you make from it.</li>
      </ul>
      <p>Your account gives it once for each version of the terms.</p>
      {warranty.error && <p class="field-error" role="alert">{warranty.error.message}</p>}
      <button type="button" class="button" onClick={warranty.give}>I give this warranty</button>
    </section>
  );
}
