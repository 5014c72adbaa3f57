/**
 * The delivery worker: sends due deliveries and records the outcome. A failed attempt is
 * retried with exponential backoff (with jitter); once it has failed `maxAttempts` times and
 * its first failure is older than `retryWindowMs`, the delivery is DEAD (a dead letter) until
 * someone re-queues it. A permanent failure (wrong secret, unknown token, 404/410) is DEAD at
 * once, with the vendor's message and a hint.
 *
 * Vendors' limits (route-pacing.ts): each request takes a slot of its route's rate, shared
 * by every replica through the database; a head that finds no slot waits (its claim is given
 * back with a later due time). When more wait than the rate allows right away, what waits
 * goes out as one digest (each delivery keeps its own record, with the digest's id). A
 * throttle answer (429 + Retry-After, DingTalk 130101, WeCom 45009, Feishu 11232) does not
 * count as a failure: the whole route waits as long as the vendor said. Runs on every replica: each delivery is
 * claimed (with a token) just before it is sent, for no longer than a send can take, and
 * only the claim holder may record the outcome, so two replicas never send the same one.
 *
 * Order: deliveries of one route go out in id order (event order). A later one waits while
 * an earlier one of the same route is being retried; a DEAD one no longer holds the route up.
 */
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { NotificationRoute } from './notification-route.entity.js';
import type { NotifiedEvent } from './notified-event.js';
import { NotificationDeliveryStatus } from './notification-channel.js';
import { buildChannelRequest } from './channel-request.js';
import { renderDigest, renderMessage } from './notification-message.js';
import { SendError, sendChannelRequest } from './notification-sender.js';
import {
  claimDelivery,
  claimFollowers,
  countQueuedAfter,
  deferDeliveries,
  disabledByAppDeletionAfter,
  findDueHeads,
  finishAttempt,
} from './notification.repository.js';
import type { WebhookPolicy } from './webhook-address.js';
import {
  ATTEMPT_LOG_MAX,
  type DeliveryAttempt,
  type NotificationDelivery,
} from './notification-delivery.entity.js';
import {
  recordPermanentFailure,
  recordRouteSuccess,
  recordThrottle,
  settleSlot,
  takeSendSlot,
} from './route-pacing.js';
import {
  DEFAULT_RATE_LIMITS,
  DEFAULT_THROTTLE_WAIT_MS,
  type ChannelRateLimits,
} from './rate-limits.js';
import { toGlobalId } from '../shared/global-id.js';
import { every } from '../../engine/timers.js';

/** The few logger methods the dispatcher uses (pino's signature). */
export interface NotifyLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Options for {@link NotificationDispatcher}. */
export interface DispatcherOptions {
  /** A fresh EntityManager (one per pass). */
  em: () => EntityManager;
  /** Base of links in messages, e.g. `https://phantom.example.com`. */
  publicUrl: () => string;
  logger?: NotifyLogger;
  /** How often to look for due deliveries (retries become due while nobody wakes us). Default: 1000 ms. */
  pollMs?: number;
  /** Failed attempts before a delivery may be DEAD (and only once `retryWindowMs` has passed too). Default: 6. */
  maxAttempts?: number;
  /**
   * How long a failing delivery keeps being retried, from its first failure: longer than any
   * vendor's throttle (DingTalk's is 10 minutes). PHANTOM_NOTIFY_RETRY_WINDOW_MS. Default: 1 800 000 (30 min).
   */
  retryWindowMs?: number;
  /** Per-channel rate limits (PHANTOM_NOTIFY_RATE_LIMITS). Default: {@link DEFAULT_RATE_LIMITS}, overridden per channel. */
  rateLimits?: Partial<ChannelRateLimits>;
  /** How long a throttled route waits when the vendor gives no Retry-After (PHANTOM_NOTIFY_THROTTLE_WAIT_MS). Default: per channel, {@link DEFAULT_THROTTLE_WAIT_MS}. */
  throttleWaitMs?: number;
  /** Most events in one digest message (PHANTOM_NOTIFY_DIGEST_MAX). Default: 20. */
  digestMax?: number;
  /** Permanent failures in a row after which a route is unhealthy (PHANTOM_NOTIFY_UNHEALTHY_AFTER). Default: 3. */
  unhealthyAfter?: number;
  /** Delay after the first failure; doubles per attempt, ±25 % jitter. Default: 5000 ms. */
  backoffBaseMs?: number;
  /** Longest delay between attempts. Default: 600 000 ms (10 min). */
  backoffMaxMs?: number;
  /** Per-request timeout. Default: 10 000 ms. */
  timeoutMs?: number;
  /** Routes served at once (one delivery each, then the next of each). Default: 50. */
  batchSize?: number;
  /**
   * A claim lasts `timeoutMs` plus this: the send is over (or aborted) well before, so the
   * claim never expires under a live sender. Default: 30 000 ms.
   */
  claimMarginMs?: number;
  /** Which addresses webhooks may reach. Default: public addresses only (see webhook-address.ts). */
  webhookPolicy?: WebhookPolicy;
  /** Told once when a route becomes unhealthy (the notifier records a platform event). */
  onRouteUnhealthy?: (route: NotificationRoute, error: string) => Promise<void>;
}

