import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Model, type RouteHealth } from '../../api';
import { perMillion, perToken } from '../../money';
import { Field, FormError, Submit } from '../../ui/form';
import { PageHeader } from '../../ui/layout';
import { EmptyState, ErrorNotice, Loading } from '../../ui/states';
import { useApi } from '../../ui/useApi';
import { Select, useAction } from './fields';
import type { ModelRoutes, ProviderView } from './types';

const BREAKER: Record<RouteHealth['breaker'], string> = {
  closed: 'Serving', half_open: 'Testing recovery', open: 'Paused after failures',
};
const STRATEGIES: [string, string][] = [
  ['priority', 'Priority (first route first)'], ['weighted', 'Weighted'], ['price', 'Cheapest first'],
  ['latency', 'Fastest first'], ['throughput', 'Highest throughput first'],
];

export function Providers() {
  const providers = useApi<{ data: ProviderView[] }>('/admin/providers');
  return (
    <>
      <PageHeader title="Providers & routes">The configured providers and their routes’ health over the last five
        minutes; a model’s routes, replaced at run time.</PageHeader>
      {providers.error ? <ErrorNotice error={providers.error} retry={providers.reload} />
        : !providers.data ? <Loading label="Loading providers" rows={3} />
        : providers.data.data.length === 0 ? <EmptyState title="No providers are configured." />
        : providers.data.data.map((provider) => <ProviderCard key={provider.id} provider={provider} />)}
      <ModelRoutesEditor providers={providers.data?.data.map((p) => p.id) ?? []} />
    </>
  );
}

