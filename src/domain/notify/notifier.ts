/**
 * Wires chat notifications into a running Phantom: a `notifier` consumer group on the
 * platform-event stream turns each event into deliveries (idempotent per event and route),
 * and the dispatcher sends them in the background. Both run in the serve process for now;
 * the consumer group spreads events over replicas, the claims keep dispatchers apart.
 *
 * No event is lost when the stream loses entries (Redis restarted without its data, or
 * trimmed a backlog): the group's last handled event id is kept in the database
 * (`notifier_cursors`), and since event ids are dense, an event more than one past it makes
 * the notifier read the missing ones from the events table first. A periodic check does the
 * same when the stream has gone quiet, so a lost tail is not left waiting for the next event.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import type { ConsumerHandle, EventStream } from '../../pubsub/index.js';
import type { DomainContext, DomainDeps } from '../shared/domain-context.js';
import type { Viewer } from '../people/viewer.js';
import { TokenScope } from '../people/token-scope.js';
import { getApp } from '../apps/app.service.js';
import {
  PLATFORM_EVENTS_STREAM,
  toEventMessage,
  toEventRecord,
  type PlatformEventMessage,
} from '../events/platform-event.record.js';
import { findSequenced, maxSeq } from '../events/platform-event.repository.js';
import { handlePlatformEvent } from './notification-delivery.service.js';
import {
  NotificationDispatcher,
  type DispatcherOptions,
  type NotifyLogger,
} from './notification-dispatcher.js';
import {
  advanceCursor,
  createCursor,
  candidatesOf,
  findCandidateRoutes,
  findEnabledRoutes,
  findCursor,
} from './notification.repository.js';
import { PlatformEventType } from '../events/event-recorder.js';
import type { NotifiedEvent } from './notified-event.js';
import type { NotificationRoute } from './notification-route.entity.js';
import { announceRouteUnhealthy } from './notification-route.service.js';
import { every } from '../../engine/timers.js';

/** The parts of the platform the notifier needs (structural, so domain/ does not import server/). */
export interface NotifierHost {
  orm: { em: EntityManager };
  messaging: { streams: EventStream };
  logger: NotifyLogger;
  /** For reading apps (ids by name) through the apps module. */
  deps: DomainDeps;
  /** Webhook address policy (`PHANTOM_WEBHOOK_ALLOW_PRIVATE`, `PHANTOM_WEBHOOK_ALLOWED_HOSTS`). */
  config?: {
    webhookAllowPrivate?: boolean;
    webhookAllowedHosts?: string[];
    notify?: Partial<
      Pick<
        DispatcherOptions,
        'rateLimits' | 'throttleWaitMs' | 'retryWindowMs' | 'digestMax' | 'unhealthyAfter'
      >
    >;
  };
  services: { notifier?: Notifier };
  onClose: (fn: () => Promise<void> | void) => void;
}

/** Options for {@link startNotifier}; the dispatcher's are documented on {@link DispatcherOptions}. */
export interface NotifierOptions extends Omit<DispatcherOptions, 'em' | 'publicUrl' | 'logger'> {
  /** Base of links in messages: PHANTOM_PUBLIC_URL, else `http://localhost:<port>`. */
  publicUrl: string | (() => string);
  /** Consumer group on the platform-event stream (and name of its cursor). Default: `'notifier'`. */
  group?: string;
  /** Stream read block time (bounds how late `stop()` is). Default: 1000 ms. */
  blockMs?: number;
  /**
   * When the group is set up for the first time (no cursor in the database), the events
   * that already exist are history: those older than this are not announced (logged and
   * skipped), since a new group reads the stream from its start and a chat flooded with
   * yesterday's history helps nobody. Events after that point are always announced, however
   * late (a group catching up after downtime delivers everything). Default: 6 hours.
   */
  maxEventAgeMs?: number;
  /** How often to look for events the stream lost when it is quiet. Default: 10 000 ms. */
  catchUpMs?: number;
}

export interface Notifier {
  dispatcher: NotificationDispatcher;
  /** Queues deliveries for one event (and any the stream lost before it) and wakes the dispatcher (what the stream consumer calls). */
  handle(event: NotifiedEvent): Promise<number>;
  /** Reads events after the cursor from the events table and queues them (the periodic check). */
  catchUp(): Promise<number>;
  close(): Promise<void>;
}

const GAP_BATCH = 200;
/** Routes read for events are kept at most this long (route changes drop them at once: see `candidates`). */
const ROUTE_CACHE_MS = 10_000;
/** The cursor is written at most this often while events flow (and when the notifier closes). */
const CURSOR_FLUSH_MS = 500;

/** Who the notifier is when it reads apps: a reader with no rights beyond reading. */
const NOTIFIER_VIEWER: Viewer = {
  userId: 0,
  username: 'phantom-notifier',
  isAdmin: false,
  scopes: [TokenScope.READ],
  via: 'token',
  credentialId: 'notifier',
};

