import { useEffect, useMemo } from 'preact/hooks';
import type { RouteHealth } from '../api';
import { BarChart } from '../ui/BarChart';
import { PageHeader } from '../ui/layout';
import { EmptyState, ErrorNotice, Loading } from '../ui/states';
import { useApi } from '../ui/useApi';

const REFRESH_MS = 15_000;
const BREAKER: Record<RouteHealth['breaker'], string> = {
  closed: 'Serving', half_open: 'Testing recovery', open: 'Paused after failures',
};

export default function Status() {
  const status = useApi<{ routes: RouteHealth[] }>('/status');
  useEffect(() => {
    const timer = setInterval(status.reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [status.reload]);
  const routes = status.data?.routes;

  return (
    <>
      <PageHeader title="Status">
        The health of every provider route over the last five minutes, as the gateway measures it. It refreshes
        every {REFRESH_MS / 1000} seconds.
      </PageHeader>
      {status.error && <ErrorNotice error={status.error} retry={status.reload} />}
      {!routes ? !status.error && <Loading label="Loading provider status" rows={3} />
        : routes.length === 0 ? <EmptyState title="No provider routes are configured." />
        : <Routes routes={routes} />}
    </>
  );
}

function Routes({ routes }: { routes: RouteHealth[] }) {
  const paused = routes.filter((route) => route.breaker !== 'closed').length;
  return (
    <>
      <p class={`summary ${paused ? 'summary-warn' : 'summary-ok'}`}>
        {paused ? `${paused} of ${routes.length} routes are not serving normally.`
          : `All ${plural(routes.length, 'route')} ${routes.length === 1 ? 'is' : 'are'} serving.`}
      </p>
      <LatencyChart routes={routes} />
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Provider routes and their health over the last five minutes</caption>
          <thead>
            <tr>
              <th scope="col">Provider</th>
              <th scope="col">Model</th>
              <th scope="col">State</th>
              <th scope="col" class="num">Requests</th>
              <th scope="col" class="num">Success</th>
              <th scope="col" class="num">Latency p50 / p90</th>
              <th scope="col" class="num">First token p50</th>
              <th scope="col" class="num">Tokens/s p50</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {routes.map((route) => (
              <tr key={route.route}>
                <th scope="row">{route.provider}</th>
                <td><code>{route.upstream_model}</code></td>
                <td><span class={`pill pill-${route.breaker}`}>{BREAKER[route.breaker]}</span></td>
                <td class="num">{route.requests}</td>
                <td class="num">{route.success_rate === null ? '—' : `${(route.success_rate * 100).toFixed(1)}%`}</td>
                <td class="num">{ms(route.latency_ms_p50)} / {ms(route.latency_ms_p90)}</td>
                <td class="num">{ms(route.ttft_ms_p50)}</td>
                <td class="num">{route.output_tokens_per_s_p50 === null ? '—' : route.output_tokens_per_s_p50.toFixed(0)}</td>
                <td>{route.last_error ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function LatencyChart({ routes }: { routes: RouteHealth[] }) {
  const { measured, labels, series } = useMemo(() => {
    const measured = routes.filter((route) => route.latency_ms_p50 !== null);
    return {
      measured,
      labels: measured.map((route) => `${route.provider} · ${route.upstream_model}`),
      series: [
        { label: 'p50', values: measured.map((route) => route.latency_ms_p50) },
        { label: 'p90', values: measured.map((route) => route.latency_ms_p90) },
      ],
    };
  }, [routes]);
  return (
    <section class="card chart-card" aria-labelledby="latency-heading">
      <h2 id="latency-heading">Latency of successful requests</h2>
      {measured.length === 0
        ? <EmptyState title="No successful requests in the last five minutes.">
            <p>Latency appears here once requests flow through a route.</p>
          </EmptyState>
        : <div class="chart" style={{ height: `${Math.max(160, 56 * measured.length + 70)}px` }}>
            <BarChart horizontal unit="ms" labels={labels} series={series}
              summary={`Latency p50 and p90 in milliseconds for ${plural(measured.length, 'route')}`} />
          </div>}
    </section>
  );
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function ms(value: number | null): string {
  return value === null ? '—' : `${Math.round(value)} ms`;
}
