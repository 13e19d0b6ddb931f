// The usage API's shapes (GET /api/usage/summary and /generations), and the UTC days the summaries count in.

export type Group = 'day' | 'model' | 'provider' | 'key';

export interface Counters {
  requests: number;
  failed_requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: string;
  avg_latency_ms: number | null;
}

export interface UsageSummary {
  from: string;
  to: string;
  group: Group;
  totals: Counters;
  data: (Counters & Partial<Record<Group, string>>)[];
}

export interface Generation {
  id: string;
  created_at: string;
  model: string;
  provider: string | null;
  upstream_model: string | null;
  key_id: string | null;
  endpoint: string;
  streamed: boolean;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: string;
  latency_ms: number | null;
  ttft_ms: number | null;
  status: string;
  http_status: number | null;
  error_code: string | null;
}


/** A Date's UTC day, YYYY-MM-DD: the day the rollups file it under. */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The last `days` UTC days up to today, as the summary's `from` and `to`. */
export function lastDays(days: number, now = new Date()): { from: string; to: string } {
  const first = new Date(now.getTime() - (days - 1) * 86_400_000);
  return { from: utcDay(first), to: utcDay(now) };
}

/** Every UTC day from..to inclusive, so a chart shows the days without requests as zero. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    days.push(utcDay(new Date(t)));
  }
  return days;
}

export function summaryPath(group: Group, range: { from: string; to: string }): string {
  return `/usage/summary?group=${group}&from=${range.from}&to=${range.to}`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString()} ${count === 1 ? one : many}`;
}