export function toNotifiedEvent(m: PlatformEventMessage): NotifiedEvent {
  return {
    id: String(m.id),
    type: m.type,
    at: m.at,
    actor: m.actor ?? null,
    app: m.app ?? null,
    env: m.env ?? null,
    payload: m.payload ?? {},
  };
}

/** Starts the consumer and the dispatcher for `host`; both stop when the platform closes. */
export function startNotifier(host: NotifierHost, opts: NotifierOptions): Notifier {
  const em = () => host.orm.em.fork();
  const group = opts.group ?? 'notifier';
  const publicUrl =
    typeof opts.publicUrl === 'function' ? opts.publicUrl : () => opts.publicUrl as string;
  const webhookPolicy = opts.webhookPolicy ?? {
    allowPrivate: host.config?.webhookAllowPrivate,
    allowedHosts: host.config?.webhookAllowedHosts,
  };
  // Explicit options (tests) win over the configured limits.
  const onRouteUnhealthy = async (route: NotificationRoute, error: string) => {
    await announceRouteUnhealthy(em(), route, error);
    host.deps.onEventsCommitted();
  };
  const dispatcher = new NotificationDispatcher({
    ...host.config?.notify,
    onRouteUnhealthy,
    ...opts,
    webhookPolicy,
    em,
    publicUrl,
    logger: host.logger,
  });
  const maxAgeMs = opts.maxEventAgeMs ?? 6 * 3600_000;
  const appIdOf = async (name: string): Promise<number | null> => {
    const ctx: DomainContext = { em: em(), viewer: NOTIFIER_VIEWER, deps: host.deps };
    return (await getApp(ctx, name))?.id ?? null;
  };

  let historyUpTo: bigint | undefined;
  /** Sets the group's cursor up on first use (retried on each event while the database is away). */
  const history = async (): Promise<bigint> => {
    if (historyUpTo !== undefined) return historyUpTo;
    let cur = await findCursor(em(), group);
    if (!cur) {
      await createCursor(em(), group, await maxSeq(em()));
      cur = await findCursor(em(), group);
      if (!cur) throw new Error(`notifier: cursor of group ${group} not created`);
    }
    historyUpTo = BigInt(cur.historyUpTo);
    return historyUpTo;
  };

  /*
   * Every enabled route, read once and kept while this process sees the events one after the
   * other (each event's candidates, global routes and its app's, are picked from them in
   * memory: one read for any number of apps): every change of a route is itself an event
   * (SETTINGS_CHANGED, in the same transaction), so an event that follows the ones seen here,
   * none of them a route change, finds the routes as they were read. They are dropped before
   * a settings change and after an app deletion (which switches routes off), whenever events
   * arrive out of this process's order (another replica handled some, the stream lost some),
   * and after ROUTE_CACHE_MS in any case.
   */
  let routeCache: Promise<NotificationRoute[]> | null = null;
  let routeCacheAt = 0;
  const dropRoutes = (): void => {
    routeCache = null;
  };
  const candidates: typeof findCandidateRoutes = async (e2, event, liveId, deleted) => {
    if (deleted) return findCandidateRoutes(e2, event, liveId, deleted);
    if (Date.now() - routeCacheAt > ROUTE_CACHE_MS) dropRoutes();
    let routes = routeCache;
    if (!routes) {
      routes = findEnabledRoutes(e2);
      routeCache = routes;
      routeCacheAt = Date.now();
      routes.catch(() => {
        if (routeCache === routes) dropRoutes();
      });
    }
    return candidatesOf(await routes, liveId);
  };

  const queue = async (event: NotifiedEvent, upTo: bigint): Promise<number> => {
    if (BigInt(event.id) <= upTo && Date.now() - Date.parse(event.at) > maxAgeMs) {
      host.logger.info(
        { eventId: event.id, type: event.type, at: event.at },
        'notifier: event from before the notifier was set up, too old to announce; skipped',
      );
      return 0;
    }
    if (event.type === String(PlatformEventType.SETTINGS_CHANGED)) dropRoutes();
    try {
      return await handlePlatformEvent(em(), event, appIdOf, candidates);
    } finally {
      if (event.type === String(PlatformEventType.APP_DELETED)) dropRoutes();
    }
  };

  /** Queues the events in (`after`, `to`], read from the events table. */
  const fill = async (after: bigint, to: bigint, upTo: bigint): Promise<number> => {
    let n = 0;
    let cursor = after;
    while (cursor < to) {
      const rows = await findSequenced(em(), {
        afterSeq: cursor,
        upToSeq: to,
        limit: GAP_BATCH,
        primary: true,
      });
      for (const row of rows)
        n += await queue(toNotifiedEvent(toEventMessage(toEventRecord(row))), upTo);
      if (rows.length < GAP_BATCH) break;
      cursor = BigInt(rows[rows.length - 1].seq!);
    }
    return n;
  };

  // One at a time in this process: the stream consumer and the periodic check share the cursor.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };

  /*
   * The cursor as this process last read or moved it. An event right after it is the common
   * case and needs no read; anything else (a gap, a redelivery, another replica's events)
   * reads the cursor from the database. Moves are written at most every CURSOR_FLUSH_MS:
   * a cursor left behind by a crash only makes the next event fill from the table again, and
   * queueing is idempotent per event and route.
   */
  let known: bigint | null = null;
  let unflushed: bigint | null = null;
  let flushTimer: NodeJS.Timeout | undefined;
  const flush = async (): Promise<void> => {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    const to = unflushed;
    if (to == null) return;
    unflushed = null;
    try {
      await advanceCursor(em(), group, to);
    } catch (err) {
      if (unflushed == null || unflushed < to) unflushed = to;
      throw err;
    }
  };
  const scheduleFlush = (): void => {
    if (flushTimer) return;
    flushTimer = setTimeout(() => {
      flushTimer = undefined;
      serial(flush).catch((err: unknown) =>
        host.logger.warn({ err }, 'notifier: cursor not saved; will retry'),
      );
    }, CURSOR_FLUSH_MS);
    flushTimer.unref();
  };
  const moveTo = (seq: bigint): void => {
    known = seq;
    unflushed = seq;
    scheduleFlush();
  };

  const handle = (event: NotifiedEvent): Promise<number> =>
    serial(async () => {
      const upTo = await history();
      const seq = BigInt(event.id);
      let last: bigint | null;
      if (known != null && seq === known + 1n) last = known;
      else {
        // Events this process did not see may have changed routes.
        dropRoutes();
        await flush();
        const cur = await findCursor(em(), group);
        last = cur?.lastEventId != null ? BigInt(cur.lastEventId) : null;
        known = last;
      }
      // Everything up to the cursor was handled (here or on another replica): a redelivery.
      if (last != null && seq <= last) return 0;
      // Before the first event, the events after the set-up point are the ones due.
      const base = last ?? (seq > upTo ? upTo : null);
      let n = 0;
      if (base != null && seq > base + 1n) {
        host.logger.warn(
          { after: String(base), before: event.id },
          'notifier: events missing from the stream; reading them from the events table',
        );
        n += await fill(base, seq - 1n, upTo);
      }
      n += await queue(event, upTo);
      moveTo(seq);
      if (n) dispatcher.wake();
      return n;
    });

  let seenLast: string | null | undefined;
  const catchUp = (): Promise<number> =>
    serial(async () => {
      const upTo = await history();
      dropRoutes();
      await flush();
      const cur = await findCursor(em(), group);
      const last = cur?.lastEventId != null ? BigInt(cur.lastEventId) : upTo;
      const top = await maxSeq(em());
      if (top <= last) return 0;
      const n = await fill(last, top, upTo);
      await advanceCursor(em(), group, top);
      known = top;
      if (n) dispatcher.wake();
      return n;
    });

  // Set the cursor up now, so "history" is what existed at start-up, not whatever has
  // piled up by the first event (retried on each event while the database is away).
  history().catch((err: unknown) =>
    host.logger.warn({ err }, 'notifier: cursor not set up yet; will retry'),
  );
  dispatcher.start();
  // A new group starts at the stream's beginning ('0'), so events the relay appended before the
  // group existed (at start-up) are not lost; `maxEventAgeMs` keeps old history out of chats.
  const consumer: ConsumerHandle = host.messaging.streams.consume(
    PLATFORM_EVENTS_STREAM,
    group,
    `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    (entry) => handle(toNotifiedEvent(entry.body as unknown as PlatformEventMessage)),
    {
      startId: '0',
      blockMs: opts.blockMs,
      onError: (err) =>
        host.logger.warn({ err }, 'notifier: platform event not queued; will retry'),
    },
  );
  // The periodic check reads the table only when the cursor stood still since the last tick
  // (the stream is quiet or stuck): while the stream flows, `handle` fills gaps itself.
  const stopTimer = every(opts.catchUpMs ?? 10_000, () => {
    void (async () => {
      const cur = await findCursor(em(), group);
      const now = cur?.lastEventId ?? null;
      const still = seenLast !== undefined && now === seenLast;
      seenLast = now;
      if (still) await catchUp();
    })().catch((err: unknown) =>
      host.logger.warn({ err }, 'notifier: catch-up check failed; will retry'),
    );
  });
  const notifier: Notifier = {
    dispatcher,
    handle,
    catchUp,
    close: async () => {
      stopTimer();
      await consumer.stop();
      await dispatcher.stop();
      await chain;
      await flush().catch((err: unknown) =>
        host.logger.warn({ err }, 'notifier: cursor not saved at close'),
      );
    },
  };
  host.onClose(() => notifier.close());
  host.services.notifier = notifier;
  return notifier;
}

/** The notifier of this process, if it runs here. */
export function notifierOf(services: { notifier?: Notifier }): Notifier | undefined {
  return services.notifier;
}
