/**
 * Live platform events for this process's GraphQL subscriptions. Fed by the `platformEvents`
 * bus topic (the relay publishes there after each stream append, on whichever replica
 * leads), so a subscriber on any replica sees events caused through any other.
 *
 * The bus may drop messages (Redis pub/sub keeps nothing for a reconnecting subscriber), so
 * the feed also sends a heartbeat with the newest `seq` every `pollMs` while anyone listens:
 * subscribers fill any gap from the table (ids are dense, so a gap is always visible).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Bus } from '../../pubsub/index.js';
import type { PhantomTopics } from '../../pubsub/topics.js';
import { maxSeq } from './platform-event.repository.js';
import { PLATFORM_EVENTS_TOPIC, fromEventMessage, type PlatformEventRecord } from './platform-event.record.js';

/** What a feed listener gets: an event, or "events up to `seq` exist" (heartbeat). */
export type FeedItem = { kind: 'event'; event: PlatformEventRecord } | { kind: 'tick'; seq: bigint };

/** Options for {@link PlatformEventFeed}. */
export interface PlatformEventFeedOptions {
  bus: Bus<PhantomTopics>;
  /** A fresh EntityManager for the heartbeat query. */
  em: () => EntityManager;
  /** Heartbeat interval while someone listens: the longest a lost bus message delays delivery. Default: 1000 ms. */
  pollMs?: number;
  onError?: (err: unknown) => void;
}

export class PlatformEventFeed {
  private readonly listeners = new Set<(item: FeedItem) => void>();
  private unsubscribe?: () => void;
  private timer?: NodeJS.Timeout;
  private polling = false;
  private fromBus = 0;

  constructor(private readonly opts: PlatformEventFeedOptions) {}

  /** Subscribes to the bus; resolves when the subscription is live. */
  async start(): Promise<void> {
    this.unsubscribe = this.opts.bus.subscribe(PLATFORM_EVENTS_TOPIC, (m) => {
      this.fromBus++;
      this.emit({ kind: 'event', event: fromEventMessage(m) });
    });
    this.timer = setInterval(() => void this.heartbeat(), this.opts.pollMs ?? 1000);
    this.timer.unref();
    await this.opts.bus.ready();
  }

  /** Calls `fn` for every live item until the returned function is called. */
  listen(fn: (item: FeedItem) => void): () => void {
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  }

  /** Events received from the bus so far (health output, tests). */
  get busMessages(): number {
    return this.fromBus;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe?.();
    this.listeners.clear();
  }

  private emit(item: FeedItem): void {
    for (const l of [...this.listeners]) {
      try {
        l(item);
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.polling || this.listeners.size === 0) return;
    this.polling = true;
    try {
      this.emit({ kind: 'tick', seq: await maxSeq(this.opts.em()) });
    } catch (err) {
      this.opts.onError?.(err);
    } finally {
      this.polling = false;
    }
  }
}