function ProviderCard({ provider }: { provider: ProviderView }) {
  return (
    <section class="card" aria-labelledby={`provider-${provider.id}`}>
      <h2 id={`provider-${provider.id}`}>{provider.id}</h2>
      <dl class="facts">
        <dt>Type</dt><dd>{provider.type}</dd>
        <dt>Region</dt><dd>{provider.region ?? '—'}</dd>
        <dt>Base URL</dt><dd>{provider.base_url ? <code>{provider.base_url}</code> : 'The provider’s default'}</dd>
        <dt>Models</dt><dd>{provider.models.length}</dd>
      </dl>
      {provider.routes.length === 0 ? <EmptyState title="No model routes to this provider." /> : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Routes of {provider.id} and their health</caption>
            <thead>
              <tr><th scope="col">Upstream model</th><th scope="col">State</th><th scope="col" class="num">Requests</th>
                <th scope="col" class="num">Success</th><th scope="col" class="num">Latency p50</th>
                <th scope="col">Last error</th></tr>
            </thead>
            <tbody>
              {provider.routes.map((route) => (
                <tr key={route.route}>
                  <th scope="row"><code>{route.upstream_model}</code></th>
                  <td><span class={`pill pill-${route.breaker}`}>{BREAKER[route.breaker]}</span></td>
                  <td class="num">{route.requests}</td>
                  <td class="num">{route.success_rate === null ? '—' : `${(route.success_rate * 100).toFixed(1)}%`}</td>
                  <td class="num">{route.latency_ms_p50 === null ? '—' : `${Math.round(route.latency_ms_p50)} ms`}</td>
                  <td>{route.last_error ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

interface EditedRoute {
  provider: string;
  model: string;
  weight: string;
  prompt: string;        // USD per million tokens, as typed
  completion: string;
  loaded: Record<string, string>;   // the route's price as the gateway sent it (USD per token)
}

/** A model's routes: read them, edit the list, replace them (PUT) or go back to the config file's (DELETE).
 * A route keeps the catalog's price unless its prompt or completion price is changed here; then it is
 * sent as the route's own price (the catalog's other price fields kept). */
function ModelRoutesEditor({ providers }: { providers: string[] }) {
  const models = useApi<{ data: Model[] }>('/models');
  const [model, setModel] = useState('');
  const chosen = model || models.data?.data[0]?.id || '';
  return (
    <section class="card" aria-labelledby="routes-heading">
      <h2 id="routes-heading">A model’s routes</h2>
      {models.error ? <ErrorNotice error={models.error} retry={models.reload} />
        : !models.data ? <Loading label="Loading models" rows={1} />
        : models.data.data.length === 0 ? <EmptyState title="No models are configured." />
        : <>
            <Select label="Model" name="route_model" value={chosen} onChange={setModel}
              options={models.data.data.map((one) => [one.id, one.id])} />
            <RoutesForm key={chosen} model={chosen} providers={providers} />
          </>}
    </section>
  );
}

function RoutesForm({ model, providers }: { model: string; providers: string[] }) {
  const current = useApi<ModelRoutes>(`/admin/models/${model}/routes`);
  const [strategy, setStrategy] = useState('priority');
  const [routes, setRoutes] = useState<EditedRoute[]>([]);
  const action = useAction();
  useEffect(() => {
    if (!current.data) return;
    setStrategy(current.data.strategy);
    setRoutes(current.data.routes.map((r) => ({
      provider: r.provider, model: r.model, weight: String(r.weight), loaded: r.pricing,
      prompt: r.pricing.prompt ? perMillion(r.pricing.prompt) : '',
      completion: r.pricing.completion ? perMillion(r.pricing.completion) : '',
    })));
  }, [current.data]);
  if (current.error) return <ErrorNotice error={current.error} retry={current.reload} />;
  if (!current.data) return <Loading label="Loading the model's routes" rows={2} />;

  const edit = (index: number, change: Partial<EditedRoute>) =>
    setRoutes(routes.map((route, i) => (i === index ? { ...route, ...change } : route)));
  const save = (event: Event) => {
    event.preventDefault();
    action.run(async () => {
      await api(`/admin/models/${model}/routes`, { method: 'PUT', body: {
        strategy, routes: routes.map((r, index) => ({
          provider: r.provider, model: r.model.trim(), weight: Number(r.weight), pricing: routePricing(r, index),
        })),
      } });
      current.reload();
      return 'Routes replaced. Every server applies them within a second.';
    });
  };
  const reset = () => action.run(async () => {
    await api(`/admin/models/${model}/routes`, { method: 'DELETE' });
    current.reload();
    return 'Back to the routes of the config file and catalog.';
  });

  return (
    <form onSubmit={save}>
      <Select label="Strategy" name="strategy" value={strategy} onChange={setStrategy} options={STRATEGIES} />
      {routes.map((route, index) => (
        <fieldset class="admin-form" key={index}>
          <legend>Route {index + 1}</legend>
          <Select label={`Provider of route ${index + 1}`} name={`provider-${index}`} value={route.provider}
            onChange={(provider) => edit(index, { provider })}
            options={providers.map((id) => [id, id])} />
          <Field label={`Upstream model of route ${index + 1}`} name={`model-${index}`} value={route.model}
            onInput={(model) => edit(index, { model })} required />
          <Field label={`Weight of route ${index + 1}`} name={`weight-${index}`} value={route.weight}
            onInput={(weight) => edit(index, { weight })} required />
          <Field label={`Prompt price of route ${index + 1}`} name={`prompt-${index}`} value={route.prompt}
            onInput={(prompt) => edit(index, { prompt })} hint="USD per million tokens; empty: the catalog's"
            error={action.error} />
          <Field label={`Completion price of route ${index + 1}`} name={`completion-${index}`}
            value={route.completion} onInput={(completion) => edit(index, { completion })}
            hint="USD per million tokens; empty: the catalog's" error={action.error} />
          <div class="actions">
            <button type="button" class="button" disabled={routes.length === 1}
              onClick={() => setRoutes(routes.filter((_, i) => i !== index))}>Remove route {index + 1}</button>
          </div>
        </fieldset>
      ))}
      <div class="actions">
        <button type="button" class="button" disabled={providers.length === 0}
          onClick={() => setRoutes([...routes, { provider: providers[0], model: '', weight: '1', prompt: '',
            completion: '', loaded: {} }])}>Add a route</button>
        <button type="button" class="button" onClick={reset} disabled={action.busy}>Reset to the config file</button>
      </div>
      <FormError error={action.error} />
      {action.done && <p class="notice notice-ok" role="status">{action.done}</p>}
      <Submit busy={action.busy}>Replace the routes</Submit>
    </form>
  );
}

/** The route's own price to send, or undefined to keep the catalog's (both prices left as they were, or
 * both emptied). */
function routePricing(route: EditedRoute, index: number): Record<string, string> | undefined {
  const shown = (field: 'prompt' | 'completion') =>
    route.loaded[field] ? perMillion(route.loaded[field]) : '';
  const [typedPrompt, typedCompletion] = [route.prompt.trim(), route.completion.trim()];
  if (typedPrompt === '' && typedCompletion === '') return undefined;
  if (typedPrompt === shown('prompt') && typedCompletion === shown('completion')) return undefined;
  const prompt = perToken(typedPrompt);
  const completion = perToken(typedCompletion);
  if (prompt === null || completion === null) {
    throw new ApiError(`Route ${index + 1}: give both prices in USD per million tokens, e.g. 0.50.`, 400,
      'invalid_price', `${prompt === null ? 'prompt' : 'completion'}-${index}`);
  }
  return { ...route.loaded, prompt, completion };
}
