import { useState } from 'preact/hooks';
import { api } from '../../api';
import { when } from '../../ui/dates';
import { Field, FormError, Submit } from '../../ui/form';
import { PageHeader } from '../../ui/layout';
import { EmptyState, ErrorNotice, Loading } from '../../ui/states';
import { useApi } from '../../ui/useApi';
import { TextArea, useAction } from './fields';
import type { TermsVersion } from './types';

export function Terms() {
  const versions = useApi<TermsVersion[]>('/admin/terms');
  return (
    <>
      <PageHeader title="Terms versions">Published terms of service. A material version must be accepted by every
        account within the grace period, or its API requests are refused.</PageHeader>
      <Publish published={versions.reload} />
      <section class="card" aria-labelledby="versions-heading">
        <h2 id="versions-heading">Versions</h2>
        {versions.error ? <ErrorNotice error={versions.error} retry={versions.reload} />
          : !versions.data ? <Loading label="Loading terms versions" rows={2} />
          : versions.data.length === 0 ? <EmptyState title="No terms published yet." />
          : <div class="table-wrap">
              <table>
                <caption class="visually-hidden">Terms versions, newest first</caption>
                <thead>
                  <tr><th scope="col">Version</th><th scope="col">Effective</th><th scope="col">Material</th>
                    <th scope="col">Summary</th><th scope="col">Published</th></tr>
                </thead>
                <tbody>
                  {[...versions.data].reverse().map((row) => (
                    <tr key={row.version}>
                      <th scope="row">{row.url ? <a href={row.url}>{row.version}</a> : row.version}</th>
                      <td>{when(row.effective_at)}</td>
                      <td>{row.material ? 'Yes: accounts must accept' : 'No'}</td>
                      <td>{row.summary ?? '—'}</td>
                      <td>{when(row.published_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>}
      </section>
    </>
  );
}

function Publish({ published }: { published: () => void }) {
  const [version, setVersion] = useState('');
  const [effective, setEffective] = useState('');
  const [material, setMaterial] = useState(false);
  const [url, setUrl] = useState('');
  const [summary, setSummary] = useState('');
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    action.run(async () => {
      const row = await api<TermsVersion>('/admin/terms', { method: 'POST', body: {
        version: version.trim(), effective_at: effective ? new Date(effective).toISOString() : '', material,
        url: url.trim() || null, summary: summary.trim() || null,
      } });
      setVersion('');
      setSummary('');
      published();
      return `Version ${row.version} published; it takes effect ${when(row.effective_at)}.`;
    });
  };
  return (
    <section class="card" aria-labelledby="publish-heading">
      <h2 id="publish-heading">Publish a version</h2>
      <form class="admin-form" onSubmit={submit}>
        <Field label="Version" name="version" value={version} onInput={setVersion} required placeholder="2026-07"
          error={action.error} />
        <Field label="Takes effect" name="effective_at" type="datetime-local" value={effective}
          onInput={setEffective} required hint="After every published version." error={action.error} />
        <Field label="Address of the text (optional)" name="url" value={url} onInput={setUrl}
          placeholder="https://example.com/terms/2026-07" error={action.error} />
        <TextArea label="Summary of the changes (optional)" name="summary" value={summary} onInput={setSummary}
          error={action.error} />
        <div class="check">
          <input id="terms-material" type="checkbox" checked={material}
            onChange={(event) => setMaterial(event.currentTarget.checked)} />
          <label for="terms-material">Material change: every account must accept it again</label>
        </div>
        <FormError error={action.error} fields={['version', 'effective_at', 'url', 'summary']} />
        {action.done && <p class="notice notice-ok" role="status">{action.done}</p>}
        <Submit busy={action.busy}>Publish</Submit>
      </form>
    </section>
  );
}
