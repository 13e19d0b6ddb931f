// Teams in the console: the accounts the user acts in, the active team's members and invitations
// (docs/management-api.md, "Teams").
import { api } from './api';

export type Role = 'owner' | 'admin' | 'developer' | 'billing' | 'viewer';
export const ROLES: Role[] = ['owner', 'admin', 'developer', 'billing', 'viewer'];
export const MANAGERS: Role[] = ['owner', 'admin'];

/** An account the signed-in user may act in, as `GET /api/account/memberships` lists it. */
export interface Membership {
  account_id: string;
  name: string | null;
  kind: 'personal' | 'team';
  role: Role;
  active: boolean;
}

export interface Member {
  user_id: string;
  email: string;
  role: Role;
  limit_usd: string | null;
  limit_reset: 'daily' | 'weekly' | 'monthly' | null;
  spent_usd: string;
  spent_since: string;
  remaining_usd: string | null;
  joined_at: string;
}

export interface Team {
  id: string;
  name: string | null;
  email: string;
  balance_usd: string;
  members: Member[];
}

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  limit_usd: string | null;
  limit_reset: string | null;
  invited_by: string;
  created_at: string;
  expires_at: string;
}

export interface SentInvitation extends Invitation {
  emailed: boolean;
  accept_url: string | null;
}

export interface InvitationPreview {
  team_name: string | null;
  email: string;
  role: Role;
  expires_at: string;
}

export function accountLabel(account: Membership): string {
  return account.kind === 'personal' ? 'Personal account' : account.name ?? account.account_id;
}

/** What a role may do, in words (the server's policy: accounts/roles.py). */
export const ROLE_SUMMARY: Record<Role, string> = {
  owner: 'everything, owners included',
  admin: 'everything but owners',
  developer: 'their own keys; reads the rest',
  billing: 'top-ups, codes and alerts; reads the rest',
  viewer: 'reads only',
};

export function switchAccount(accountId: string): Promise<Membership> {
  return api<Membership>('/auth/switch-account', { method: 'POST', body: { account_id: accountId } });
}
