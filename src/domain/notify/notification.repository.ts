/**
 * Every query on the notification tables.
 */
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
// Both drivers (mysql, libsql) are SQL drivers: their EntityManager has the query builder.
import type { SqlEntityManager } from '@mikro-orm/mysql';
import { NotificationRoute } from './notification-route.entity.js';
import { NotificationDelivery } from './notification-delivery.entity.js';
import { NotificationDeliveryStatus } from './notification-channel.js';
import { PlatformEventType } from '../events/event-recorder.js';
import type { NotifiedEvent } from './notified-event.js';
import { NotifierCursor } from './notifier-cursor.entity.js';
import { NotificationRouteState } from './notification-route-state.entity.js';

/**
 * Enabled routes that may match `e`: global ones and those of the app that now has `e.app`'s
 * name (`liveAppId`, by id). With `deletedApp`, instead of the live app's: the routes under
 * `e.app`'s name that are not the live app's (the deleted app's). Env and types are checked
 * by the caller.
 */
export function findCandidateRoutes(
  em: EntityManager,
  e: NotifiedEvent,
  liveAppId: number | null,
  deletedApp = false,
): Promise<NotificationRoute[]> {
  let app: FilterQuery<NotificationRoute> = { app: null };
  if (deletedApp && e.app) {
    const notLive: FilterQuery<NotificationRoute> =
      liveAppId == null
        ? { app: e.app }
        : { app: e.app, $or: [{ appId: null }, { appId: { $ne: liveAppId } }] };
    app = { $or: [{ app: null }, notLive] };
  } else if (liveAppId != null) app = { $or: [{ app: null }, { appId: liveAppId }] };
  return em.find(
    NotificationRoute,
    { $and: [{ enabled: true }, app] },
    { orderBy: { id: 'asc' }, connectionType: 'write', disableIdentityMap: true },
  );
}

/** Every enabled route, by id (the notifier keeps them, and picks an event's candidates in memory). */
export function findEnabledRoutes(em: EntityManager): Promise<NotificationRoute[]> {
  return em.find(
    NotificationRoute,
    { enabled: true },
    { orderBy: { id: 'asc' }, connectionType: 'write', disableIdentityMap: true },
  );
}

/** Of enabled `routes`, those {@link findCandidateRoutes} gives for an app's live id (not a deleted app's). */
export const candidatesOf = (
  routes: readonly NotificationRoute[],
  liveAppId: number | null,
): NotificationRoute[] =>
  routes.filter(
    (r) => r.app == null || (liveAppId != null && r.appId != null && Number(r.appId) === liveAppId),
  );

export interface NewDelivery {
  eventId: string;
  routeId: number;
  app: string | null;
  appId: number | null;
  eventType: string;
  event: NotifiedEvent;
}

/**
 * Inserts one PENDING delivery per row, skipping (event, route) pairs that exist: a
 * redelivered event adds nothing. A no-op upsert on the unique key rather than `INSERT
 * IGNORE`, which on MySQL would also turn real errors (truncation) into warnings.
 */
export async function insertDeliveries(
  em: EntityManager,
  rows: NewDelivery[],
  now = new Date(),
): Promise<void> {
  if (!rows.length) return;
  await (em as SqlEntityManager)
    .createQueryBuilder(NotificationDelivery)
    .insert(
      rows.map((r) => ({
        ...r,
        status: NotificationDeliveryStatus.PENDING,
        attempts: 0,
        nextAttemptAt: now,
        createdAt: now,
        updatedAt: now,
      })),
    )
    .onConflict(['eventId', 'routeId'])
    .merge(['eventId'])
    .execute();
}

/** Switches off the routes `ids`; returns how many were on. */
export async function disableRoutes(em: EntityManager, ids: number[]): Promise<number> {
  if (!ids.length) return 0;
  return em.nativeUpdate(
    NotificationRoute,
    { id: { $in: ids }, enabled: true },
    { enabled: false, updatedAt: new Date() },
  );
}

const QUEUED = [NotificationDeliveryStatus.PENDING, NotificationDeliveryStatus.RETRYING];

/**
 * Was route `routeId` switched off by its app's deletion after delivery `deliveryId` was
 * queued? Then the route still has that app's "App deleted" announcement at or after this
 * delivery in its queue (deleting an app queues it, then switches the routes off), and the
 * deliveries up to it still go out. A route switched off by a person has none.
 */
export async function disabledByAppDeletionAfter(
  em: EntityManager,
  routeId: number,
  deliveryId: string,
): Promise<boolean> {
  const n = await em.count(
    NotificationDelivery,
    { routeId, eventType: PlatformEventType.APP_DELETED, id: { $gte: deliveryId } },
    { connectionType: 'write' },
  );
  return n > 0;
}

