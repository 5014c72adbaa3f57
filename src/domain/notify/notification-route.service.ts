/**
 * Notification routes: which platform events go to which chat group. Admins manage global
 * routes (no app), an app's OWNERs manage the app's. Secrets are write-only: records carry
 * `hasSecret` and a masked URL, and the SETTINGS_CHANGED events say what changed, never to what.
 */
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { noteAuditTarget } from '../audit/audit-target.js';
import type { DomainContext } from '../shared/domain-context.js';
import { badInput, notFound } from '../shared/errors.js';
import { requireWriter } from '../shared/authz.js';
import {
  NOTIFICATION_ROUTE_SETTING,
  PlatformEventType,
  recordEvent,
} from '../events/event-recorder.js';
import { Environment } from '../settings/environment.entity.js';
import { NotificationRoute } from './notification-route.entity.js';
import { NotificationChannel } from './notification-channel.js';
import { readableApps, requireNotifyManager, requireOwnedManager } from './notification-access.js';
import { findRouteStates, pageRoutes } from './notification.repository.js';
import type { NotificationRouteState } from './notification-route-state.entity.js';
import {
  maskUrl,
  validateChannel,
  validateEventTypes,
  validateRouteName,
  validateSecret,
  validateWebhookUrl,
} from './notification-route.validation.js';

/** A route as the API shows it: no secret, URL masked. */
export interface NotificationRouteRecord {
  id: number;
  name: string;
  app: string | null;
  env: string | null;
  eventTypes: string[];
  channel: NotificationChannel;
  /** The webhook URL as scheme + host, path and query masked (see maskUrl). */
  webhookUrl: string;
  hasSecret: boolean;
  enabled: boolean;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** How sending through it goes (throttles, permanent failures); healthy until the dispatcher says otherwise. */
  health: NotificationRouteHealth;
}

/** A route's sending health, from its pacing row (notification_route_states). */
export interface NotificationRouteHealth {
  /** False after `PHANTOM_NOTIFY_UNHEALTHY_AFTER` permanent failures in a row (until a success). */
  healthy: boolean;
  unhealthySince: Date | null;
  permanentFailures: number;
  /** The last permanent failure, with a hint on what to fix. */
  lastPermanentError: string | null;
  /** The vendor throttled the route: nothing is sent before this. */
  throttledUntil: Date | null;
  throttleReason: string | null;
}

/** The health a route's state row describes (a route without one has never failed). */
export function toRouteHealth(
  state?: NotificationRouteState | null,
  now = new Date(),
): NotificationRouteHealth {
  const throttled =
    state?.throttledUntil && state.throttledUntil > now ? state.throttledUntil : null;
  return {
    healthy: !state?.unhealthySince,
    unhealthySince: state?.unhealthySince ?? null,
    permanentFailures: state?.permanentFailures ?? 0,
    lastPermanentError: state?.lastPermanentError ?? null,
    throttledUntil: throttled,
    throttleReason: throttled ? (state?.throttleReason ?? null) : null,
  };
}

export interface CreateNotificationRouteInput {
  name: string;
  /** App name; null or absent = a global route (admins only). */
  app?: string | null;
  env?: string | null;
  eventTypes?: string[] | null;
  channel: NotificationChannel;
  /** Named so the audit log's redaction treats it as a webhook (path and query removed). */
  webhookUrl: string;
  secret?: string | null;
  enabled?: boolean | null;
}

/** Absent (undefined) fields stay; `env: null` means every environment again. */
export interface UpdateNotificationRouteInput {
  name?: string | null;
  env?: string | null;
  eventTypes?: string[] | null;
  channel?: NotificationChannel | null;
  webhookUrl?: string | null;
  /** A new secret (absent or null keeps the current one). */
  secret?: string | null;
  /** Removes the secret. */
  clearSecret?: boolean | null;
  enabled?: boolean | null;
}

