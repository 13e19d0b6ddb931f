import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api';

/** Placeholder rows while data loads: they take the room the data will take, so nothing jumps. */
export function Loading({ label, rows = 3 }: { label: string; rows?: number }) {
  return (
    <div class="loading" role="status" aria-live="polite">
      <span class="visually-hidden">{label}</span>
      {Array.from({ length: rows }, (_, i) => <div class="skeleton" key={i} aria-hidden="true" />)}
    </div>
  );
}

/** An API error in words, with a way to try again. */
export function ErrorNotice({ error, retry }: { error: ApiError; retry?: () => void }) {
  return (
    <div class="notice notice-error" role="alert">
      <p>{error.message}</p>
      {retry && <button type="button" class="button" onClick={retry}>Try again</button>}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children}
    </div>
  );
}