export class NotificationDispatcher {
  private stopTimer?: () => void;
  private running?: Promise<void>;
  private again = false;
  /** Sends started by passes and not over yet, by delivery id. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private stopped = true;
  private failing = false;
  readonly maxAttempts: number;
  private readonly pollMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly timeoutMs: number;
  private readonly batchSize: number;
  private readonly claimMarginMs: number;
  private readonly retryWindowMs: number;
  private readonly rateLimits: ChannelRateLimits;
  private readonly digestMax: number;
  private readonly unhealthyAfter: number;

  constructor(private readonly opts: DispatcherOptions) {
    this.retryWindowMs = opts.retryWindowMs ?? 1_800_000;
    this.rateLimits = { ...DEFAULT_RATE_LIMITS, ...opts.rateLimits };
    this.digestMax = Math.max(1, opts.digestMax ?? 20);
    this.unhealthyAfter = Math.max(1, opts.unhealthyAfter ?? 3);
    this.pollMs = opts.pollMs ?? 1000;
    this.maxAttempts = opts.maxAttempts ?? 6;
    this.backoffBaseMs = opts.backoffBaseMs ?? 5000;
    this.backoffMaxMs = opts.backoffMaxMs ?? 600_000;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.batchSize = opts.batchSize ?? 50;
    this.claimMarginMs = opts.claimMarginMs ?? 30_000;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopTimer = every(this.pollMs, () => this.wake());
    this.wake();
  }

  /** Runs a pass now (new deliveries were queued). */
  readonly wake = (): void => {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  };

  /** Resolves when the pass in progress (if any) and the attempts it started are over. */
  async idle(): Promise<void> {
    while (this.running || this.inFlight.size)
      await Promise.all([this.running, ...this.inFlight.values()]);
  }

