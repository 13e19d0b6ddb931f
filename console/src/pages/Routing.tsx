import { useState } from 'preact/hooks';
import { api, type ApiError, type Model } from '../api';
import { FormError, Submit } from '../ui/form';
import { PageHeader } from '../ui/layout';
import { EmptyState, ErrorNotice, Loading } from '../ui/states';
import { asApiError, useApi } from '../ui/useApi';

interface RoutingPolicy {
  allow_providers: string[] | null;
  deny_providers: string[];
  allow_regions: string[] | null;
  deny_regions: string[];
  providers: { id: string; region: string | null }[];
}

export default function Routing() {
  const policy = useApi<RoutingPolicy>('/account/routing');
  const models = useApi<{ data: Model[] }>('/models');
  return (
    <>
      <PageHeader title="Routing">Which providers and regions may serve your account. Your policy always wins over a
        request's own <code>provider</code> preferences; a request that no allowed route can serve is refused.</PageHeader>
      <section class="card" aria-labelledby="policy-heading">
        <h2 id="policy-heading">Your routing policy</h2>
        {policy.error ? <ErrorNotice error={policy.error} retry={policy.reload} />
          : !policy.data ? <Loading label="Loading your routing policy" rows={4} />
          : <PolicyForm policy={policy.data} onSaved={models.reload} />}
      </section>
      <section class="card" aria-labelledby="routes-heading">
        <h2 id="routes-heading">What your account can use</h2>
        <p class="hint">Each model with the providers your policy lets serve it, in the order they are tried. A model
          no allowed provider serves is not listed.</p>
        {models.error ? <ErrorNotice error={models.error} retry={models.reload} />
          : !models.data ? <Loading label="Loading models" rows={4} />
          : models.data.data.length === 0 ? <EmptyState title="Your policy leaves no model to call." />
          : <ModelRoutes models={models.data.data} />}
      </section>
    </>
  );
}

type Choice = 'any' | 'only' | 'never';

function PolicyForm({ policy, onSaved }: { policy: RoutingPolicy; onSaved: () => void }) {
  const [current, setCurrent] = useState(policy);
  const [choices, setChoices] = useState<Record<string, Choice>>(() => initialChoices(policy));
  const [allowRegions, setAllowRegions] = useState((policy.allow_regions ?? []).join(', '));
  const [denyRegions, setDenyRegions] = useState(policy.deny_regions.join(', '));
  const [error, setError] = useState<ApiError>();
  const [saved, setSaved] = useState<string>();
  const [busy, setBusy] = useState(false);
  const regions = [...new Set(policy.providers.map((p) => p.region).filter(Boolean))].sort();

  const save = async (body: Record<string, string[]>) => {
    setBusy(true);
    setError(undefined);
    setSaved(undefined);
    try {
      const now = await api<RoutingPolicy>('/account/routing', { method: 'PUT', body });
      setCurrent(now);
      setChoices(initialChoices(now));
      setAllowRegions((now.allow_regions ?? []).join(', '));
      setDenyRegions(now.deny_regions.join(', '));
      setSaved(describe(now));
      onSaved();
    } catch (failure) {
      setError(asApiError(failure));
    }
    setBusy(false);
  };
  const submit = (event: Event) => {
    event.preventDefault();
    const pick = (choice: Choice) => Object.keys(choices).filter((id) => choices[id] === choice);
    save({ allow_providers: pick('only'), deny_providers: pick('never'), allow_regions: split(allowRegions),
      deny_regions: split(denyRegions) });
  };

  return (
    <form class="routing-form" onSubmit={submit} noValidate>
      <p class="hint">Now: {describe(current)}</p>
      <fieldset class="providers-choice">
        <legend>Providers</legend>
        <p class="hint">“Only” providers are the only ones allowed (if you mark none, every provider not marked
          “Never” is allowed).</p>
        <div class="table-wrap">
          <table>
            <thead><tr><th scope="col">Provider</th><th scope="col">Region</th><th scope="col">Use it</th></tr></thead>
            <tbody>
              {policy.providers.map((provider) => (
                <tr key={provider.id}>
                  <th scope="row"><code>{provider.id}</code></th>
                  <td>{provider.region ?? '—'}</td>
                  <td>
                    <select aria-label={`Use ${provider.id}`} value={choices[provider.id]}
                      onChange={(event) => setChoices({ ...choices, [provider.id]: event.currentTarget.value as Choice })}>
                      <option value="any">Allowed</option>
                      <option value="only">Only these</option>
                      <option value="never">Never</option>
                    </select>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </fieldset>
      <div class="key-form">
        <RegionField label="Only these regions (optional)" name="allow_regions" value={allowRegions}
          onInput={setAllowRegions} regions={regions} />
        <RegionField label="Never these regions (optional)" name="deny_regions" value={denyRegions}
          onInput={setDenyRegions} regions={regions} />
      </div>
      <FormError error={error} />
      <div class="actions">
        <Submit busy={busy}>Save policy</Submit>
        <button type="button" class="button" disabled={busy}
          onClick={() => save({ allow_providers: [], deny_providers: [], allow_regions: [], deny_regions: [] })}>
          Remove the policy</button>
      </div>
      <div role="status">{saved && <p class="notice notice-ok">Saved. {saved}</p>}</div>
    </form>
  );
}

function RegionField({ label, name, value, onInput, regions }: {
  label: string; name: string; value: string; onInput: (value: string) => void; regions: (string | null)[];
}) {
  const id = `field-${name}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} name={name} value={value} onInput={(event) => onInput(event.currentTarget.value)}
        aria-describedby={`${id}-hint`} placeholder="e.g. eu" />
      <p class="hint" id={`${id}-hint`}>Comma-separated. {regions.length
        ? `This server's regions: ${regions.join(', ')}.` : 'No provider of this server declares a region, so a '
          + 'region allow-list refuses every route.'}</p>
    </div>
  );
}

function ModelRoutes({ models }: { models: Model[] }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Models and the providers that may serve them</caption>
        <thead><tr><th scope="col">Model</th><th scope="col">Kind</th><th scope="col">Providers</th></tr></thead>
        <tbody>
          {models.map((model) => (
            <tr key={model.id}>
              <th scope="row"><code>{model.id}</code></th>
              <td>{model.kind}</td>
              <td>{model.providers.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function initialChoices(policy: RoutingPolicy): Record<string, Choice> {
  const choices: Record<string, Choice> = {};
  for (const { id } of policy.providers) {
    choices[id] = policy.deny_providers.includes(id) ? 'never' : policy.allow_providers?.includes(id) ? 'only' : 'any';
  }
  return choices;
}

function split(text: string): string[] {
  return text.split(',').map((part) => part.trim()).filter(Boolean);
}

/** The policy in one sentence. */
function describe(policy: RoutingPolicy): string {
  const parts = [
    policy.allow_providers?.length && `only providers ${policy.allow_providers.join(', ')}`,
    policy.deny_providers.length && `never providers ${policy.deny_providers.join(', ')}`,
    policy.allow_regions?.length && `only regions ${policy.allow_regions.join(', ')}`,
    policy.deny_regions.length && `never regions ${policy.deny_regions.join(', ')}`,
  ].filter(Boolean);
  return parts.length ? `${parts.join('; ')}.` : 'no policy: every provider and region may serve you.';
}
