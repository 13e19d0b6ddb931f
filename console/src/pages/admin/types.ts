// The admin endpoints' answers (docs/management-api.md, "Admin"). Money is decimal USD strings.
import type { RouteHealth } from '../../api';

export type AccountState = 'active' | 'warned' | 'rate_limited' | 'suspended' | 'terminated';

export interface AccountSummary {
  id: string;
  email: string;
  name: string | null;
  kind: string;
  status: AccountState | 'deleted';
  created_at: string;
}

export interface AccountPage {
  data: AccountSummary[];
  next_cursor: string | null;
}

export interface Enforcement {
  id: number;
  at: string;
  state: AccountState;
  previous_state: string;
  reason: string;
  actor: string;
}

export interface AccountDetail extends AccountSummary {
  status_reason: string | null;
  billing_hold: string | null;
  billing_hold_reason: string | null;
  balance_usd: string;
  reserved_usd: string;
  uncollected_usd: string;
  spend_this_month_usd: string;
  requests_this_month: number;
  keys_active: number;
  keys_total: number;
  users: { id: string; email: string; is_admin: boolean; created_at: string }[];
  enforcement: Enforcement[];
}

export interface UncollectedList {
  data: { account_id: string; email: string; name: string | null; uncollected_usd: string; requests: number;
    last_at: string }[];
}

export interface Correction {
  entry_id: number;
  kind: string;
  amount_usd: string;
  reason: string;
  balance_usd: string;
  refundable_usd: string;
}

export interface CodeRow {
  batch_id: string;
  hint: string;
  amount_usd: string;
  uses_left: number;
  redemptions: number;
  expires_at: string | null;
  created_at: string;
}

export interface CreatedCodes {
  batch_id: string;
  codes: string[];
  amount_usd: string;
  uses: number;
  expires_at: string | null;
}

export interface PricingView {
  fees: { default_percent: string; providers: Record<string, string>; models: Record<string, string> };
  models: {
    id: string; name: string; kind: string; strategy: string;
    routes: { provider: string; upstream_model: string; fee_percent: string; pricing: Record<string, string> }[];
  }[];
}

export interface ProviderView {
  id: string;
  type: string;
  region: string | null;
  base_url: string | null;
  models: string[];
  routes: RouteHealth[];
}

export interface ModelRoutes {
  model: string;
  strategy: string;
  routes: { provider: string; model: string; weight: number; pricing: Record<string, string> }[];
}

export interface TermsVersion {
  version: string;
  effective_at: string;
  material: boolean;
  url: string | null;
  summary: string | null;
  published_at: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  address: string | null;
  details: Record<string, unknown>;
}

export interface ModerationEntry {
  moderation: string | null;
  account_id: string;
  task_id: string;
  timestamp: string;
  model: string;
}

export interface PlatformAnalytics {
  from: string;
  to: string;
  requests: number;
  spend_usd: string;
  active_accounts: number;
  days: { day: string; requests: number; failed_requests: number; spend_usd: string; active_accounts: number }[];
  top_models: { name: string; requests: number; spend_usd: string }[];
  top_providers: { name: string; requests: number; spend_usd: string }[];
}
