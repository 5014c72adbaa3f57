/**
 * Who manages and reads notifications: platform admins everything (global routes included),
 * an app's OWNERs that app's routes and deliveries. Nobody else, not even the app's
 * developers: routes hold chat-group credentials.
 *
 * Routes and deliveries belong to an app *id*. The name is only what people see: a new app
 * that reuses a deleted app's name has another id, so its OWNERs neither see nor manage
 * the old app's routes (which point at the old team's chat groups).
 */
import type { DomainContext } from '../shared/domain-context.js';
import { requireAdmin, requireViewer, requireWriter } from '../shared/authz.js';
import { forbidden, notFound } from '../shared/errors.js';
import { actsAsAdmin } from '../people/viewer.js';
import { AppRole } from '../apps/app-kind.js';
import { getApp, requireAppRole, rolesOf } from '../apps/app.service.js';

/** Something owned by an app (a route, a delivery): the app's name and id; both null when global. */
export interface AppOwned {
  app?: string | null;
  appId?: number | null;
}

/**
 * May the caller create routes for app `app` (null: a global one)? Throws if not; returns the
 * app's id (null for a global route), which the new route keeps.
 */
export async function requireNotifyManager(
  ctx: DomainContext,
  app: string | null,
): Promise<number | null> {
  if (app == null) {
    requireAdmin(ctx.viewer);
    return null;
  }
  requireWriter(ctx.viewer);
  const a = await getApp(ctx, app);
  if (!a) throw notFound(`App "${app}"`);
  await requireAppRole(ctx, a, AppRole.OWNER);
  return a.id;
}

/** The app `owned` belongs to, if it still exists (same name *and* id). */
export async function liveAppOf(
  ctx: DomainContext,
  owned: AppOwned,
): Promise<{ id: number; name: string } | null> {
  if (owned.app == null || owned.appId == null) return null;
  const a = await getApp(ctx, owned.app);
  return a && a.id === owned.appId ? a : null;
}

/**
 * May the caller manage `owned` (a route, or a delivery to retry)? Global ones: admins. App
 * ones: OWNERs of that very app (by id). When the app is gone (deleted, maybe recreated
 * under the same name) only admins may act, and only when `orphanOk` (deleting the route);
 * others are told it does not exist. Throws `notFoundWhat` as NOT_FOUND otherwise.
 */
export async function requireOwnedManager(
  ctx: DomainContext,
  owned: AppOwned,
  notFoundWhat: string,
  orphanOk = false,
): Promise<void> {
  if (owned.app == null) {
    requireAdmin(ctx.viewer);
    return;
  }
  const viewer = requireWriter(ctx.viewer);
  const live = await liveAppOf(ctx, owned);
  if (live) {
    await requireAppRole(ctx, live, AppRole.OWNER);
    return;
  }
  if (orphanOk && actsAsAdmin(viewer)) return;
  throw notFound(notFoundWhat);
}

/**
 * What the caller may read: `'all'` for admins, else the ids of the apps they own. With
 * `app`, checks that one app and returns just its id.
 */
export async function readableApps(
  ctx: DomainContext,
  app?: string | null,
): Promise<'all' | number[]> {
  const viewer = requireViewer(ctx.viewer);
  if (actsAsAdmin(viewer)) return 'all';
  const roles = await rolesOf(ctx, viewer.userId);
  const owned = Object.entries(roles)
    .filter(([, r]) => r === AppRole.OWNER)
    .map(([id]) => Number(id));
  if (app != null) {
    const a = await getApp(ctx, app);
    if (!a || !owned.includes(a.id))
      throw forbidden(`Only OWNERs of "${app}" and platform admins may read its notifications.`);
    return [a.id];
  }
  return owned;
}
