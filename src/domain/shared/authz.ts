import type { Viewer } from '../people/viewer.js';
import { actsAsAdmin, canRead, canWrite } from '../people/viewer.js';
import { forbidden, unauthenticated } from './errors.js';

/** Signed in with at least read rights. */
export function requireViewer(v: Viewer | null): Viewer {
  if (!v) throw unauthenticated();
  if (!canRead(v)) throw forbidden('This token has no scopes.');
  return v;
}

/** Signed in with a credential that may change things (READ-scoped tokens never mutate). */
export function requireWriter(v: Viewer | null): Viewer {
  const viewer = requireViewer(v);
  if (!canWrite(viewer))
    throw forbidden('This token is read-only (scope READ); use a WRITE token or sign in.');
  return viewer;
}

/** A platform admin acting with admin rights. */
export function requireAdmin(v: Viewer | null): Viewer {
  const viewer = requireWriter(v);
  if (!actsAsAdmin(viewer))
    throw forbidden('Only platform admins (with an ADMIN-scoped credential) may do this.');
  return viewer;
}
