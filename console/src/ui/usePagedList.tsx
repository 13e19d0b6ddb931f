import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, type ApiError } from '../api';
import { ErrorNotice } from './states';
import { asApiError, type Loaded, useApi } from './useApi';

interface Page<T> { data: T[]; next_cursor: string | null }

export interface PagedList<T> {
  first: Loaded<Page<T>>;
  rows: T[];
  /** The "Show more" button (nothing once the API has no next page), and the error of the last try. */
  more: JSX.Element;
}

/** A keyset-paged /api list, newest first: the first page on mount, then "Show more" follows the cursor. */
export function usePagedList<T>(path: string, pageSize: number): PagedList<T> {
  const separator = path.includes('?') ? '&' : '?';
  const first = useApi<Page<T>>(`${path}${separator}limit=${pageSize}`);
  const [later, setLater] = useState<{ rows: T[]; cursor: string | null }>();
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const rows = [...(first.data?.data ?? []), ...(later?.rows ?? [])];
  const cursor = later ? later.cursor : first.data?.next_cursor ?? null;

  const showMore = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const page = await api<Page<T>>(`${path}${separator}limit=${pageSize}&cursor=${encodeURIComponent(cursor!)}`);
      setLater({ rows: [...(later?.rows ?? []), ...page.data], cursor: page.next_cursor });
    } catch (failure) {
      setError(asApiError(failure));
    }
    setBusy(false);
  };

  const more = (
    <>
      {error && <ErrorNotice error={error} />}
      {cursor && <button type="button" class="button" disabled={busy} aria-busy={busy} onClick={showMore}>Show more</button>}
    </>
  );
  return { first, rows, more };
}