/**
 * The head of each route's queue, where it is due and not claimed: the oldest PENDING or
 * RETRYING delivery of each route, oldest first, at most `limit`. A route whose head waits
 * for a retry (or is being sent) offers nothing, so deliveries of one route go out in order
 * ("started" before "succeeded"), across replicas too.
 */
export async function findDueHeads(
  em: EntityManager,
  limit: number,
  now = new Date(),
): Promise<NotificationDelivery[]> {
  const heads = (await em
    .getConnection('write')
    .execute(
      `select min(id) as id from notification_deliveries where status in (${QUEUED.map(() => '?').join(', ')}) group by route_id`,
      [...QUEUED],
    )) as { id: string | number }[];
  if (!heads.length) return [];
  const free: FilterQuery<NotificationDelivery> = {
    $or: [{ lockedUntil: null }, { lockedUntil: { $lt: now } }],
  };
  return em.find(
    NotificationDelivery,
    {
      $and: [
        { id: { $in: heads.map((h) => String(h.id)) } },
        { status: { $in: QUEUED } },
        { nextAttemptAt: { $lte: now } },
        free,
      ],
    },
    { orderBy: { id: 'asc' }, limit, connectionType: 'write', disableIdentityMap: true },
  );
}

/**
 * Claims one due delivery for `lockMs` under `token`, just before sending it; returns the row
 * as claimed, or null when another dispatcher has it (or it is no longer due). Finishing
 * the attempt needs the same token ({@link finishAttempt}).
 */
export async function claimDelivery(
  em: EntityManager,
  id: string,
  token: string,
  lockMs: number,
  now = new Date(),
): Promise<NotificationDelivery | null> {
  const free: FilterQuery<NotificationDelivery> = {
    $or: [{ lockedUntil: null }, { lockedUntil: { $lt: now } }],
  };
  const n = await em.nativeUpdate(
    NotificationDelivery,
    { $and: [{ id }, { status: { $in: QUEUED } }, { nextAttemptAt: { $lte: now } }, free] },
    { lockedUntil: new Date(now.getTime() + lockMs), claimToken: token },
  );
  if (n !== 1) return null;
  return em.findOne(
    NotificationDelivery,
    { id, claimToken: token },
    { connectionType: 'write', disableIdentityMap: true },
  );
}

/**
 * Records the outcome of an attempt and releases the claim, if `token` still holds it;
 * returns false when the claim was lost (it expired and another dispatcher took the row):
 * that dispatcher's outcome stands.
 */
export async function finishAttempt(
  em: EntityManager,
  id: string,
  token: string,
  change: Pick<NotificationDelivery, 'status' | 'attempts'> &
    Partial<
      Pick<
        NotificationDelivery,
        'lastError' | 'nextAttemptAt' | 'sentAt' | 'attemptLog' | 'digestId'
      >
    >,
  now = new Date(),
): Promise<boolean> {
  const n = await em.nativeUpdate(
    NotificationDelivery,
    { id, claimToken: token },
    { nextAttemptAt: null, ...change, lockedUntil: null, claimToken: null, updatedAt: now },
  );
  return n === 1;
}

/**
 * Gives back the claim on deliveries `ids` (held under `token`) without an attempt: the route
 * may not send before `until` (its rate is spent, or the vendor throttled it). Attempts and
 * status are unchanged, and the route's queue waits behind its head.
 */
export async function deferDeliveries(
  em: EntityManager,
  ids: string[],
  token: string,
  until: Date,
  now = new Date(),
): Promise<void> {
  if (!ids.length) return;
  await em.nativeUpdate(
    NotificationDelivery,
    { id: { $in: ids }, claimToken: token },
    { nextAttemptAt: until, lockedUntil: null, claimToken: null, updatedAt: now },
  );
}

/** How many deliveries wait in route `routeId`'s queue after `afterId`. */
export function countQueuedAfter(
  em: EntityManager,
  routeId: number,
  afterId: string,
): Promise<number> {
  return em.count(
    NotificationDelivery,
    { routeId, id: { $gt: afterId }, status: { $in: QUEUED } },
    { connectionType: 'write' },
  );
}

/**
 * Claims, under the head's `token`, up to `limit` due deliveries that follow `headId` in route
 * `routeId`'s queue, in order, to go out with it as one digest. Nobody else takes them: a
 * route offers only its head, and the head is ours.
 */
