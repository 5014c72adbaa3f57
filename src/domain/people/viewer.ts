import { TokenScope } from './token-scope.js';

/** Who is calling, resolved once per request (or once per subscription). */
export interface Viewer {
  userId: number;
  username: string;
  isAdmin: boolean;
  /** Scopes granted: a session has all the user's rights; an API token has its own scopes. */
  scopes: TokenScope[];
  /** How the caller signed in. */
  via: 'session' | 'token';
  /** Session id hash or API token id, so `logout` knows what to end. */
  credentialId: string;
}

export function canRead(v: Viewer): boolean {
  return v.scopes.length > 0;
}
export function canWrite(v: Viewer): boolean {
  return v.scopes.includes(TokenScope.WRITE) || v.scopes.includes(TokenScope.ADMIN);
}
/** Platform-admin rights need an admin user *and* an admin-capable credential. */
export function actsAsAdmin(v: Viewer): boolean {
  return v.isAdmin && v.scopes.includes(TokenScope.ADMIN);
}

/** The scopes a session grants: everything the user may do. */
export function sessionScopes(isAdmin: boolean): TokenScope[] {
  return isAdmin
    ? [TokenScope.READ, TokenScope.WRITE, TokenScope.ADMIN]
    : [TokenScope.READ, TokenScope.WRITE];
}

/**
 * May `viewer` see whether user `userId` is a platform admin? Their own flag, and everyone's
 * for platform admins. Other readers see usernames and display names only: the list of
 * admins is the list of accounts worth attacking.
 */
export function canSeeAdminFlag(viewer: Viewer | null, userId: number): boolean {
  return viewer != null && (viewer.userId === userId || actsAsAdmin(viewer));
}
