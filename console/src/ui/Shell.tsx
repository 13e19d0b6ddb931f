import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import type { ConsolePage } from '../pages';
import { useMe, useSession } from '../session';
import { Notices } from './Notices';
import { VerifyEmailNotice } from './VerifyEmailNotice';
import { AccountSwitcher } from './AccountSwitcher';
import { PasswordPrompt } from './PasswordPrompt';
import { asApiError } from './useApi';

/** The signed-in frame: a top bar with the account and sign-out, the navigation, and the page. */
export function Shell({ pages, children }: { pages: ConsolePage[]; children: ComponentChildren }) {
  const { path } = useLocation();
  const main = useFocusOnNavigation(path);
  return (
    <div class="shell">
      <a class="skip-link" href="#main">Skip to content</a>
      <header class="topbar">
        <a class="brand" href="/"><img src="/favicon.svg" alt="" width="24" height="24" />AllToken</a>
        <Account />
      </header>
      <nav class="sidebar" aria-label="Console">
        <ul>
          {pages.map((page) => (
            <li key={page.path}>
              <a href={page.path} aria-current={isCurrent(page, path) ? 'page' : undefined}>{page.label}</a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1} ref={main}>
        <VerifyEmailNotice />
        <Notices />
        {children}
      </main>
      <PasswordPrompt />
    </div>
  );
}

/** A page is current at its path, and under it when it has sub-pages. */
function isCurrent(page: ConsolePage, path: string): boolean {
  return page.path === path || (page.route !== undefined && path.startsWith(`${page.path}/`));
}

function Account() {
  const me = useMe();
  const { signedOut } = useSession();
  const [failure, setFailure] = useState<string>();
  const signOut = async () => {
    try {
      await api('/auth/logout', { method: 'POST' });
      signedOut('You are signed out.');
    } catch (error) {
      setFailure(asApiError(error).message);
    }
  };
  return (
    <div class="account">
      <AccountSwitcher />
      <span class="account-email" title={me.account_id}>{me.email}</span>
      <button type="button" class="button" onClick={signOut}>Sign out</button>
      {failure && <p class="notice notice-error" role="alert">{failure}</p>}
    </div>
  );
}

/** After a navigation (not the first page), focus the new page so screen readers announce it. */
function useFocusOnNavigation(path: string) {
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus({ preventScroll: false });
  }, [path]);
  return main;
}
