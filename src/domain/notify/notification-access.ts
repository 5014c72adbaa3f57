/**
 * Who manages and reads notifications: platform admins everything (global routes included),
 * an app's OWNERs that app's routes and deliveries. Nobody else, not even the app's
 * developers: routes hold chat-group credentials.
 */
import type { DomainContext } from '../shared/domain-context.js';
import { requireAdmin, requireViewer, requireWriter } from '../shared/authz.js';
import { forbidden, notFound } from '../shared/errors.js';
import { actsAsAdmin } from '../people/viewer.js';
import { App } from '../apps/app.entity.js';
import { AppRole } from '../apps/app-kind.js';
import { requireAppRole, rolesOf } from '../apps/app.service.js';

/** May the caller change routes (and retry deliveries) of `app` (null: global ones)? Throws if not. */
export async function requireNotifyManager(ctx: DomainContext, app: string | null): Promise<void> {
  if (app == null) {
    requireAdmin(ctx.viewer);
    return;
  }
  requireWriter(ctx.viewer);
  const a = await ctx.em.findOne(App, { name: app }, { fields: ['id', 'name'] });
  if (!a) throw notFound(`App "${app}"`);
  await requireAppRole(ctx, a, AppRole.OWNER);
}

/**
 * What the caller may read: `'all'` for admins, else the names of the apps they own.
 * With `app`, checks that one app and returns just it.
 */
export async function readableApps(ctx: DomainContext, app?: string | null): Promise<'all' | string[]> {
  const viewer = requireViewer(ctx.viewer);
  if (actsAsAdmin(viewer)) return 'all';
  const roles = await rolesOf(ctx, viewer.userId);
  const ownedIds = Object.entries(roles).filter(([, r]) => r === AppRole.OWNER).map(([id]) => Number(id));
  const owned = ownedIds.length ? (await ctx.em.find(App, { id: { $in: ownedIds } }, { fields: ['name'] })).map((a) => a.name) : [];
  if (app != null) {
    if (!owned.includes(app)) throw forbidden(`Only OWNERs of "${app}" and platform admins may read its notifications.`);
    return [app];
  }
  return owned;
}
