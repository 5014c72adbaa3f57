/** Viewers built in tests that call domain code without an HTTP request. */
import type { Viewer } from '../../src/domain/people/viewer.js';
import { TokenScope } from '../../src/domain/people/token-scope.js';

/** A non-admin user signed in with a READ API token (`credentialId` is the token's id). */
export function readTokenViewer(userId: number, username: string, credentialId: string): Viewer {
  return {
    userId,
    username,
    isAdmin: false,
    scopes: [TokenScope.READ],
    via: 'token',
    credentialId,
  };
}
