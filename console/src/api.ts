// The management API under /api: the only server the console talks to (docs/management-api.md).

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

/** Fired when the server says the session is gone (signed out elsewhere, expired). */
export const SESSION_ENDED = 'alltoken:session-ended';

const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function csrfToken(): string {
  // The server sets this script-readable cookie with the session; changes echo it in x-csrf-token.
  const match = document.cookie.match(/(?:^|;\s*)atk_csrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : '';
}

interface Options {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
}

/** The signed-in user's password prompt (ui/PasswordPrompt registers it): whether they confirmed it. */
type PasswordPrompt = () => Promise<boolean>;
let prompt: PasswordPrompt | null = null;
let prompting: Promise<boolean> | null = null;
let confirmedUntil = 0;

export function onPasswordNeeded(ask: PasswordPrompt | null) {
  prompt = ask;
}

/** Confirm the signed-in user's password (POST /api/auth/reauthenticate): for the next minutes the session
 * may do what needs it fresh. A wrong password is an ApiError with param `password`. */
export async function reauthenticate(password: string): Promise<void> {
  const answer = await request<{ confirmed_until: string }>('/auth/reauthenticate', {
    method: 'POST', body: { password },
  });
  confirmedUntil = Date.parse(answer.confirmed_until);
}

/** Ask for the password unless it was confirmed a moment ago (one prompt for requests that need it at once). */
export async function confirmPassword(): Promise<boolean> {
  if (Date.now() < confirmedUntil - 30_000) return true;
  if (!prompt) return false;
  prompting ??= prompt().finally(() => { prompting = null; });
  return prompting;
}

/** A call of the management API. An action that needs the password fresh (deleting, exporting, accepting
 * terms, who the owners are: docs/authorization.md) asks for it, then is sent again. */
export async function api<T>(path: string, options: Options = {}): Promise<T> {
  try {
    return await request<T>(path, options);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'reauthentication_required') throw error;
    confirmedUntil = 0;
    if (!await confirmPassword()) throw error;
    return request<T>(path, options);
  }
}

async function request<T>(path: string, { method = 'GET', body, signal }: Options = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (CHANGES.has(method)) headers['x-csrf-token'] = csrfToken();
  let response: Response;
  try {
    response = await fetch(`/api${path}`, {
      method, headers, signal, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError('Cannot reach the AllToken server. Check your connection, then try again.', 0, 'network_error');
  }
  const payload = response.status === 204 ? undefined : await response.json().catch(() => undefined);
  if (response.ok) return payload as T;
  const error = payload?.error;
  if (error?.code === 'not_signed_in' && !path.startsWith('/auth/')) {
    window.dispatchEvent(new Event(SESSION_ENDED));
  }
  throw new ApiError(
    sentence(error?.message ?? `The server answered ${response.status} ${response.statusText}.`),
    response.status, error?.code ?? null, error?.param ?? null,
  );
}

/** The API's messages are lower-case clauses; shown alone they read better as sentences. */
function sentence(message: string): string {
  const capital = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

export interface Me {
  user_id: string;
  email: string;
  account_id: string;
  is_admin: boolean;
  csrf_token: string;
  email_verified: boolean;
  /** The server wants a verified email before the account makes API keys, and this user's is not yet. */
  must_verify_email: boolean;
}

export interface Model {
  id: string;
  name: string;
  kind: string;
  context_length: number | null;
  max_output_tokens: number | null;
  providers: string[];
  pricing: Record<string, string>;
}

export interface RouteHealth {
  route: string;
  provider: string;
  upstream_model: string;
  breaker: 'closed' | 'open' | 'half_open';
  requests: number;
  success_rate: number | null;
  latency_ms_p50: number | null;
  latency_ms_p90: number | null;
  ttft_ms_p50: number | null;
  output_tokens_per_s_p50: number | null;
  last_error: string | null;
}

/** An API key as `GET /api/account/keys` lists it: never its secret. Money is decimal USD strings. */
export interface ApiKey {
  id: string;
  name: string | null;
  hint: string;
  models: string[] | null;
  limit_usd: string | null;
  limit_reset: 'daily' | 'weekly' | 'monthly' | null;
  spent_usd: string;
  allowed_ips: string[] | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  rotated_at: string | null;
  previous_secret_valid_until: string | null;
  last_used_at: string | null;
  last_used_address: string | null;
}

/** A new or rotated key: the one answer that carries its secret. */
export interface CreatedKey extends ApiKey {
  key: string;
  terms_accepted: string | null;
}

export interface Balance {
  account_id: string;
  balance_usd: string;
  reserved_usd: string;
  available_usd: string;
}

/** A ledger entry as `GET /api/billing/transactions` lists it: `amount_usd` is signed. */
export interface Transaction {
  id: number;
  kind: string;
  amount_usd: string;
  balance_effect: 'credit' | 'debit';
  note: string | null;
  request_id: string | null;
  expires_at: string | null;
  created_at: string;
}


export interface TermsVersion {
  version: string;
  effective_at: string;
  material: boolean;
  url: string | null;
  summary: string | null;
  published_at: string;
}

/** `GET /api/terms`: the version in effect and where this account stands with it. */
export interface TermsStatus {
  current: TermsVersion | null;
  accepted_version: string | null;
  accepted_at: string | null;
  accepts_current: boolean;
  must_accept_by: string | null;
}

/** `GET /api/terms/image-uploads`: the section 4.8 warranty for uploaded images. */
export interface UploadWarranty {
  account_id: string;
  version: string;
  image_uploads: boolean;
  accepted_at: string | null;
}
