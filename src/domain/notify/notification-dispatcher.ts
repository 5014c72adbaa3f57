/**
 * The delivery worker: sends due deliveries and records the outcome. A failed attempt is
 * retried with exponential backoff (with jitter); after `maxAttempts` the delivery is DEAD
 * (a dead letter) until someone re-queues it. Runs on every replica: each delivery is
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
import { renderMessage } from './notification-message.js';
import { SendError, sendChannelRequest } from './notification-sender.js';
import { claimDelivery, disabledByAppDeletionAfter, findDueHeads, finishAttempt } from './notification.repository.js';
import type { WebhookPolicy } from './webhook-address.js';

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
  /** Attempts before a delivery is DEAD. Default: 6. */
  maxAttempts?: number;
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
}

export class NotificationDispatcher {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = true;
  private failing = false;
  readonly maxAttempts: number;
  private readonly pollMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly timeoutMs: number;
  private readonly batchSize: number;
  private readonly claimMarginMs: number;

  constructor(private readonly opts: DispatcherOptions) {
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
    this.timer = setInterval(() => this.wake(), this.pollMs);
    this.timer.unref();
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

  /** Resolves when the pass in progress (if any) is over. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops polling and waits for the sends in flight (bounded by the request timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
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
      for (;;) {
        if (this.stopped) return;
        // One delivery per route at a time (the head of its queue); routes in parallel. When a
        // head is SENT, the route's next delivery is a head on the next round.
        const heads = await findDueHeads(this.opts.em(), this.batchSize);
        if (!heads.length) break;
        const attempted = await Promise.all(heads.map((d) => this.attempt(d.id)));
        if (!attempted.some(Boolean)) break; // all taken by other replicas
      }
      this.failing = false;
    } catch (err) {
      // The database is away: deliveries wait in the table and the next poll tries again.
      if (!this.failing) this.opts.logger?.warn({ err }, 'notifier: dispatch pass failed');
      this.failing = true;
    }
  }

  /** Claims delivery `id` and makes one attempt; false when another dispatcher has it. */
  private async attempt(id: string): Promise<boolean> {
    const em = this.opts.em();
    const token = randomBytes(12).toString('hex');
    const d = await claimDelivery(em, id, token, this.timeoutMs + this.claimMarginMs);
    if (!d) return false;
    const finish = async (change: Parameters<typeof finishAttempt>[3]) => {
      if (!(await finishAttempt(em, d.id, token, change))) {
        this.opts.logger?.warn({ deliveryId: d.id, routeId: d.routeId }, 'notifier: claim expired before the attempt ended; outcome not recorded');
      }
    };
    const attempts = d.attempts + 1;
    const route = await em.findOne(NotificationRoute, { id: d.routeId }, { connectionType: 'write', disableIdentityMap: true });
    if (!route) {
      await finish({ status: NotificationDeliveryStatus.DEAD, attempts: d.attempts, lastError: 'route deleted' });
      return true;
    }
    if (!route.enabled && !(await disabledByAppDeletionAfter(em, route.id, d.id))) {
      // Switched off after the delivery was queued: nothing goes out on it any more (but a
      // deleted app's routes, switched off by the deletion, still send up to "App deleted").
      await finish({ status: NotificationDeliveryStatus.DEAD, attempts: d.attempts, lastError: 'route disabled' });
      return true;
    }
    try {
      // Guard against drivers that return JSON columns as strings (docs/STACK.md, mysql2 on MariaDB).
      const event = (typeof d.event === 'string' ? JSON.parse(d.event) : d.event) as NotifiedEvent;
      const message = renderMessage(event, this.opts.publicUrl());
      const req = buildChannelRequest(route, { deliveryId: String(d.id), event, message });
      await sendChannelRequest(route.channel, req, this.timeoutMs, this.opts.webhookPolicy);
      await finish({ status: NotificationDeliveryStatus.SENT, attempts, lastError: null, sentAt: new Date() });
    } catch (err) {
      const error = err instanceof SendError ? err.message : `internal error: ${(err as Error).message}`;
      const dead = attempts >= this.maxAttempts || (err instanceof SendError && err.permanent);
      await finish(dead
        ? { status: NotificationDeliveryStatus.DEAD, attempts, lastError: error }
        : { status: NotificationDeliveryStatus.RETRYING, attempts, lastError: error, nextAttemptAt: new Date(Date.now() + this.backoffMs(attempts)) });
      // Ids and the error only: the URL and secret stay out of logs.
      const log = { deliveryId: d.id, routeId: route.id, eventId: d.eventId, attempts, error };
      if (dead) this.opts.logger?.warn(log, 'notifier: delivery is DEAD');
      else this.opts.logger?.info(log, 'notifier: delivery failed; will retry');
    }
    return true;
  }
}
