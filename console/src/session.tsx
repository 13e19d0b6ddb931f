import { createContext, type ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { api, type ApiError, type Me, SESSION_ENDED } from './api';
import { asApiError } from './ui/useApi';

export type SessionState =
  | { status: 'loading' }
  | { status: 'unreachable'; error: ApiError }
  | { status: 'signed-out'; notice?: string }
  | { status: 'signed-in'; me: Me };

interface Session {
  state: SessionState;
  /** After sign-up or sign-in: the API's answer says who is signed in now. */
  signedIn: (me: Me) => void;
  /** After the user signed out (here or everywhere): to the sign-in page, saying so. */
  signedOut: (notice?: string) => void;
  retry: () => void;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ComponentChildren }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);
  const { route } = useLocation();

  useEffect(() => {
    api<Me>('/auth/me').then(
      (me) => setState({ status: 'signed-in', me }),
      (error) => {
        const failure = asApiError(error);
        setState(failure.status === 401 ? { status: 'signed-out' } : { status: 'unreachable', error: failure });
      },
    );
  }, [attempt]);

  useEffect(() => {
    const ended = () => setState({ status: 'signed-out', notice: 'Your session ended. Sign in again to continue.' });
    window.addEventListener(SESSION_ENDED, ended);
    return () => window.removeEventListener(SESSION_ENDED, ended);
  }, []);

  const signedIn = useCallback((me: Me) => setState({ status: 'signed-in', me }), []);
  const signedOut = useCallback((notice?: string) => {
    route('/sign-in', true);
    setState({ status: 'signed-out', notice });
  }, [route]);
  const retry = useCallback(() => {
    setState({ status: 'loading' });
    setAttempt((n) => n + 1);
  }, []);
  const session = useMemo(() => ({ state, signedIn, signedOut, retry }), [state, signedIn, signedOut, retry]);
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/** The signed-in user, for pages that only render inside the signed-in shell. */
export function useMe(): Me {
  const { state } = useSession();
  if (state.status !== 'signed-in') throw new Error('useMe while not signed in');
  return state.me;
}
