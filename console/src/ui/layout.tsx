import type { ComponentChildren } from 'preact';
import { useTitle } from './useTitle';

/** A signed-in page's heading and one line on what it is for. */
export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  useTitle(title);
  return (
    <header class="page-header">
      <h1>{title}</h1>
      {children && <p class="lede">{children}</p>}
    </header>
  );
}

/** The frame of the signed-out pages: one card in the middle. */
export function AuthLayout({ title, children }: { title: string; children: ComponentChildren }) {
  useTitle(title);
  return (
    <main class="auth" id="main">
      <div class="auth-card">
        <p class="brand"><img src="/favicon.svg" alt="" width="28" height="28" />AllToken</p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}