export async function claimFollowers(
  em: EntityManager,
  routeId: number,
  headId: string,
  token: string,
  lockMs: number,
  limit: number,
  now = new Date(),
): Promise<NotificationDelivery[]> {
  if (limit < 1) return [];
  const free: FilterQuery<NotificationDelivery> = {
    $or: [{ lockedUntil: null }, { lockedUntil: { $lt: now } }],
  };
  const due: FilterQuery<NotificationDelivery> = {
    $and: [
      { routeId },
      { id: { $gt: headId } },
      { status: { $in: QUEUED } },
      { nextAttemptAt: { $lte: now } },
      free,
    ],
  };
  const candidates = await em.find(NotificationDelivery, due, {
    fields: ['id'],
    orderBy: { id: 'asc' },
    limit,
    connectionType: 'write',
    disableIdentityMap: true,
  });
  if (!candidates.length) return [];
  await em.nativeUpdate(
    NotificationDelivery,
    { $and: [due, { id: { $in: candidates.map((c) => c.id) } }] },
    { lockedUntil: new Date(now.getTime() + lockMs), claimToken: token },
  );
  return em.find(
    NotificationDelivery,
    { routeId, claimToken: token, id: { $gt: headId } },
    { orderBy: { id: 'asc' }, connectionType: 'write', disableIdentityMap: true },
  );
}

/** Route `routeId`'s pacing and health row, created empty when it has none yet. */
export async function loadRouteState(
  em: EntityManager,
  routeId: number,
): Promise<NotificationRouteState> {
  const found = await em.findOne(
    NotificationRouteState,
    { routeId },
    { connectionType: 'write', disableIdentityMap: true },
  );
  if (found) return found;
  await (em as SqlEntityManager)
    .createQueryBuilder(NotificationRouteState)
    .insert({ routeId, recentSends: [], permanentFailures: 0, version: 0, updatedAt: new Date() })
    .onConflict(['routeId'])
    .merge(['routeId'])
    .execute();
  return em.findOneOrFail(
    NotificationRouteState,
    { routeId },
    { connectionType: 'write', disableIdentityMap: true },
  );
}

/** Writes `change` to route `routeId`'s state if it is still at `version` (compare-and-set); false when another dispatcher wrote first. */
export async function updateRouteState(
  em: EntityManager,
  routeId: number,
  version: number,
  change: Partial<
    Pick<
      NotificationRouteState,
      | 'recentSends'
      | 'throttledUntil'
      | 'throttleReason'
      | 'permanentFailures'
      | 'unhealthySince'
      | 'lastPermanentError'
    >
  >,
): Promise<boolean> {
  const n = await em.nativeUpdate(
    NotificationRouteState,
    { routeId, version },
    { ...change, version: version + 1, updatedAt: new Date() },
  );
  return n === 1;
}

/** The states of routes `ids` (those that have one). */
export function findRouteStates(
  em: EntityManager,
  ids: number[],
): Promise<NotificationRouteState[]> {
  if (!ids.length) return Promise.resolve([]);
  return em.find(NotificationRouteState, { routeId: { $in: ids } }, { disableIdentityMap: true });
}

/** Routes matching `where`, by id, after `afterId`; `first + 1` rows tell whether a next page exists. */
export function pageRoutes(
  em: EntityManager,
  where: FilterQuery<NotificationRoute>,
  first: number,
  afterId?: number,
): Promise<NotificationRoute[]> {
  const w = afterId != null ? { $and: [where, { id: { $gt: afterId } }] } : where;
  return em.find(NotificationRoute, w, { orderBy: { id: 'asc' }, limit: first + 1 });
}

/** Deliveries matching `where`, newest first, before `beforeId`. */
export function pageDeliveries(
  em: EntityManager,
  where: FilterQuery<NotificationDelivery>,
  first: number,
  beforeId?: string,
): Promise<NotificationDelivery[]> {
  const w = beforeId != null ? { $and: [where, { id: { $lt: beforeId } }] } : where;
  return em.find(NotificationDelivery, w, { orderBy: { id: 'desc' }, limit: first + 1 });
}

/** The notifier group's place in the event sequence, from the primary; null when the group was never set up. */
export function findCursor(em: EntityManager, group: string): Promise<NotifierCursor | null> {
  return em.findOne(
    NotifierCursor,
    { groupName: group },
    { connectionType: 'write', disableIdentityMap: true },
  );
}

/** Records that `group` is set up, with events up to `historyUpTo` as its history; a no-op when it exists. */
export async function createCursor(
  em: EntityManager,
  group: string,
  historyUpTo: bigint,
): Promise<void> {
  await (em as SqlEntityManager)
    .createQueryBuilder(NotifierCursor)
    .insert({
      groupName: group,
      lastEventId: null,
      historyUpTo: String(historyUpTo),
      updatedAt: new Date(),
    })
    .onConflict(['groupName'])
    .merge(['groupName'])
    .execute();
}

/** Moves `group`'s cursor forward to `eventId` (never back: replicas advance it concurrently). */
export async function advanceCursor(
  em: EntityManager,
  group: string,
  eventId: bigint,
): Promise<void> {
  await em.nativeUpdate(
    NotifierCursor,
    {
      $and: [
        { groupName: group },
        { $or: [{ lastEventId: null }, { lastEventId: { $lt: String(eventId) } }] },
      ],
    },
    { lastEventId: String(eventId), updatedAt: new Date() },
  );
}
