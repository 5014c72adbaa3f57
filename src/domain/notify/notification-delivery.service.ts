/**
 * Deliveries: the fan-out of each platform event to the routes it matches
 * ({@link handlePlatformEvent}), their history, and re-queueing dead letters.
 */
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import type { DomainContext } from '../shared/domain-context.js';
import { requireWriter } from '../shared/authz.js';
import { conflict, forbidden, notFound } from '../shared/errors.js';
import { NotificationDelivery, type DeliveryAttempt } from './notification-delivery.entity.js';
import { NotificationDeliveryStatus } from './notification-channel.js';
import { NotificationRoute } from './notification-route.entity.js';
import type { NotifiedEvent } from './notified-event.js';
import { readableApps, requireOwnedManager } from './notification-access.js';
import {
  disableRoutes,
  findCandidateRoutes,
  insertDeliveries,
  pageDeliveries,
} from './notification.repository.js';
import { PlatformEventType } from '../events/event-recorder.js';

/** An event's `type` on the wire is a plain string: compared as one. */
const APP_DELETED: string = PlatformEventType.APP_DELETED;

export interface NotificationDeliveryRecord {
  id: string;
  routeId: number;
  app: string | null;
  eventId: string;
  eventType: string;
  status: NotificationDeliveryStatus;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: Date | null;
  sentAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Every attempt, oldest first. */
  attemptLog: DeliveryAttempt[];
  /** The digest it went out in (its first delivery's id), if it did. */
  digestId: string | null;
}

export function toDeliveryRecord(d: NotificationDelivery): NotificationDeliveryRecord {
  // Guard against drivers that return JSON columns as strings (docs/STACK.md, mysql2 on MariaDB).
  const log =
    typeof d.attemptLog === 'string'
      ? (JSON.parse(d.attemptLog) as DeliveryAttempt[])
      : (d.attemptLog ?? []);
  return {
    id: String(d.id),
    routeId: d.routeId,
    app: d.app ?? null,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    lastError: d.lastError ?? null,
    nextAttemptAt: d.nextAttemptAt ?? null,
    sentAt: d.sentAt ?? null,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    attemptLog: log,
    digestId: d.digestId != null ? String(d.digestId) : null,
  };
}

/**
 * Does `route` want `e`? Its app (or any, for a global route), its env (or any) and its
 * types (or all). Events of no app and no environment (a token created, a user changed)
 * concern one person: they match only routes that list their type explicitly.
 */
export function routeMatches(
  route: Pick<NotificationRoute, 'app' | 'env' | 'eventTypes' | 'enabled'>,
  e: NotifiedEvent,
): boolean {
  if (!route.enabled) return false;
  if (route.app != null && route.app !== e.app) return false;
  if (route.env != null && route.env !== e.env) return false;
  if (route.eventTypes.length) return route.eventTypes.includes(e.type);
  return e.app != null || e.env != null;
}

/**
 * Queues `e` for every route it matches; returns how many routes matched. Idempotent per
 * (event id, route id): the stream delivers at least once, and a replayed event queues
 * nothing new. Sending happens later, in the dispatcher.
 *
 * Routes belong to an app id: `appIdOf` gives the id of the app that has `e.app`'s name now
 * (null when none), so routes of a deleted app never fire for a new app of the same name.
 * "App deleted" goes to the deleted app's routes (those of that name but not of the app now
 * holding it), which are then switched off. `candidates` reads the routes that may match (the
 * notifier passes a cached reader).
 */
export async function handlePlatformEvent(
  em: EntityManager,
  e: NotifiedEvent,
  appIdOf: (name: string) => Promise<number | null>,
  candidates: typeof findCandidateRoutes = findCandidateRoutes,
): Promise<number> {
  const liveId = e.app ? await appIdOf(e.app) : null;
  const deleted = e.type === APP_DELETED && e.app != null;
  const routes = (await candidates(em, e, liveId, deleted)).filter((r) => routeMatches(r, e));
  await insertDeliveries(
    em,
    routes.map((r) => ({
      eventId: e.id,
      routeId: r.id,
      app: r.app ?? null,
      appId: r.appId ?? null,
      eventType: e.type,
      event: e,
    })),
  );
  if (deleted)
    await disableRoutes(
      em,
      routes.filter((r) => r.app != null).map((r) => r.id),
    );
  return routes.length;
}

export interface NotificationDeliveryFilter {
  routeId?: number | null;
  status?: NotificationDeliveryStatus | null;
  /** The route's app. */
  app?: string | null;
}

export interface NotificationDeliveryPage {
  items: NotificationDeliveryRecord[];
  hasNextPage: boolean;
}

/** Deliveries the caller may see, newest first: all for admins, their apps' routes' for OWNERs (by app id). */
export async function listNotificationDeliveries(
  ctx: DomainContext,
  filter: NotificationDeliveryFilter,
  first: number,
  beforeId?: string,
): Promise<NotificationDeliveryPage> {
  const scope = await readableApps(ctx, filter.app ?? null);
  const and: FilterQuery<NotificationDelivery>[] = [];
  if (filter.routeId != null) {
    const route = await ctx.em.findOne(
      NotificationRoute,
      { id: filter.routeId },
      { fields: ['app', 'appId'] },
    );
    if (!route) throw notFound(`Notification route ${filter.routeId}`);
    if (scope !== 'all' && (route.appId == null || !scope.includes(route.appId))) {
      throw forbidden(
        route.app == null
          ? 'Only platform admins may read global notification routes.'
          : `Only OWNERs of "${route.app}" and platform admins may read its notifications.`,
      );
    }
    and.push({ routeId: filter.routeId });
  }
  if (filter.status != null) and.push({ status: filter.status });
  if (scope !== 'all') {
    if (!scope.length) return { items: [], hasNextPage: false };
    and.push({ appId: { $in: scope } });
  } else if (filter.app != null) and.push({ app: filter.app });
  const rows = await pageDeliveries(ctx.em, and.length ? { $and: and } : {}, first, beforeId);
  return { items: rows.slice(0, first).map(toDeliveryRecord), hasNextPage: rows.length > first };
}

/** Puts a DEAD delivery back in the queue with a fresh attempt budget (OWNER of its route's app, or admin). */
export async function retryNotificationDelivery(
  ctx: DomainContext,
  id: string,
): Promise<NotificationDeliveryRecord> {
  requireWriter(ctx.viewer);
  const d = await ctx.em.findOne(NotificationDelivery, { id });
  if (!d) throw notFound(`Notification delivery ${id}`);
  await requireOwnedManager(ctx, d, `Notification delivery ${id}`);
  if (d.status !== NotificationDeliveryStatus.DEAD)
    throw conflict(`Delivery ${id} is ${d.status}: only DEAD deliveries can be retried.`, {
      status: d.status,
    });
  const now = new Date();
  const n = await ctx.em.nativeUpdate(
    NotificationDelivery,
    { id, status: NotificationDeliveryStatus.DEAD },
    {
      status: NotificationDeliveryStatus.PENDING,
      attempts: 0,
      nextAttemptAt: now,
      lockedUntil: null,
      claimToken: null,
      updatedAt: now,
    },
  );
  if (n !== 1) throw conflict(`Delivery ${id} was retried concurrently.`);
  const fresh = await ctx.em
    .fork()
    .findOneOrFail(NotificationDelivery, { id }, { connectionType: 'write' });
  return toDeliveryRecord(fresh);
}
