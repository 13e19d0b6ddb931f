// Every page of the signed-in console, in navigation order. To add one: write it in pages/ and list it
// here with its component; a page whose API has not shipped yet lists what it will do under `soon`.
import type { ComponentChildren, FunctionComponent } from 'preact';
import { lazy } from 'preact-iso';

export interface ConsolePage {
  path: string;
  label: string;
  component?: FunctionComponent;
  soon?: { summary: string; meanwhile?: ComponentChildren };
  adminOnly?: boolean;
  /** The router pattern when the page has sub-pages under its path (default: the path alone). */
  route?: string;
}

export const PAGES: ConsolePage[] = [
  { path: '/', label: 'Overview', component: lazy(() => import('./pages/Overview')) },
  { path: '/keys', label: 'API keys', component: lazy(() => import('./pages/Keys')) },
  {
    path: '/usage', label: 'Usage',
    soon: {
      summary: 'Spend and requests by day, model, key and provider; every generation with its cost, latency and '
        + 'route; CSV export.',
      meanwhile: <p>Meanwhile <code>GET /v1/generation?id=…</code> with your API key shows one request's record.</p>,
    },
  },
  { path: '/billing', label: 'Billing', component: lazy(() => import('./pages/Billing')) },
  { path: '/models', label: 'Models', component: lazy(() => import('./pages/Models')) },
  {
    path: '/routing', label: 'Routing',
    soon: {
      summary: "Your account's route preferences per model: which providers to prefer, allow or avoid.",
      meanwhile: <p>Meanwhile each request can carry its own <code>provider</code> preferences (see the routing
        documentation).</p>,
    },
  },
  { path: '/providers', label: 'Status', component: lazy(() => import('./pages/Status')) },
  { path: '/studio', label: 'Studio', component: lazy(() => import('./pages/studio/Studio')) },
  { path: '/team', label: 'Team', component: lazy(() => import('./pages/Team')) },
  { path: '/settings', label: 'Settings', component: lazy(() => import('./pages/Settings')) },
  {
    path: '/admin', label: 'Admin', adminOnly: true, route: '/admin/:section*',
    component: lazy(() => import('./pages/admin/AdminArea')),
  },
];
