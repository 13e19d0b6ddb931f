import { useMemo } from 'preact/hooks';
import type { Balance, Model, RouteHealth } from '../api';
import { usdAmount } from '../money';
import { useMe } from '../session';
import { PageHeader } from '../ui/layout';
import { ErrorNotice, Loading } from '../ui/states';
import { type Loaded, useApi } from '../ui/useApi';
import { lastDays, plural, summaryPath, utcDay, type UsageSummary } from '../usage';
import { Breakdown } from './usage/Breakdown';

export default function Overview() {
  const me = useMe();
  const models = useApi<{ data: Model[] }>('/models');
  const status = useApi<{ routes: RouteHealth[] }>('/status');
  const firstChat = models.data?.data.find((model) => model.kind === 'chat');
  const balance = useApi<Balance>('/billing/balance');
  const today = utcDay(new Date());
  const spentToday = useApi<UsageSummary>(summaryPath('day', { from: today, to: today }));
  const spentThisMonth = useApi<UsageSummary>(summaryPath('day', { from: `${today.slice(0, 8)}01`, to: today }));
  const month = useMemo(() => lastDays(30), []);

  return (
    <>
      <PageHeader title="Overview">Signed in as {me.email}.</PageHeader>
      <div class="cards">
        <Tile title="Balance" loaded={balance} link={['/billing', 'Top up or redeem a code']}
          say={(data) => usdAmount(data.balance_usd)} />
        <Tile title="Spend today" loaded={spentToday} link={['/usage', 'See your usage']}
          say={(data) => `${usdAmount(data.totals.cost_usd)} · ${plural(data.totals.requests, 'request')}`} />
        <Tile title="Spend this month" loaded={spentThisMonth} link={['/billing', 'See transactions and statements']}
          say={(data) => `${usdAmount(data.totals.cost_usd)} · ${plural(data.totals.requests, 'request')}`} />
      </div>
      <Breakdown group="day" title="Requests in the last 30 days" range={month} metric="requests"
        chartName="Requests per day in the last 30 days" />
      <div class="cards">
        <section class="card" aria-labelledby="account-heading">
          <h2 id="account-heading">Your account</h2>
          <dl class="facts">
            <dt>Account id</dt><dd><code>{me.account_id}</code></dd>
            <dt>Email</dt><dd>{me.email}</dd>
          </dl>
          <a href="/settings">Settings</a>
        </section>
        <Tile title="Models" loaded={models} link={['/models', 'Browse models and prices']}
          say={(data) => `${data.data.length} ${data.data.length === 1 ? 'model' : 'models'} available`} />
        <Tile title="Providers" loaded={status} link={['/providers', 'See provider status']} say={(data) => {
          const paused = data.routes.filter((route) => route.breaker !== 'closed').length;
          return paused ? `${paused} of ${data.routes.length} routes not serving normally`
            : `All ${data.routes.length} routes serving`;
        }} />
      </div>
      <section class="card" aria-labelledby="quickstart-heading">
        <h2 id="quickstart-heading">Call the API</h2>
        <p>Point the official OpenAI SDK at this gateway, with an API key of your account:</p>
        <pre class="code"><code>{[
          'from openai import OpenAI',
          '',
          `client = OpenAI(base_url="${location.origin}/v1", api_key="atk_...")`,
          `reply = client.chat.completions.create(model="${firstChat?.id ?? 'MODEL_ID'}",`,
          '    messages=[{"role": "user", "content": "Hello!"}])',
          'print(reply.choices[0].message.content, reply.usage.cost)',
        ].join('\n')}</code></pre>
      </section>
    </>
  );
}

/** A small card that shows one number from an API call, with a link to the page that explains it. */
function Tile<T>({ title, loaded, say, link }: {
  title: string; loaded: Loaded<T>; say: (data: T) => string; link: [href: string, text: string];
}) {
  const id = `${title.toLowerCase().replace(/\W+/g, '-')}-heading`;
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {loaded.error ? <ErrorNotice error={loaded.error} retry={loaded.reload} />
        : loaded.data === undefined ? <Loading label={`Loading ${title.toLowerCase()}`} rows={1} />
        : <p class="figure">{say(loaded.data)}</p>}
      <a href={link[0]}>{link[1]}</a>
    </section>
  );
}
