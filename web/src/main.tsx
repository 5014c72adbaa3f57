/**
 * Phantom's web console: apps, builds (live logs), releases (live), tickets, the event stream, admin settings and
 * the GraphQL playground. It only renders what the API returns and calls the API; every rule lives in
 * the backend (buttons appear from `viewerCan…` fields, never from roles worked out here).
 */
import './styles.css';
import { StrictMode, Suspense, lazy, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Provider } from 'urql';
import { createApiClient, type ApiClient } from './api';
import { Link, matchRoute, usePath, type Route } from './router';
import { SignIn } from './SignIn';
import { endSession, useSessionNotice, useToken } from './token';
import { LiveIndicator, useLiveState } from './live';
import { AppsPage } from './pages/AppsPage';
import { AppPage } from './pages/AppPage';
import { ReleasePage } from './pages/ReleasePage';
import { BuildPage } from './pages/BuildPage';
import { ReleasesPage } from './pages/ReleasesPage';
import { TicketsPage } from './pages/TicketsPage';
import { EventsPage } from './pages/EventsPage';
import { AdminPage } from './pages/AdminPage';

// ~6 MB with monaco: only loaded when the playground is opened.
const Playground = lazy(() => import('./playground/Playground'));

const NAV: { href: string; label: string; pages: Route['page'][] }[] = [
  { href: '/', label: 'Apps', pages: ['apps', 'app', 'build'] },
  { href: '/releases', label: 'Releases', pages: ['releases', 'release'] },
  { href: '/tickets', label: 'Tickets', pages: ['tickets'] },
  { href: '/events', label: 'Events', pages: ['events'] },
  { href: '/admin', label: 'Admin', pages: ['admin'] },
  { href: '/playground', label: 'GraphQL playground', pages: ['playground'] },
];

function Root() {
  const token = useToken();
  // Created and disposed in one effect: a disposed graphql-ws client never reconnects, so it
  // must not outlive a StrictMode re-mount. The old token's socket closes with it.
  const [api, setApi] = useState<ApiClient | null>(null);
  useEffect(() => {
    const created = createApiClient(token);
    setApi(created);
    return () => void created.ws.dispose();
  }, [token]);
  const live = useLiveState(api?.ws ?? null);
  // The server closed the live socket for the credential (4401): it will not be retried.
  useEffect(() => {
    if (live === 'refused' && api) endSession(api.token);
  }, [live, api]);
  const notice = useSessionNotice();
  const route = matchRoute(usePath());
  const isPlayground = route.page === 'playground';

  if (!api) return null;
  return (
    <Provider value={api.client}>
      <div className={isPlayground ? 'layout layout-full' : 'layout'}>
        <header className="top">
          <Link href="/" className="brand">
            Phantom
          </Link>
          <nav>
            {NAV.map((n) => (
              <Link
                key={n.href}
                href={n.href}
                className={n.pages.includes(route.page) ? 'active' : ''}
              >
                {n.label}
              </Link>
            ))}
          </nav>
          {/* Signed out, a connected socket delivers nothing: no indicator then. */}
          <LiveIndicator state={token ? live : 'idle'} />
          <SignIn />
        </header>
        {/* Keyed by the credential: a page's state (live feeds included) never outlives who it was shown to. */}
        <main key={token} className={isPlayground ? 'main-full' : 'main'}>
          {notice && !token && (
            <p className="callout callout-bad session-notice" role="alert">
              {notice}
            </p>
          )}
          {route.page === 'apps' && <AppsPage />}
          {route.page === 'app' && <AppPage key={route.name} name={route.name} />}
          {route.page === 'releases' && <ReleasesPage />}
          {route.page === 'release' && <ReleasePage key={route.id} id={route.id} />}
          {route.page === 'build' && <BuildPage key={route.id} id={route.id} />}
          {route.page === 'tickets' && <TicketsPage />}
          {route.page === 'events' && <EventsPage />}
          {route.page === 'admin' && <AdminPage />}
          {route.page === 'playground' && (
            <Suspense fallback={<p className="muted pad">Loading the playground…</p>}>
              <Playground />
            </Suspense>
          )}
          {route.page === 'not-found' && <p className="empty">Nothing at {route.path}.</p>}
        </main>
      </div>
    </Provider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Root />
  </StrictMode>,
);
