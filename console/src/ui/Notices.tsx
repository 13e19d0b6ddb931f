import { useLocation } from 'preact-iso';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { when } from './dates';

/** `GET /api/account/notices`: the account's enforcement state with the reason an administrator gave,
 * its warnings, any billing hold, and terms it must accept. */
export interface AccountNotices {
  account_id: string;
  status: 'active' | 'warned' | 'rate_limited' | 'suspended' | 'terminated' | string;
  status_reason: string | null;
  status_since: string;
  warnings: { at: string; reason: string }[];
  billing_hold: string | null;
  billing_hold_reason: string | null;
  terms_owed: { version: string; url: string | null; must_accept_by: string } | null;
}

interface Notice {
  id: string;
  tone: 'error' | 'warn';
  title: string;
  body: string;
  link?: [href: string, text: string];
}

const STATES: Record<string, [tone: Notice['tone'], title: string, consequence: string]> = {
  suspended: ['error', 'Your account is suspended.',
    'Its API keys are refused until the suspension is lifted. Contact support to appeal.'],
  terminated: ['error', 'Your account was terminated.',
    'Termination is final: its API keys are revoked. Contact support if you believe this is a mistake.'],
  rate_limited: ['warn', 'Your account is rate-limited.', 'Its requests are held to reduced limits for now.'],
  warned: ['warn', 'Your account received a warning.', 'Repeated problems may lead to limits or a suspension.'],
};

const REFRESH_MS = 60_000;

/** What the account must know, shown at the top of each signed-in page: read afresh on every page, every
 * minute, and when the tab comes back into view. */
export function Notices() {
  const { path } = useLocation();
  const [notices, setNotices] = useState<AccountNotices>();
  useEffect(() => {
    const abort = new AbortController();
    // A failure here hides the banner rather than covering every page with an error; the pages say it.
    const read = () => {
      if (document.visibilityState === 'visible') {
        api<AccountNotices>('/account/notices', { signal: abort.signal }).then(setNotices, () => undefined);
      }
    };
    read();
    const timer = setInterval(read, REFRESH_MS);
    document.addEventListener('visibilitychange', read);
    return () => {
      abort.abort();
      clearInterval(timer);
      document.removeEventListener('visibilitychange', read);
    };
  }, [path]);
  const shown = notices ? noticesOf(notices) : [];
  if (shown.length === 0) return null;
  return (
    <section class="notices" aria-label="Account notices">
      {shown.map((notice) => (
        <div key={notice.id} class={`notice notice-${notice.tone}`} role={notice.tone === 'error' ? 'alert' : 'status'}>
          <p class="notice-title">{notice.title}</p>
          <p>{notice.body}</p>
          {notice.link && <a href={notice.link[0]}>{notice.link[1]}</a>}
        </div>
      ))}
    </section>
  );
}

export function noticesOf(notices: AccountNotices): Notice[] {
  const shown: Notice[] = [];
  const state = STATES[notices.status];
  if (state) {
    const [tone, title, consequence] = state;
    const reason = notices.status_reason ? `Reason: ${notices.status_reason.replace(/\.?$/, '.')} ` : '';
    shown.push({ id: 'state', tone, title, body: `${reason}${consequence} Since ${when(notices.status_since)}.` });
  }
  if (notices.billing_hold) {
    shown.push({
      id: 'billing', tone: 'error', title: 'API access is on hold for payment.',
      body: `${notices.billing_hold_reason ?? 'A card payment failed or was disputed.'} Access returns once a top-up `
        + 'succeeds and leaves the balance at $0 or more.',
      link: ['/billing', 'Go to billing'],
    });
  }
  const terms = notices.terms_owed;
  if (terms) {
    const late = new Date(terms.must_accept_by) <= new Date();
    shown.push({
      id: 'terms', tone: late ? 'error' : 'warn', title: `New terms of service: version ${terms.version}.`,
      body: late ? 'API requests are refused until you accept them.'
        : `Accept them by ${when(terms.must_accept_by)} to keep using the API.`,
      link: terms.url ? [terms.url, 'Read the terms'] : undefined,
    });
  }
  return shown;
}
