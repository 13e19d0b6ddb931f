import { useMemo, useState } from 'preact/hooks';
import type { Model } from '../api';
import { perMillion, usd } from '../money';
import { PageHeader } from '../ui/layout';
import { EmptyState, ErrorNotice, Loading } from '../ui/states';
import { useApi } from '../ui/useApi';

const NUMBER = new Intl.NumberFormat('en-US');

// Prices beyond input and output, when a model has them. `request` is per request, the rest per token.
const OTHER_PRICES: [field: string, label: string][] = [
  ['input_cache_read', 'Cache read'], ['input_cache_write', 'Cache write'], ['internal_reasoning', 'Reasoning'],
];

export default function Models() {
  const models = useApi<{ data: Model[] }>('/models');
  const [query, setQuery] = useState('');
  const all = models.data?.data;
  const shown = useMemo(() => (all ? matching(all, query) : []), [all, query]);

  return (
    <>
      <PageHeader title="Models">
        Every model your account can call, with its price per million tokens and its context length.
      </PageHeader>
      <div class="toolbar">
        <div class="field field-inline">
          <label for="model-search">Search models</label>
          <input id="model-search" type="search" value={query} placeholder="Name, id, provider or kind"
            autocomplete="off" onInput={(event) => setQuery(event.currentTarget.value)} />
        </div>
        <p class="count" role="status">{all ? `${shown.length} of ${all.length} models` : ''}</p>
      </div>
      {models.error ? <ErrorNotice error={models.error} retry={models.reload} />
        : !all ? <Loading label="Loading models" rows={4} />
        : shown.length === 0 ? <EmptyState title={`No model matches “${query.trim()}”.`}><p>Try fewer words.</p></EmptyState>
        : <ModelTable models={shown} />}
    </>
  );
}

/** Models whose id, name, kind or providers contain every word of the query. */
function matching(models: Model[], query: string): Model[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return models.filter((model) => {
    const text = [model.id, model.name, model.kind, ...model.providers].join(' ').toLowerCase();
    return words.every((word) => text.includes(word));
  });
}

function ModelTable({ models }: { models: Model[] }) {
  return (
    <div class="table-wrap">
      <table class="models">
        <caption class="visually-hidden">Models with prices in USD per million tokens</caption>
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col" class="num">Context</th>
            <th scope="col" class="num">Input <span class="unit">/ 1M tokens</span></th>
            <th scope="col" class="num">Output <span class="unit">/ 1M tokens</span></th>
            <th scope="col">Other prices</th>
            <th scope="col">Providers</th>
          </tr>
        </thead>
        <tbody>
          {models.map((model) => (
            <tr key={model.id}>
              <th scope="row">
                <span class="model-name">{model.name}</span>
                <code class="model-id">{model.id}</code>
                {model.kind !== 'chat' && <span class="tag">{model.kind}</span>}
              </th>
              <td class="num">{tokens(model.context_length)}</td>
              <td class="num">{usd(perMillion(model.pricing.prompt))}</td>
              <td class="num">{usd(perMillion(model.pricing.completion))}</td>
              <td><OtherPrices pricing={model.pricing} /></td>
              <td>{model.providers.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function OtherPrices({ pricing }: { pricing: Record<string, string> }) {
  const items = OTHER_PRICES.filter(([field]) => pricing[field])
    .map(([field, label]) => `${label} ${usd(perMillion(pricing[field]))} / 1M`);
  if (pricing.request) items.push(`${usd(pricing.request)} per request`);
  return items.length ? <ul class="plain">{items.map((item) => <li key={item}>{item}</li>)}</ul> : <span>—</span>;
}

function tokens(count: number | null): string {
  return count === null ? '—' : NUMBER.format(count);
}
