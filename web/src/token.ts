/**
 * The credential the UI sends: an API token or a session token from `login`, kept in
 * localStorage so the app pages and the playground share it across reloads.
 */
import { useSyncExternalStore } from 'react';

/** Same key as the server's built-in playground, so switching between them keeps the token. */
const KEY = 'phantom.token';
const listeners = new Set<() => void>();

export function getToken(): string {
  try {
    return localStorage.getItem(KEY) ?? '';
  } catch {
    return '';
  }
}

export function setToken(token: string): void {
  const t = token.trim();
  if (t) localStorage.setItem(KEY, t);
  else localStorage.removeItem(KEY);
  // Signing in (again) answers the notice.
  if (t) notice = '';
  for (const l of listeners) l();
}

/** Why the last credential was dropped ('' when it was not, or once signed in again). */
let notice = '';

/**
 * The credential `refused` stopped working (session ended or expired, token revoked): forget
 * it, so the sign-in forms come back instead of a dead end, and say why. Only if it is still
 * the stored one: a late answer to a request sent with an older credential must not sign out
 * whoever signed in since.
 */
export function endSession(refused: string, why = 'Your session expired — sign in again.'): void {
  if (!refused || getToken() !== refused) return;
  notice = why;
  setToken('');
}

/** The notice of {@link endSession}, re-rendering when it changes. */
export function useSessionNotice(): string {
  return useSyncExternalStore(
    subscribe,
    () => notice,
    () => '',
  );
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  // Another tab signing in or out.
  const onStorage = (e: StorageEvent) => {
    if (e.key === KEY) listener();
  };
  window.addEventListener('storage', onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('storage', onStorage);
  };
}

/** The current token ('' when signed out); re-renders when it changes. */
export function useToken(): string {
  return useSyncExternalStore(subscribe, getToken, () => '');
}

/** The Authorization header value for a token, or undefined without one. */
export function bearer(token: string): string | undefined {
  return token ? `Bearer ${token}` : undefined;
}
