import { usdAmount } from '../../money';
import { when } from '../../ui/dates';
import { EmptyState, ErrorNotice, Loading } from '../../ui/states';
import { usePagedList } from '../../ui/usePagedList';
import type { Generation } from '../../usage';

const PAGE_SIZE = 50;

/** The account's requests, newest first, a page at a time ("Show more" follows the API's cursor). */
export function Generations({ keyName }: { keyName: (id: string) => string }) {
  const { first, rows, more } = usePagedList<Generation>('/usage/generations', PAGE_SIZE);

  return (
    <section class="card" aria-labelledby="generations-heading">
      <div class="toolbar">
        <h2 id="generations-heading">Requests</h2>
        {rows.length > 0 && <a class="button" href="/api/usage/generations.csv" download>Download CSV</a>}
      </div>
      {first.error ? <ErrorNotice error={first.error} retry={first.reload} />
        : !first.data ? <Loading label="Loading requests" rows={4} />
        : rows.length === 0 ? <EmptyState title="No requests yet."><p>Each call made with your API keys appears here
            with its cost, latency and route.</p></EmptyState>
        : <GenerationTable rows={rows} keyName={keyName} />}
      {more}
    </section>
  );
}

function GenerationTable({ rows, keyName }: { rows: Generation[]; keyName: (id: string) => string }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Requests, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Model</th>
            <th scope="col">Route</th>
            <th scope="col" class="num">Tokens in / out</th>
            <th scope="col" class="num">Cost</th>
            <th scope="col" class="num">Latency</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id}>
              <td><span class="nowrap">{when(row.created_at)}</span>
                <span class="hint request-id"><code>{row.id}</code></span></td>
              <td><code>{row.model}</code>{row.key_id && <span class="hint"> {keyName(row.key_id)}</span>}</td>
              <td>{row.provider ? <>{row.provider}{row.upstream_model && <span class="hint"> · {row.upstream_model}</span>}</>
                : '—'}</td>
              <td class="num">{row.prompt_tokens.toLocaleString()} / {row.completion_tokens.toLocaleString()}</td>
              <td class="num">{usdAmount(row.cost_usd)}</td>
              <td class="num">{row.latency_ms === null ? '—' : `${row.latency_ms.toLocaleString()} ms`}</td>
              <td><span class={`pill ${row.status === 'ok' ? 'pill-closed' : 'pill-open'}`}>{row.status}</span>
                {row.error_code && <span class="hint"> {row.error_code}</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