  /** Stops polling and waits for the sends in flight (bounded by the request timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopTimer?.();
    this.stopTimer = undefined;
    await this.idle();
  }

  /**
   * Delay before attempt `attempts + 1`, after `attempts` failures: exponential, capped, with
   * ±25 % jitter (`random` in [0, 1)) so deliveries that failed together (a chat service
   * outage) do not all come back at the same moment.
   */
  backoffMs(attempts: number, random = Math.random()): number {
    const exp = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** Math.max(0, attempts - 1));
    return Math.min(this.backoffMaxMs, Math.round(exp * (0.75 + 0.5 * random)));
  }

  private async pass(): Promise<void> {
    try {
      if (this.stopped) return;
      // One delivery per route at a time (the head of its queue: a head being sent is claimed,
      // so its route has no other head); routes in parallel, at most `batchSize` sends at once.
      // A pass starts the sends and does not wait for them: a route whose receiver hangs (up to
      // the request timeout) holds back its own queue only. Each send that ends wakes a pass,
      // which finds that route's next delivery.
      const heads = await findDueHeads(this.opts.em(), this.batchSize);
      for (const d of heads) {
        if (this.inFlight.size >= this.batchSize) break;
        if (this.inFlight.has(d.id)) continue;
        const sending = this.attempt(d.id)
          .then((took) => {
            if (took) this.wake();
          })
          .catch((err: unknown) => {
            // The database went away mid-attempt: the claim expires and a later pass retries.
            this.opts.logger?.warn({ err, deliveryId: d.id }, 'notifier: attempt failed');
          })
          .finally(() => this.inFlight.delete(d.id));
        this.inFlight.set(d.id, sending);
      }
      this.failing = false;
    } catch (err) {
      // The database is away: deliveries wait in the table and the next poll tries again.
      if (!this.failing) this.opts.logger?.warn({ err }, 'notifier: dispatch pass failed');
      this.failing = true;
    }
  }

  /** Claims delivery `id` and makes one attempt (alone or as a digest's head); false when another dispatcher has it. */
  private async attempt(id: string): Promise<boolean> {
    const em = this.opts.em();
    const token = randomBytes(12).toString('hex');
    const lockMs = this.timeoutMs + this.claimMarginMs;
    const d = await claimDelivery(em, id, token, lockMs);
    if (!d) return false;
    const finish = async (m: NotificationDelivery, change: Parameters<typeof finishAttempt>[3]) => {
      if (!(await finishAttempt(em, m.id, token, change))) {
        this.opts.logger?.warn(
          { deliveryId: m.id, routeId: m.routeId },
          'notifier: claim expired before the attempt ended; outcome not recorded',
        );
      }
    };
    const route = await em.findOne(
      NotificationRoute,
      { id: d.routeId },
      { connectionType: 'write', disableIdentityMap: true },
    );
    if (!route) {
      await finish(d, {
        status: NotificationDeliveryStatus.DEAD,
        attempts: d.attempts,
        lastError: 'route deleted',
      });
      return true;
    }
    if (!route.enabled && !(await disabledByAppDeletionAfter(em, route.id, d.id))) {
      // Switched off after the delivery was queued: nothing goes out on it any more (but a
      // deleted app's routes, switched off by the deletion, still send up to "App deleted").
      await finish(d, {
        status: NotificationDeliveryStatus.DEAD,
        attempts: d.attempts,
        lastError: 'route disabled',
      });
      return true;
    }
    // The vendor's rate, shared with every replica: no slot, no request (the head waits, and
    // the route's queue behind it).
    const limits = this.rateLimits[route.channel] ?? [];
    const startedAt = Date.now();
    const slot = await takeSendSlot(em, route.id, limits, startedAt);
    if (!slot.ok) {
      await deferDeliveries(em, [d.id], token, new Date(slot.waitUntil));
      return true;
    }
    // More waiting than the rate lets out right away: send what waits as one digest rather
    // than spend the route's slots (and the chat's attention) one event at a time.
    let members: NotificationDelivery[] = [d];
    if (
      route.enabled &&
      this.digestMax > 1 &&
      Number.isFinite(slot.remaining) &&
      (await countQueuedAfter(em, route.id, d.id)) > slot.remaining
    ) {
      members = [
        d,
        ...(await claimFollowers(em, route.id, d.id, token, lockMs, this.digestMax - 1)),
      ];
    }
    const digestId = members.length > 1 ? d.id : null;
    const at = new Date().toISOString();
    const log = (
      m: NotificationDelivery,
      entry: Omit<DeliveryAttempt, 'at' | 'digestId'>,
    ): DeliveryAttempt[] => {
      const prior =
        typeof m.attemptLog === 'string'
          ? (JSON.parse(m.attemptLog) as DeliveryAttempt[])
          : (m.attemptLog ?? []);
      return [...prior, { at, ...entry, digestId }].slice(-ATTEMPT_LOG_MAX);
    };
    try {
      // Guard against drivers that return JSON columns as strings (docs/STACK.md, mysql2 on MariaDB).
      const events = members.map(
        (m) => (typeof m.event === 'string' ? JSON.parse(m.event) : m.event) as NotifiedEvent,
      );
      const message = digestId
        ? renderDigest(events, this.opts.publicUrl())
        : renderMessage(events[0], this.opts.publicUrl());
      // The opaque id the API shows and `retryNotificationDelivery` takes, not the row id.
      const req = buildChannelRequest(route, {
        deliveryId: toGlobalId('NotificationDelivery', d.id),
        event: events[0],
        message,
        ...(digestId ? { events } : {}),
      });
      let httpStatus: number;
      try {
        ({ httpStatus } = await sendChannelRequest(
          route.channel,
          req,
          this.timeoutMs,
          this.opts.webhookPolicy,
        ));
      } finally {
        if (limits.length)
          await settleSlot(em, route.id, startedAt, Date.now()).catch(() => undefined);
      }
      for (const m of members) {
        await finish(m, {
          status: NotificationDeliveryStatus.SENT,
          attempts: m.attempts + 1,
          sentAt: new Date(),
          digestId,
          attemptLog: log(m, { outcome: 'SENT', httpStatus }),
        });
      }
      await recordRouteSuccess(em, route.id);
      if (digestId)
        this.opts.logger?.info(
          { routeId: route.id, digestId, deliveries: members.length },
          'notifier: sent a digest',
        );
    } catch (err) {
      const error =
        err instanceof SendError ? err.message : `internal error: ${(err as Error).message}`;
      const detail =
        err instanceof SendError
          ? {
              httpStatus: err.httpStatus ?? null,
              vendorCode: err.vendorCode ?? null,
              message: error,
            }
          : { message: error };
      // Ids and the error only: the URL and secret stay out of logs.
      const logged = {
        deliveryId: d.id,
        routeId: route.id,
        eventId: d.eventId,
        deliveries: members.length,
        error,
      };
      if (err instanceof SendError && err.throttled) {
        // Not a failure of the delivery: the route waits out the vendor's throttle, and so does
        // every replica (the state row), without sending.
        const waitMs =
          err.retryAfterMs ?? this.opts.throttleWaitMs ?? DEFAULT_THROTTLE_WAIT_MS[route.channel];
        const until = new Date(Date.now() + waitMs);
        await recordThrottle(em, route.id, until.getTime(), error);
        for (const m of members) {
          await finish(m, {
            status: NotificationDeliveryStatus.RETRYING,
            attempts: m.attempts + 1,
            lastError: error,
            nextAttemptAt: until,
            attemptLog: log(m, { outcome: 'THROTTLED', ...detail }),
          });
        }
        this.opts.logger?.warn(
          { ...logged, waitMs },
          'notifier: route throttled by the receiver; its queue waits',
        );
        return true;
      }
      if (err instanceof SendError && err.permanent) {
        for (const m of members) {
          await finish(m, {
            status: NotificationDeliveryStatus.DEAD,
            attempts: m.attempts + 1,
            lastError: error,
            attemptLog: log(m, { outcome: 'PERMANENT', ...detail }),
          });
        }
        this.opts.logger?.warn(logged, 'notifier: delivery is DEAD (permanent failure)');
        if (await recordPermanentFailure(em, route.id, error, this.unhealthyAfter)) {
          this.opts.logger?.warn(
            { routeId: route.id, error },
            'notifier: route is unhealthy (permanent failures in a row)',
          );
          await this.opts
            .onRouteUnhealthy?.(route, error)
            .catch((e: unknown) =>
              this.opts.logger?.warn(
                { err: e, routeId: route.id },
                'notifier: could not announce the unhealthy route',
              ),
            );
        }
        return true;
      }
      const now = Date.now();
      for (const m of members) {
        const attempts = m.attempts + 1;
        const all =
          typeof m.attemptLog === 'string'
            ? (JSON.parse(m.attemptLog) as DeliveryAttempt[])
            : (m.attemptLog ?? []);
        // Only failures since it was last re-queued from DEAD count (retryNotificationDelivery gives a fresh budget).
        const lastEnd = all
          .map((a) => a.outcome === 'DEAD' || a.outcome === 'PERMANENT')
          .lastIndexOf(true);
        const prior = all.slice(lastEnd + 1);
        const firstFailure = prior.find((a) => a.outcome === 'FAILED');
        const failingSince = firstFailure ? Date.parse(firstFailure.at) : now;
        const failures = prior.filter((a) => a.outcome === 'FAILED').length + 1;
        // Measured between attempt starts, as the attempt log records them (`at`), so the log shows the window kept.
        const dead =
          failures >= this.maxAttempts && Date.parse(at) - failingSince >= this.retryWindowMs;
        await finish(
          m,
          dead
            ? {
                status: NotificationDeliveryStatus.DEAD,
                attempts,
                lastError: error,
                attemptLog: log(m, { outcome: 'DEAD', ...detail }),
              }
            : {
                status: NotificationDeliveryStatus.RETRYING,
                attempts,
                lastError: error,
                nextAttemptAt: new Date(now + this.backoffMs(failures)),
                attemptLog: log(m, { outcome: 'FAILED', ...detail }),
              },
        );
        if (dead)
          this.opts.logger?.warn(
            { ...logged, deliveryId: m.id, attempts },
            'notifier: delivery is DEAD',
          );
      }
      this.opts.logger?.info(logged, 'notifier: delivery failed; will retry');
    }
    return true;
  }
}
