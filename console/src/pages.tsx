// Every page of the signed-in console, in navigation order. To add one: write it in pages/ and list it
// here with its component.
import type { FunctionComponent } from 'preact';
import { lazy } from 'preact-iso';

export interface ConsolePage {
  path: string;
  label: string;
  component: FunctionComponent;
  adminOnly?: boolean;
  /** The router pattern when the page has sub-pages under its path (default: the path alone). */
  route?: string;
}

export const PAGES: ConsolePage[] = [
  { path: '/', label: 'Overview', component: lazy(() => import('./pages/Overview')) },
  { path: '/keys', label: 'API keys', component: lazy(() => import('./pages/Keys')) },
  { path: '/usage', label: 'Usage', component: lazy(() => import('./pages/Usage')) },
  { path: '/billing', label: 'Billing', component: lazy(() => import('./pages/Billing')) },
  { path: '/models', label: 'Models', component: lazy(() => import('./pages/Models')) },
  { path: '/routing', label: 'Routing', component: lazy(() => import('./pages/Routing')) },
  { path: '/providers', label: 'Status', component: lazy(() => import('./pages/Status')) },
  { path: '/studio', label: 'Studio', component: lazy(() => import('./pages/studio/Studio')) },
  { path: '/team', label: 'Team', component: lazy(() => import('./pages/Team')) },
  { path: '/settings', label: 'Settings', component: lazy(() => import('./pages/Settings')) },
  {
    path: '/admin', label: 'Admin', adminOnly: true, route: '/admin/:section*',
    component: lazy(() => import('./pages/admin/AdminArea')),
  },
];
