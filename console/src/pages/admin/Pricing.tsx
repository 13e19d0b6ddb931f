import { perMillion } from '../../money';
import { PageHeader } from '../../ui/layout';
import { EmptyState, ErrorNotice, Loading } from '../../ui/states';
import { useApi } from '../../ui/useApi';
import type { PricingView } from './types';

/** Token prices are shown per million tokens; per-image and per-request prices as they are. */
const PER_TOKEN = new Set(['prompt', 'completion', 'input_cache_read', 'input_cache_write', 'internal_reasoning',
  'input_image', 'output_image']);

export function Pricing() {
  const pricing = useApi<PricingView>('/admin/pricing');
  return (
    <>
      <PageHeader title="Pricing & fees">What each model route charges accounts, the platform fee included. Fees
        are set in the config file (<code>markup</code>); the most specific wins.</PageHeader>
      {pricing.error ? <ErrorNotice error={pricing.error} retry={pricing.reload} />
        : !pricing.data ? <Loading label="Loading prices" rows={4} />
        : <>
            <Fees fees={pricing.data.fees} />
            <Prices models={pricing.data.models} />
          </>}
    </>
  );
}

function Fees({ fees }: { fees: PricingView['fees'] }) {
  const rows: [string, string][] = [
    ['Every route (default)', fees.default_percent],
    ...Object.entries(fees.providers).map(([id, percent]): [string, string] => [`Provider ${id}`, percent]),
    ...Object.entries(fees.models).map(([id, percent]): [string, string] => [`Model ${id}`, percent]),
  ];
  return (
    <section class="card" aria-labelledby="fees-heading">
      <h2 id="fees-heading">Platform fees</h2>
      <dl class="facts">
        {rows.map(([scope, percent]) => [<dt key={`${scope}-t`}>{scope}</dt>, <dd key={`${scope}-d`}>{percent}%</dd>])}
      </dl>
    </section>
  );
}

function Prices({ models }: { models: PricingView['models'] }) {
  if (models.length === 0) return <EmptyState title="No models are configured." />;
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Every model route’s prices, fee included</caption>
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Provider · upstream model</th>
            <th scope="col" class="num">Fee</th>
            <th scope="col">Prices <span class="unit">(USD per million tokens, or per image / request)</span></th>
          </tr>
        </thead>
        <tbody>
          {models.flatMap((model) => model.routes.map((route, index) => (
            <tr key={`${model.id}-${index}`}>
              {index === 0 ? <th scope="row" rowSpan={model.routes.length}>
                <span class="model-name">{model.name}</span><code class="model-id">{model.id}</code>
              </th> : null}
              <td>{route.provider} · <code>{route.upstream_model}</code></td>
              <td class="num">{route.fee_percent}%</td>
              <td><ul class="plain">{Object.entries(route.pricing).map(([name, price]) => (
                <li key={name}>{name.replace(/_/g, ' ')}: ${PER_TOKEN.has(name) ? perMillion(price) : price}</li>
              ))}</ul></td>
            </tr>
          )))}
        </tbody>
      </table>
    </div>
  );
}
