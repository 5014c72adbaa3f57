/**
 * The delivery worker: claims due deliveries, sends them, and records the outcome. A failed
 * attempt is retried with exponential backoff; after `maxAttempts` the delivery is DEAD (a
 * dead letter) until someone re-queues it. Runs on every replica: claims keep them apart.
 */
import type { EntityManager } from '@mikro-orm/core';
import { NotificationRoute } from './notification-route.entity.js';
import type { NotificationDelivery } from './notification-delivery.entity.js';
import type { NotifiedEvent } from './notified-event.js';
import { NotificationDeliveryStatus } from './notification-channel.js';
import { buildChannelRequest } from './channel-request.js';
import { renderMessage } from './notification-message.js';
import { SendError, sendChannelRequest } from './notification-sender.js';
import { claimDue, finishAttempt } from './notification.repository.js';

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
  /** Delay after the first failure; doubles per attempt. Default: 5000 ms. */
  backoffBaseMs?: number;
  /** Longest delay between attempts. Default: 600 000 ms (10 min). */
  backoffMaxMs?: number;
  /** Per-request timeout. Default: 10 000 ms. */
  timeoutMs?: number;
  /** Deliveries claimed per pass. Default: 50. */
  batchSize?: number;
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

  constructor(private readonly opts: DispatcherOptions) {
    this.pollMs = opts.pollMs ?? 1000;
    this.maxAttempts = opts.maxAttempts ?? 6;
    this.backoffBaseMs = opts.backoffBaseMs ?? 5000;
    this.backoffMaxMs = opts.backoffMaxMs ?? 600_000;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.batchSize = opts.batchSize ?? 50;
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

  /** Delay before attempt `attempts + 1`, after `attempts` failures. */
  backoffMs(attempts: number): number {
    return Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** Math.max(0, attempts - 1));
  }

  private async pass(): Promise<void> {
    try {
      for (;;) {
        if (this.stopped) return;
        const em = this.opts.em();
        const claimed = await claimDue(em, this.batchSize, this.timeoutMs + 30_000);
        if (!claimed.length) break;
        const routes = await em.find(NotificationRoute, { id: { $in: [...new Set(claimed.map((d) => d.routeId))] } }, { connectionType: 'write' });
        const byRoute = new Map<number, NotificationDelivery[]>();
        for (const d of claimed) byRoute.set(d.routeId, [...(byRoute.get(d.routeId) ?? []), d]);
        // In order within a route (a chat group reads "started" before "succeeded"); routes in parallel.
        await Promise.all([...byRoute].map(async ([routeId, list]) => {
          const route = routes.find((r) => r.id === routeId);
          for (const d of list) await this.attempt(em, d, route);
        }));
        if (claimed.length < this.batchSize) break;
      }
      this.failing = false;
    } catch (err) {
      // The database is away: deliveries wait in the table and the next poll tries again.
      if (!this.failing) this.opts.logger?.warn({ err }, 'notifier: dispatch pass failed');
      this.failing = true;
    }
  }

  private async attempt(em: EntityManager, d: NotificationDelivery, route: NotificationRoute | undefined): Promise<void> {
    const attempts = d.attempts + 1;
    if (!route) {
      await finishAttempt(em, d.id, { status: NotificationDeliveryStatus.DEAD, attempts: d.attempts, lastError: 'route deleted' });
      return;
    }
    try {
      // Guard against drivers that return JSON columns as strings (docs/STACK.md, mysql2 on MariaDB).
      const event = (typeof d.event === 'string' ? JSON.parse(d.event) : d.event) as NotifiedEvent;
      const message = renderMessage(event, this.opts.publicUrl());
      const req = buildChannelRequest(route, { deliveryId: String(d.id), event, message });
      await sendChannelRequest(route.channel, req, this.timeoutMs);
      await finishAttempt(em, d.id, { status: NotificationDeliveryStatus.SENT, attempts, lastError: null, sentAt: new Date() });
    } catch (err) {
      const error = err instanceof SendError ? err.message : `internal error: ${(err as Error).message}`;
      const dead = attempts >= this.maxAttempts;
      await finishAttempt(em, d.id, dead
        ? { status: NotificationDeliveryStatus.DEAD, attempts, lastError: error }
        : { status: NotificationDeliveryStatus.RETRYING, attempts, lastError: error, nextAttemptAt: new Date(Date.now() + this.backoffMs(attempts)) });
      // Ids and the error only: the URL and secret stay out of logs.
      const log = { deliveryId: d.id, routeId: route.id, eventId: d.eventId, attempts, error };
      if (dead) this.opts.logger?.warn(log, 'notifier: delivery is DEAD after its last attempt');
      else this.opts.logger?.info(log, 'notifier: delivery failed; will retry');
    }
  }
}
