import type { FunctionComponent } from 'preact';
import { useRoute } from 'preact-iso';
import { PageHeader } from '../../ui/layout';
import { NotFound } from '../NotFound';
import { AccountView } from './AccountView';
import { Accounts } from './Accounts';
import { Analytics } from './Analytics';
import { AuditLog } from './AuditLog';
import { Codes } from './Codes';
import { ModerationLog } from './ModerationLog';
import { Pricing } from './Pricing';
import { Providers } from './Providers';
import { Terms } from './Terms';
import { Uncollected } from './Uncollected';

interface Section {
  slug: string;
  label: string;
  summary: string;
  component: FunctionComponent;
}

// The admin area's pages, in the order its navigation lists them.
const SECTIONS: Section[] = [
  { slug: 'accounts', label: 'Accounts', component: Accounts,
    summary: 'Find an account; see its balance and state; adjust credit, refund, warn, limit or suspend it.' },
  { slug: 'providers', label: 'Providers & routes', component: Providers,
    summary: 'Configured providers, the health of their routes, and each model’s routes.' },
  { slug: 'pricing', label: 'Pricing & fees', component: Pricing,
    summary: 'What every model route charges, and the platform fees included.' },
  { slug: 'uncollected', label: 'Uncollected cost', component: Uncollected,
    summary: 'Accounts whose requests cost more than their balance or a limit could take.' },
  { slug: 'codes', label: 'Redemption codes', component: Codes,
    summary: 'Make codes worth credit and see how often each was redeemed.' },
  { slug: 'terms', label: 'Terms versions', component: Terms,
    summary: 'Published terms of service; publish a new version.' },
  { slug: 'audit-log', label: 'Audit log', component: AuditLog,
    summary: 'Who changed what, when and from where.' },
  { slug: 'moderation-log', label: 'Moderation log', component: ModerationLog,
    summary: 'The moderation level of every image request: five fields, nothing else.' },
  { slug: 'analytics', label: 'Platform analytics', component: Analytics,
    summary: 'Requests, spend and active accounts by day; the top models and providers.' },
];

/** /admin and its sub-pages: /admin/<section>, and /admin/accounts/<account id>. */
export default function AdminArea() {
  const { params } = useRoute();
  const [slug, id] = (params.section ?? '').split('/');
  const section = SECTIONS.find((one) => one.slug === slug);
  return (
    <>
      <nav class="subnav" aria-label="Admin">
        <ul>
          {SECTIONS.map((one) => (
            <li key={one.slug}>
              <a href={`/admin/${one.slug}`} aria-current={one.slug === slug ? 'page' : undefined}>{one.label}</a>
            </li>
          ))}
        </ul>
      </nav>
      {!slug ? <Index />
        : !section ? <NotFound />
        : id && slug === 'accounts' ? <AccountView id={id} />
        : id ? <NotFound />
        : <section.component />}
    </>
  );
}

function Index() {
  return (
    <>
      <PageHeader title="Admin">Run the platform: accounts, providers, prices, codes, terms and the logs.</PageHeader>
      <div class="cards">
        {SECTIONS.map((one) => (
          <section class="card" key={one.slug} aria-labelledby={`admin-${one.slug}`}>
            <h2 id={`admin-${one.slug}`}>{one.label}</h2>
            <p>{one.summary}</p>
            <a href={`/admin/${one.slug}`}>Open {one.label.toLowerCase()}</a>
          </section>
        ))}
      </div>
    </>
  );
}
