import { useMemo } from 'preact/hooks';
import { usdAmount } from '../../money';
import { BarChart } from '../../ui/BarChart';
import { EmptyState, ErrorNotice, Loading } from '../../ui/states';
import { useApi } from '../../ui/useApi';
import { type Counters, daysBetween, type Group, plural, summaryPath, type UsageSummary } from '../../usage';

export type Metric = 'spend' | 'requests' | 'tokens';

export const METRICS: Record<Metric, { label: string; unit: string; value: (c: Counters) => number }> = {
  // The chart's bars only: every exact amount on the page is the API's decimal string.
  spend: { label: 'Spend', unit: 'USD', value: (c) => Number(c.cost_usd) },
  requests: { label: 'Requests', unit: 'requests', value: (c) => c.requests },
  tokens: { label: 'Tokens', unit: 'tokens', value: (c) => c.prompt_tokens + c.completion_tokens },
};

interface Props {
  group: Group;
  title: string;
  range: { from: string; to: string };
  metric: Metric;
  /** What the chart is called for screen readers; default: the metric and the title ("Spend by day"). */
  chartName?: string;
  /** How a group value is shown (a key id as its name, for instance); memoized by the caller. */
  name?: (value: string) => string;
}

/** One breakdown of the period's usage (by day, model, provider or key): a chart and the exact figures. */
const AS_IS = (value: string) => value || '—';

export function Breakdown({ group, title, range, metric, name = AS_IS, chartName }: Props) {
  const summary = useApi<UsageSummary>(summaryPath(group, range));
  const id = `usage-${group}-heading`;
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {summary.error ? <ErrorNotice error={summary.error} retry={summary.reload} />
        : !summary.data ? <Loading label={`Loading ${title.toLowerCase()}`} rows={4} />
        : summary.data.totals.requests === 0 ? <EmptyState title="No requests in this period." />
        : <Figures summary={summary.data} group={group} metric={metric} name={name}
            chartName={chartName ?? `${METRICS[metric].label} ${title.toLowerCase()}`} />}
    </section>
  );
}

function Figures({ summary, group, metric, name, chartName }: {
  summary: UsageSummary; group: Group; metric: Metric; name: (value: string) => string; chartName: string;
}) {
  const { label, unit, value } = METRICS[metric];
  const rows = summary.data.map((row) => ({ key: row[group] ?? '', counters: row as Counters }));
  const { labels, series } = useMemo(() => {
    if (group === 'day') {
      const byDay = new Map(rows.map((row) => [row.key, row.counters]));
      const days = daysBetween(summary.from, summary.to);
      return { labels: days, series: [{ label, values: days.map((day) => (byDay.has(day) ? value(byDay.get(day)!) : 0)) }] };
    }
    return { labels: rows.map((row) => name(row.key)), series: [{ label, values: rows.map((row) => value(row.counters)) }] };
  }, [summary, metric, name]);   // `rows` derives from `summary`; callers memoize `name`
  const horizontal = group !== 'day';
  const height = horizontal ? Math.max(140, 36 * rows.length + 60) : 240;
  return (
    <>
      <div class="chart" style={{ height: `${height}px` }}>
        <BarChart horizontal={horizontal} integer={metric !== 'spend'} unit={unit} labels={labels} series={series}
          summary={`${chartName}: ${plural(summary.totals.requests, 'request')}, `
            + `${usdAmount(summary.totals.cost_usd)} in total`} />
      </div>
      {group !== 'day' && <FigureTable rows={rows} group={group} name={name} />}
    </>
  );
}

function FigureTable({ rows, group, name }: {
  rows: { key: string; counters: Counters }[]; group: Group; name: (value: string) => string;
}) {
  return (
    <div class="table-wrap usage-figures">
      <table>
        <caption class="visually-hidden">Requests, tokens and spend by {group}</caption>
        <thead>
          <tr>
            <th scope="col">{group === 'key' ? 'API key' : group[0].toUpperCase() + group.slice(1)}</th>
            <th scope="col" class="num">Requests</th>
            <th scope="col" class="num">Failed</th>
            <th scope="col" class="num">Tokens in / out</th>
            <th scope="col" class="num">Spend</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ key, counters }) => (
            <tr key={key}>
              <th scope="row">{name(key)}</th>
              <td class="num">{counters.requests.toLocaleString()}</td>
              <td class="num">{counters.failed_requests.toLocaleString()}</td>
              <td class="num">{counters.prompt_tokens.toLocaleString()} / {counters.completion_tokens.toLocaleString()}</td>
              <td class="num">{usdAmount(counters.cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
