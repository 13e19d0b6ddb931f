import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { useEffect } from 'preact/hooks';
import { PAGES } from './pages';
import { Invitation } from './pages/Invitation';
import { ForgotPassword } from './pages/ForgotPassword';
import { NotFound } from './pages/NotFound';
import { ResetPassword } from './pages/ResetPassword';
import { SignIn } from './pages/SignIn';
import { SignUp } from './pages/SignUp';
import { VerifyEmail } from './pages/VerifyEmail';
import { SessionProvider, useSession } from './session';
import { Shell } from './ui/Shell';
import { ErrorNotice, Loading } from './ui/states';

// Links to the APIs (/api/openapi.json, /status, ...) are ordinary page loads, not console routes.
const CONSOLE_PATHS = /^\/(?!(api|v1|status|health|metrics)(\/|$))/;

export function App() {
  return (
    <LocationProvider scope={CONSOLE_PATHS}>
      <SessionProvider>
        <Screens />
      </SessionProvider>
    </LocationProvider>
  );
}

function Screens() {
  const { state, retry } = useSession();
  const { path } = useLocation();
  // The emailed links work signed in or out (a reset signs every session out).
  if (path === '/reset-password' && (state.status === 'signed-in' || state.status === 'signed-out')) {
    return <ResetPassword />;
  }
  if (path === '/verify-email' && (state.status === 'signed-in' || state.status === 'signed-out')) {
    return <VerifyEmail />;
  }
  switch (state.status) {
    case 'loading':
      return <main class="centered"><Loading label="Loading the console" rows={2} /></main>;
    case 'unreachable':
      return <main class="centered"><ErrorNotice error={state.error} retry={retry} /></main>;
    case 'signed-out':
      return (
        <Router>
          <Route path="/sign-in" component={SignIn} />
          <Route path="/sign-up" component={SignUp} />
          <Route path="/invitation" component={Invitation} />
          <Route path="/forgot-password" component={ForgotPassword} />
          <Route default component={ToSignIn} />
        </Router>
      );
    case 'signed-in': {
      const pages = PAGES.filter((page) => !page.adminOnly || state.me.is_admin);
      return (
        <Shell pages={pages}>
          <Router>
            {pages.map((page) => (
              <Route key={page.path} path={page.route ?? page.path} component={page.component} />
            ))}
            <Route path="/sign-in" component={ToOverview} />
            <Route path="/sign-up" component={ToOverview} />
            <Route path="/invitation" component={Invitation} />
            <Route path="/forgot-password" component={ToOverview} />
            <Route default component={NotFound} />
          </Router>
        </Shell>
      );
    }
  }
}

/** A console page while signed out: sign in first, then come back to it. */
function ToSignIn() {
  const { url, route } = useLocation();
  useEffect(() => route(url === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(url)}`, true), [url]);
  return null;
}

function ToOverview() {
  const { route } = useLocation();
  useEffect(() => route('/', true), []);
  return null;
}
