/**
 * A minimal history-API router: the UI has a handful of routes, which does not warrant a library.
 */
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

const EVENT = 'phantom:navigate';

function subscribe(listener: () => void): () => void {
  window.addEventListener('popstate', listener);
  window.addEventListener(EVENT, listener);
  return () => {
    window.removeEventListener('popstate', listener);
    window.removeEventListener(EVENT, listener);
  };
}

export function usePath(): string {
  return useSyncExternalStore(
    subscribe,
    () => window.location.pathname,
    () => '/',
  );
}

export function navigate(to: string): void {
  window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(EVENT));
  window.scrollTo(0, 0);
}

/** An <a> that navigates in-app on a plain left click, and behaves normally otherwise. */
export function Link({
  href,
  onClick,
  ...rest
}: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
      return;
    e.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={handle} {...rest} />;
}

/** The path of a release's page (ids are opaque global ids). */
export const releasePath = (id: string): string => `/releases/${encodeURIComponent(id)}`;

/** The path of a build's page (chat messages of build events link here). */
export const buildPath = (id: string): string => `/builds/${encodeURIComponent(id)}`;

export type Route =
  | { page: 'apps' }
  | { page: 'app'; name: string }
  | { page: 'releases' }
  | { page: 'release'; id: string }
  | { page: 'build'; id: string }
  | { page: 'tickets' }
  | { page: 'events' }
  | { page: 'admin' }
  | { page: 'playground' }
  | { page: 'not-found'; path: string };

export function matchRoute(path: string): Route {
  const p = path.replace(/\/+$/, '') || '/';
  if (p === '/') return { page: 'apps' };
  if (p === '/graphql' || p === '/playground') return { page: 'playground' };
  if (p === '/releases') return { page: 'releases' };
  if (p === '/tickets') return { page: 'tickets' };
  if (p === '/events') return { page: 'events' };
  if (p === '/admin') return { page: 'admin' };
  const app = /^\/apps\/([^/]+)$/.exec(p);
  if (app) return { page: 'app', name: decodeURIComponent(app[1]) };
  const release = /^\/releases\/([^/]+)$/.exec(p);
  if (release) return { page: 'release', id: decodeURIComponent(release[1]) };
  const build = /^\/builds\/([^/]+)$/.exec(p);
  if (build) return { page: 'build', id: decodeURIComponent(build[1]) };
  return { page: 'not-found', path };
}
