// The data plane (/v1) as the Studio calls it: with the Studio key, like any client of the gateway.
import { ApiError } from '../../api';

/** The gateway's error answer as an ApiError, its message in words. */
export async function v1Error(response: Response): Promise<ApiError> {
  const payload = await response.json().catch(() => undefined);
  return errorOf(payload?.error, response.status, `The gateway answered ${response.status} ${response.statusText}.`);
}

/** An `{"error": {...}}` object (an answer's, or one sent in a stream) as an ApiError. */
export function errorOf(error: { message?: string; code?: string | null; param?: string | null } | undefined,
  status: number, fallback: string): ApiError {
  return new ApiError(sentence(error?.message ?? fallback), status, error?.code ?? null, error?.param ?? null);
}

function sentence(message: string): string {
  const capital = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** What a request cost, exactly: GET /v1/generation has the decimal string (usage.cost is a float). */
export interface Generation {
  id: string;
  status: string;
  tokens_prompt: number;
  tokens_completion: number;
  cost_usd: string;
}

export type V1Fetch = (path: string, init?: RequestInit) => Promise<Response>;

export async function generation(call: V1Fetch, id: string): Promise<Generation> {
  const response = await call(`/v1/generation?id=${encodeURIComponent(id)}`);
  if (!response.ok) throw await v1Error(response);
  return (await response.json()).data as Generation;
}

/** Hints for the errors a Studio user can act on. */
export function advice(error: ApiError): string | null {
  if (error.status === 402) return 'Add credits on the Billing page, or ask for less (a lower max tokens, fewer '
    + 'or smaller images).';
  if (error.status === 429) return 'Wait a moment, then try again.';
  if (error.code === 'account_suspended' || error.code === 'account_terminated') return 'See the Overview page.';
  return null;
}
