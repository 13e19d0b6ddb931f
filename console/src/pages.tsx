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
}

export const PAGES: ConsolePage[] = [
  { path: '/', label: 'Overview', component: lazy(() => import('./pages/Overview')) },
  { path: '/keys', label: 'API keys', component: lazy(() => import('./pages/Keys')) },
  { path: '/usage', label: 'Usage', component: lazy(() => import('./pages/Usage')) },
  { path: '/billing', label: 'Billing', component: lazy(() => import('./pages/Billing')) },
  { path: '/models', label: 'Models', component: lazy(() => import('./pages/Models')) },
  { path: '/routing', label: 'Routing', component: lazy(() => import('./pages/Routing')) },
  { path: '/providers', label: 'Status', component: lazy(() => import('./pages/Status')) },
  {
    path: '/studio', label: 'Studio',
    soon: {
      summary: 'A chat playground (model, system prompt, parameters, streaming, tokens and cost per message, code '
        + 'for the same call) and an image playground, paid from your own credits.',
    },
  },
  { path: '/settings', label: 'Settings', component: lazy(() => import('./pages/Settings')) },
  {
    path: '/admin', label: 'Admin', adminOnly: true,
    soon: {
      summary: 'Accounts, enforcement, providers and routes, pricing and fees, redemption codes, terms versions, '
        + 'the audit log, the moderation log and platform analytics.',
      meanwhile: <p>Meanwhile use the <code>alltoken</code> CLI and the admin endpoints of the{' '}
        <a href="/api/docs">management API</a>.</p>,
    },
  },
];
