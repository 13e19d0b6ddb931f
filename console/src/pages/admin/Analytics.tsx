import { useMemo, useState } from 'preact/hooks';
import { usdAmount } from '../../money';
import { BarChart } from '../../ui/BarChart';
import { PageHeader } from '../../ui/layout';
import { EmptyState, ErrorNotice, Loading } from '../../ui/states';
import { useApi } from '../../ui/useApi';
import { Select } from './fields';
import type { PlatformAnalytics } from './types';

const RANGES: [string, string][] = [['7', 'Last 7 days'], ['30', 'Last 30 days'], ['90', 'Last 90 days'],
  ['365', 'Last 365 days']];

function daysAgo(days: number): string {
  return new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
}

/** Platform analytics from every account's daily rollups (UTC days). */
export function Analytics() {
  const [range, setRange] = useState('30');
  const figures = useApi<PlatformAnalytics>(`/admin/analytics?from=${daysAgo(Number(range) - 1)}&to=${daysAgo(0)}`);
  const data = figures.data;
  return (
    <>
      <PageHeader title="Platform analytics">Requests, spend and active accounts across every account, by UTC day,
        and the models and providers that carried the most spend.</PageHeader>
      <div class="narrow"><Select label="Range" name="range" value={range} onChange={setRange} options={RANGES} /></div>
      {figures.error ? <ErrorNotice error={figures.error} retry={figures.reload} />
        : !data ? <Loading label="Loading platform analytics" rows={4} />
        : <>
            <div class="cards">
              <Tile title="Requests" value={data.requests.toLocaleString()} />
              <Tile title="Spend" value={usdAmount(data.spend_usd)} />
              <Tile title="Active accounts" value={data.active_accounts.toLocaleString()} />
            </div>
            {data.days.length === 0
              ? <EmptyState title="No requests in this range." />
              : <DayCharts data={data} />}
            <Leaders title="Top models" rows={data.top_models} />
            <Leaders title="Top providers" rows={data.top_providers} />
          </>}
    </>
  );
}

function Tile({ title, value }: { title: string; value: string }) {
  const id = `tile-${title.toLowerCase().replace(/\s+/g, '-')}`;
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <p class="figure">{value}</p>
    </section>
  );
}

function DayCharts({ data }: { data: PlatformAnalytics }) {
  const charts = useMemo(() => {
    const labels = data.days.map((day) => day.day);
    return {
      labels,
      requests: [{ label: 'Requests', values: data.days.map((day) => day.requests) },
        { label: 'Failed', values: data.days.map((day) => day.failed_requests) }],
      spend: [{ label: 'Spend', values: data.days.map((day) => Number(day.spend_usd)) }],
      accounts: [{ label: 'Active accounts', values: data.days.map((day) => day.active_accounts) }],
    };
  }, [data]);
  return (
    <div class="cards">
      <section class="card chart-card" aria-labelledby="requests-chart">
        <h2 id="requests-chart">Requests by day</h2>
        <div class="chart chart-small"><BarChart labels={charts.labels} series={charts.requests} unit="requests"
          summary={`Requests and failed requests on ${charts.labels.length} days`} /></div>
      </section>
      <section class="card chart-card" aria-labelledby="spend-chart">
        <h2 id="spend-chart">Spend by day</h2>
        <div class="chart chart-small"><BarChart labels={charts.labels} series={charts.spend} unit="USD"
          summary={`Spend in USD on ${charts.labels.length} days`} /></div>
      </section>
      <section class="card chart-card" aria-labelledby="accounts-chart">
        <h2 id="accounts-chart">Active accounts by day</h2>
        <div class="chart chart-small"><BarChart labels={charts.labels} series={charts.accounts} unit="accounts"
          summary={`Active accounts on ${charts.labels.length} days`} /></div>
      </section>
    </div>
  );
}

function Leaders({ title, rows }: { title: string; rows: PlatformAnalytics['top_models'] }) {
  const id = title.toLowerCase().replace(/\s+/g, '-');
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {rows.length === 0 ? <EmptyState title="None in this range." /> : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">{title} by spend</caption>
            <thead><tr><th scope="col">Name</th><th scope="col" class="num">Requests</th>
              <th scope="col" class="num">Spend</th></tr></thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.name}>
                  <th scope="row"><code>{row.name}</code></th>
                  <td class="num">{row.requests.toLocaleString()}</td>
                  <td class="num">{usdAmount(row.spend_usd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
