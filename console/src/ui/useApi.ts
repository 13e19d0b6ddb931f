import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/** GET an /api path when the component mounts (and on reload), with its loading and error state. */
export function useApi<T>(path: string): Loaded<T> {
  const [state, setState] = useState<Omit<Loaded<T>, 'reload'>>({ data: undefined, error: undefined, loading: true });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const abort = new AbortController();
    setState((previous) => ({ ...previous, loading: true }));
    api<T>(path, { signal: abort.signal }).then(
      (data) => setState({ data, error: undefined, loading: false }),
      (error) => {
        if (!abort.signal.aborted) setState((previous) => ({ ...previous, error: asApiError(error), loading: false }));
      },
    );
    return () => abort.abort();
  }, [path, generation]);
  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  return { ...state, reload };
}

export function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(String(error), 0);
}