export function toRouteRecord(
  r: NotificationRoute,
  state?: NotificationRouteState | null,
): NotificationRouteRecord {
  return {
    id: r.id,
    name: r.name,
    app: r.app ?? null,
    env: r.env ?? null,
    eventTypes: r.eventTypes,
    channel: r.channel,
    webhookUrl: maskUrl(r.url),
    hasSecret: Boolean(r.secret),
    enabled: r.enabled,
    createdBy: r.createdBy ?? null,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    health: toRouteHealth(state),
  };
}

async function validateEnv(
  em: EntityManager,
  env: string | null | undefined,
): Promise<string | null> {
  if (env == null) return null;
  if (!(await em.count(Environment, { name: env })))
    throw badInput('env', `Unknown environment "${env}".`);
  return env;
}

/** The SETTINGS_CHANGED payload: what the route is and which fields changed; no URL, no secret. Readers are filtered like the routes' (canSeeEvent). */
function routeEventPayload(
  r: NotificationRoute,
  action: 'created' | 'updated' | 'deleted' | 'unhealthy',
  changed: string[] = [],
): Record<string, unknown> {
  return {
    // appId: who may read the event is decided by the app's id, like the route itself (canSeeEvent).
    setting: NOTIFICATION_ROUTE_SETTING,
    action,
    routeId: r.id,
    appId: r.appId ?? null,
    name: r.name,
    channel: r.channel,
    env: r.env ?? null,
    eventTypes: r.eventTypes,
    enabled: r.enabled,
    ...(action === 'updated' ? { changed } : {}),
  };
}

export async function createNotificationRoute(
  ctx: DomainContext,
  input: CreateNotificationRouteInput,
): Promise<NotificationRouteRecord> {
  const viewer = requireWriter(ctx.viewer);
  const app = input.app ?? null;
  const appId = await requireNotifyManager(ctx, app);
  const name = validateRouteName(input.name);
  const channel = validateChannel(input.channel);
  const url = validateWebhookUrl(input.webhookUrl, ctx.deps.webhookPolicy);
  const secret = validateSecret(channel, input.secret);
  const eventTypes = validateEventTypes(input.eventTypes);
  const env = await validateEnv(ctx.em, input.env);
  const route = await ctx.em.transactional(async (em) => {
    const r = em.create(NotificationRoute, {
      name,
      app,
      appId,
      env,
      eventTypes,
      channel,
      url,
      secret,
      enabled: input.enabled ?? true,
      createdBy: viewer.username,
    });
    em.persist(r);
    await em.flush(); // the id goes into the event
    recordEvent(em, {
      type: PlatformEventType.SETTINGS_CHANGED,
      actor: viewer.username,
      app,
      env,
      payload: routeEventPayload(r, 'created'),
    });
    return r;
  });
  ctx.deps.onEventsCommitted();
  return toRouteRecord(route);
}

async function loadRoute(em: EntityManager, id: number): Promise<NotificationRoute> {
  const r = await em.findOne(NotificationRoute, { id });
  if (!r) throw notFound(`Notification route ${id}`);
  return r;
}

export async function updateNotificationRoute(
  ctx: DomainContext,
  id: number,
  input: UpdateNotificationRouteInput,
): Promise<NotificationRouteRecord> {
  const viewer = requireWriter(ctx.viewer);
  const route = await ctx.em.transactional(async (em) => {
    const r = await loadRoute(em, id);
    // A route whose app was deleted cannot be changed (nor switched back on), whoever asks.
    await requireOwnedManager({ ...ctx, em }, r, `Notification route ${id}`);
    const changed: string[] = [];
    const set = <
      K extends 'name' | 'channel' | 'url' | 'secret' | 'eventTypes' | 'env' | 'enabled',
    >(
      key: K,
      value: NotificationRoute[K],
      field: string = key,
    ) => {
      if (JSON.stringify(value ?? null) === JSON.stringify(r[key] ?? null)) return;
      r[key] = value;
      changed.push(field);
    };
    if (input.name != null) set('name', validateRouteName(input.name));
    if (input.channel != null) set('channel', validateChannel(input.channel));
    if (input.webhookUrl != null)
      set('url', validateWebhookUrl(input.webhookUrl, ctx.deps.webhookPolicy), 'webhookUrl');
    if (input.clearSecret) {
      if (input.secret)
        throw badInput('clearSecret', 'Give either secret or clearSecret, not both.');
      set('secret', null);
    } else if (input.secret != null) {
      // Always counted as a change: comparing would tell the caller whether they guessed the secret.
      r.secret = validateSecret(r.channel, input.secret);
      changed.push('secret');
    }
    // A channel change must still fit the secret it keeps (WEBHOOK needs one; WeCom, Slack take none).
    validateSecret(r.channel, r.secret, input.channel != null ? 'channel' : 'secret');
    if (input.eventTypes != null) set('eventTypes', validateEventTypes(input.eventTypes));
    if (input.env !== undefined) set('env', await validateEnv(em, input.env));
    if (input.enabled != null) set('enabled', input.enabled);
    if (changed.length) {
      r.updatedAt = new Date();
      recordEvent(em, {
        type: PlatformEventType.SETTINGS_CHANGED,
        actor: viewer.username,
        app: r.app ?? null,
        env: r.env ?? null,
        payload: routeEventPayload(r, 'updated', changed),
      });
    }
    return r;
  });
  ctx.deps.onEventsCommitted();
  const [state] = await findRouteStates(ctx.em, [route.id]);
  return toRouteRecord(route, state);
}

