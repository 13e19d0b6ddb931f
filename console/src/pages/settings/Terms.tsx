import { useState } from 'preact/hooks';
import { api, type ApiError, type TermsStatus, type UploadWarranty } from '../../api';
import { when } from '../../ui/dates';
import { FormError } from '../../ui/form';
import { ErrorNotice, Loading } from '../../ui/states';
import { asApiError, useApi } from '../../ui/useApi';

/** The terms in effect, whether and when this account accepted them, and the image-upload warranty. */
export function Terms() {
  return (
    <section class="card" aria-labelledby="terms-heading">
      <h2 id="terms-heading">Terms of service</h2>
      <TermsAcceptance />
      <h3 id="warranty-heading">Image-upload warranty</h3>
      <ImageUploadWarranty />
    </section>
  );
}

function TermsAcceptance() {
  const status = useApi<TermsStatus>('/terms');
  const accept = usePost('/terms/accept', status.reload);
  if (status.error) return <ErrorNotice error={status.error} retry={status.reload} />;
  if (!status.data) return <Loading label="Loading the terms" rows={2} />;
  const { current, accepted_version, accepted_at, accepts_current, must_accept_by } = status.data;
  if (!current) return <p>This server has published no terms of service yet: there is nothing to accept.</p>;
  return (
    <>
      <dl class="facts">
        <dt>Version in effect</dt>
        <dd>{current.url ? <a href={current.url} target="_blank" rel="noopener noreferrer">{current.version}</a>
          : current.version} (since {when(current.effective_at)})</dd>
        {current.summary && <><dt>What changed</dt><dd>{current.summary}</dd></>}
        <dt>You accepted</dt>
        <dd>{accepted_version && accepted_at ? `version ${accepted_version} on ${when(accepted_at)}` : 'none yet'}</dd>
      </dl>
      {accepts_current
        ? <p class="notice notice-ok">You accept the terms in effect.</p>
        : <>
            <p class="notice">You have not accepted version {current.version}
              {must_accept_by && <>: accept it by {when(must_accept_by)}, or your API requests will be refused from
                then on</>}.</p>
            <FormError error={accept.error} />
            <button type="button" class="button button-primary" disabled={accept.busy} onClick={accept.run}>
              Accept version {current.version}
            </button>
          </>}
    </>
  );
}

function ImageUploadWarranty() {
  const warranty = useApi<UploadWarranty>('/terms/image-uploads');
  const give = usePost('/terms/image-uploads', warranty.reload);
  if (warranty.error) return <ErrorNotice error={warranty.error} retry={warranty.reload} />;
  if (!warranty.data) return <Loading label="Loading the image-upload warranty" rows={1} />;
  const { image_uploads, accepted_at, version } = warranty.data;
  return (
    <>
      <p>Image edits and variations send your own images. Before the first one, you warrant (terms section 4.8)
        that you own them or have the right to use them, and that they show no one without their consent.</p>
      {image_uploads && accepted_at
        ? <p class="notice notice-ok">You gave the warranty on {when(accepted_at)} (terms
            version {version}).</p>
        : <>
            <FormError error={give.error} />
            <button type="button" class="button" disabled={give.busy} onClick={give.run}>
              I give the image-upload warranty
            </button>
          </>}
    </>
  );
}

/** A POST without a body, then a reload of what it changed. */
function usePost(path: string, then: () => void) {
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api(path, { method: 'POST' });
      then();
    } catch (failure) {
      setError(asApiError(failure));
    }
    setBusy(false);
  };
  return { error, busy, run };
}
