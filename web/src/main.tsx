/**
 * Phantom's web UI: app pages and the GraphQL playground. It only renders what the API
 * returns and calls the API; every rule lives in the backend.
 */
import './styles.css';
import { StrictMode, Suspense, lazy, useMemo } from 'react';
import { createRoot } from 'react-dom/client';
import { Provider } from 'urql';
import { createApiClient } from './api';
import { Link, matchRoute, usePath } from './router';
import { SignIn } from './SignIn';
import { useToken } from './token';
import { AppsPage } from './pages/AppsPage';
import { AppPage } from './pages/AppPage';

// ~6 MB with monaco: only loaded when the playground is opened.
const Playground = lazy(() => import('./playground/Playground'));

function Root() {
  const token = useToken();
  const client = useMemo(() => createApiClient(token), [token]);
  const route = matchRoute(usePath());
  const isPlayground = route.page === 'playground';

  return (
    <Provider value={client}>
      <div className={isPlayground ? 'layout layout-full' : 'layout'}>
        <header className="top">
          <Link href="/" className="brand">
            Phantom
          </Link>
          <nav>
            <Link href="/" className={route.page === 'apps' || route.page === 'app' ? 'active' : ''}>
              Apps
            </Link>
            <Link href="/playground" className={isPlayground ? 'active' : ''}>
              GraphQL playground
            </Link>
          </nav>
          <SignIn />
        </header>
        <main className={isPlayground ? 'main-full' : 'main'}>
          {route.page === 'apps' && <AppsPage />}
          {route.page === 'app' && <AppPage key={route.name} name={route.name} />}
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