/** Deletes a route. Its queued deliveries end DEAD ("route deleted") when the dispatcher reaches them. */
export async function deleteNotificationRoute(ctx: DomainContext, id: number): Promise<boolean> {
  const viewer = requireWriter(ctx.viewer);
  await ctx.em.transactional(async (em) => {
    const r = await loadRoute(em, id);
    // The mutation names only an id: tell the audit log which app it was (its OWNERs read it).
    noteAuditTarget(ctx, { app: r.app ?? null, target: `route ${id}` });
    // Admins may clear away the routes of a deleted app.
    await requireOwnedManager({ ...ctx, em }, r, `Notification route ${id}`, true);
    recordEvent(em, {
      type: PlatformEventType.SETTINGS_CHANGED,
      actor: viewer.username,
      app: r.app ?? null,
      env: r.env ?? null,
      payload: routeEventPayload(r, 'deleted'),
    });
    em.remove(r);
  });
  ctx.deps.onEventsCommitted();
  return true;
}

/**
 * Announces that route `r` became unhealthy (permanent failures in a row: a wrong secret, an
 * unknown token, a webhook gone), as a SETTINGS_CHANGED route event (action `unhealthy`) that
 * only the route's readers see; `error` is the vendor's message with its hint, never the URL.
 * Called by the notifier (as the platform) when the dispatcher reports the change.
 */
export async function announceRouteUnhealthy(
  em: EntityManager,
  r: NotificationRoute,
  error: string,
): Promise<void> {
  await em.transactional((tx) => {
    recordEvent(tx, {
      type: PlatformEventType.SETTINGS_CHANGED,
      actor: null,
      app: r.app ?? null,
      env: r.env ?? null,
      payload: { ...routeEventPayload(r, 'unhealthy'), error },
    });
  });
}

export interface NotificationRoutePage {
  items: NotificationRouteRecord[];
  hasNextPage: boolean;
}

/** Routes the caller may see, by id: all for admins, their apps' for OWNERs. `app` narrows to one app. */
export async function listNotificationRoutes(
  ctx: DomainContext,
  first: number,
  afterId?: number,
  app?: string | null,
): Promise<NotificationRoutePage> {
  const scope = await readableApps(ctx, app);
  let where: FilterQuery<NotificationRoute> = {};
  // Admins see every route, those of deleted apps included; OWNERs those of their apps, by id.
  if (scope !== 'all') where = { appId: { $in: scope } };
  else if (app != null) where = { app };
  const rows =
    scope === 'all' || scope.length ? await pageRoutes(ctx.em, where, first, afterId) : [];
  const page = rows.slice(0, first);
  const states = new Map(
    (
      await findRouteStates(
        ctx.em,
        page.map((r) => r.id),
      )
    ).map((st) => [st.routeId, st]),
  );
  return {
    items: page.map((r) => toRouteRecord(r, states.get(r.id))),
    hasNextPage: rows.length > first,
  };
}
