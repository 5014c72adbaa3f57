/**
 * Every query on the notification tables.
 */
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
// Both drivers (mysql, libsql) are SQL drivers: their EntityManager has the query builder.
import type { SqlEntityManager } from '@mikro-orm/mysql';
import { NotificationRoute } from './notification-route.entity.js';
import { NotificationDelivery } from './notification-delivery.entity.js';
import { NotificationDeliveryStatus } from './notification-channel.js';
import type { NotifiedEvent } from './notified-event.js';

/** Enabled routes that may match `e` (app-wide and global ones); env and types are checked by the caller. */
export function findCandidateRoutes(em: EntityManager, e: NotifiedEvent): Promise<NotificationRoute[]> {
  const app: FilterQuery<NotificationRoute> = e.app ? { $or: [{ app: null }, { app: e.app }] } : { app: null };
  return em.find(NotificationRoute, { $and: [{ enabled: true }, app] }, { orderBy: { id: 'asc' }, connectionType: 'write' });
}

export interface NewDelivery {
  eventId: string;
  routeId: number;
  app: string | null;
  eventType: string;
  event: NotifiedEvent;
}

/**
 * Inserts one PENDING delivery per row, skipping (event, route) pairs that exist: a
 * redelivered event adds nothing. A no-op upsert on the unique key rather than `INSERT
 * IGNORE`, which on MySQL would also turn real errors (truncation) into warnings.
 */
export async function insertDeliveries(em: EntityManager, rows: NewDelivery[], now = new Date()): Promise<void> {
  if (!rows.length) return;
  await (em as SqlEntityManager)
    .createQueryBuilder(NotificationDelivery)
    .insert(rows.map((r) => ({
      ...r,
      status: NotificationDeliveryStatus.PENDING,
      attempts: 0,
      nextAttemptAt: now,
      createdAt: now,
      updatedAt: now,
    })))
    .onConflict(['eventId', 'routeId'])
    .merge(['eventId'])
    .execute();
}

/** Switches off every route of `app`; returns how many were on. */
export function disableAppRoutes(em: EntityManager, app: string): Promise<number> {
  return em.nativeUpdate(NotificationRoute, { app, enabled: true }, { enabled: false, updatedAt: new Date() });
}

const QUEUED = [NotificationDeliveryStatus.PENDING, NotificationDeliveryStatus.RETRYING];

/**
 * Claims up to `limit` due deliveries for `lockMs`: each row is taken with a conditional
 * update, so two dispatchers (replicas) never send the same row at once. A dispatcher that
 * dies mid-send loses its claim when `lockedUntil` passes.
 */
export async function claimDue(em: EntityManager, limit: number, lockMs: number, now = new Date()): Promise<NotificationDelivery[]> {
  const free: FilterQuery<NotificationDelivery> = { $or: [{ lockedUntil: null }, { lockedUntil: { $lt: now } }] };
  const due = await em.find(
    NotificationDelivery,
    { $and: [{ status: { $in: QUEUED } }, { nextAttemptAt: { $lte: now } }, free] },
    { orderBy: { id: 'asc' }, limit, connectionType: 'write', disableIdentityMap: true },
  );
  const until = new Date(now.getTime() + lockMs);
  const claimed: NotificationDelivery[] = [];
  for (const d of due) {
    const n = await em.nativeUpdate(NotificationDelivery, { $and: [{ id: d.id }, { status: { $in: QUEUED } }, free] }, { lockedUntil: until });
    if (n === 1) claimed.push(d);
  }
  return claimed;
}

/** Records the outcome of an attempt and releases the claim. */
export async function finishAttempt(
  em: EntityManager,
  id: string,
  change: Pick<NotificationDelivery, 'status' | 'attempts'> & Partial<Pick<NotificationDelivery, 'lastError' | 'nextAttemptAt' | 'sentAt'>>,
  now = new Date(),
): Promise<void> {
  await em.nativeUpdate(NotificationDelivery, { id }, { nextAttemptAt: null, ...change, lockedUntil: null, updatedAt: now });
}

/** Routes matching `where`, by id, after `afterId`; `first + 1` rows tell whether a next page exists. */
export function pageRoutes(em: EntityManager, where: FilterQuery<NotificationRoute>, first: number, afterId?: number): Promise<NotificationRoute[]> {
  const w = afterId != null ? { $and: [where, { id: { $gt: afterId } }] } : where;
  return em.find(NotificationRoute, w, { orderBy: { id: 'asc' }, limit: first + 1 });
}

/** Deliveries matching `where`, newest first, before `beforeId`. */
export function pageDeliveries(em: EntityManager, where: FilterQuery<NotificationDelivery>, first: number, beforeId?: string): Promise<NotificationDelivery[]> {
  const w = beforeId != null ? { $and: [where, { id: { $lt: beforeId } }] } : where;
  return em.find(NotificationDelivery, w, { orderBy: { id: 'desc' }, limit: first + 1 });
}
