import { useCallback, useMemo, useState } from 'preact/hooks';
import type { ApiKey } from '../api';
import { usdAmount } from '../money';
import { PageHeader } from '../ui/layout';
import { ErrorNotice, Loading } from '../ui/states';
import { useApi } from '../ui/useApi';
import { lastDays, plural, summaryPath, type UsageSummary } from '../usage';
import { Breakdown, type Metric, METRICS } from './usage/Breakdown';
import { Generations } from './usage/Generations';

const PERIODS = [7, 30, 90];

export default function Usage() {
  const [days, setDays] = useState(30);
  const [metric, setMetric] = useState<Metric>('spend');
  const range = useMemo(() => lastDays(days), [days]);
  const keys = useApi<ApiKey[]>('/account/keys');
  const keyName = useCallback((id: string) => {
    if (!id) return 'No key';
    const key = keys.data?.find((one) => one.id === id);
    return key ? `${key.name ?? 'Unnamed key'} (${key.hint})` : id;
  }, [keys.data]);

  return (
    <>
      <PageHeader title="Usage">Your requests, tokens and spend by day, model, provider and API key (UTC days), and
        every request with its cost, latency and route.</PageHeader>
      <div class="toolbar usage-controls">
        <div class="field field-inline">
          <label for="field-period">Period</label>
          <select id="field-period" value={days} onChange={(event) => setDays(Number(event.currentTarget.value))}>
            {PERIODS.map((n) => <option key={n} value={n}>Last {n} days</option>)}
          </select>
        </div>
        <div class="field field-inline">
          <label for="field-metric">Charts show</label>
          <select id="field-metric" value={metric} onChange={(event) => setMetric(event.currentTarget.value as Metric)}>
            {Object.entries(METRICS).map(([value, { label }]) => <option key={value} value={value}>{label}</option>)}
          </select>
        </div>
      </div>
      <Totals range={range} />
      <Breakdown group="day" title="By day" range={range} metric={metric} />
      <Breakdown group="model" title="By model" range={range} metric={metric} />
      <Breakdown group="provider" title="By provider" range={range} metric={metric} />
      <Breakdown group="key" title="By API key" range={range} metric={metric} name={keyName} />
      <Generations keyName={keyName} />
    </>
  );
}

/** The period's totals, from the same rollups as the charts. */
function Totals({ range }: { range: { from: string; to: string } }) {
  const summary = useApi<UsageSummary>(summaryPath('day', range));
  const totals = summary.data?.totals;
  return (
    <section class="card" aria-labelledby="usage-totals-heading">
      <h2 id="usage-totals-heading">From {range.from} to {range.to}</h2>
      {summary.error ? <ErrorNotice error={summary.error} retry={summary.reload} />
        : !totals ? <Loading label="Loading the totals" rows={1} />
        : <dl class="totals">
            <div><dt>Spend</dt><dd class="figure">{usdAmount(totals.cost_usd)}</dd></div>
            <div><dt>Requests</dt><dd class="figure">{totals.requests.toLocaleString()}</dd></div>
            <div><dt>Failed</dt><dd class="figure">{totals.failed_requests.toLocaleString()}</dd></div>
            <div><dt>Tokens in / out</dt>
              <dd class="figure">{totals.prompt_tokens.toLocaleString()} / {totals.completion_tokens.toLocaleString()}</dd></div>
            <div><dt>Average latency</dt>
              <dd class="figure">{totals.avg_latency_ms === null ? '—' : `${totals.avg_latency_ms.toLocaleString()} ms`}</dd></div>
          </dl>}
      {totals && <p class="hint">{plural(totals.requests, 'request')} in the period.</p>}
    </section>
  );
}
