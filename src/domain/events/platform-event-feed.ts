/**
 * Live platform events for this process's GraphQL subscriptions. Fed by the `platformEvents`
 * bus topic (the relay publishes there after each stream append, on whichever replica
 * leads), so a subscriber on any replica sees events caused through any other.
 *
 * The feed hands its listeners every event **once, in id order, with no gap**: ids are dense,
 * so a bus message that is lost (Redis pub/sub keeps nothing for a reconnecting subscriber)
 * shows as a gap, and the feed reads the gap from the table **once per process**, whatever
 * the number of subscribers (issue 9, P3: every subscriber used to run its own catch-up read,
 * thousands per tick at thousands of subscribers, queueing on the pool and delaying the relay).
 * A heartbeat every `pollMs` while anyone listens reads the newest *published* id (one
 * statement): events numbered but not yet published are the relay's to deliver, and counting
 * them made every tick look like a gap.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Bus } from '../../pubsub/index.js';
import type { PhantomTopics } from '../../pubsub/topics.js';
import { findSequenced, maxPublishedSeq } from './platform-event.repository.js';
import {
  PLATFORM_EVENTS_TOPIC,
  fromEventMessage,
  toEventRecord,
  type PlatformEventRecord,
} from './platform-event.record.js';

/** Options for {@link PlatformEventFeed}. */
export interface PlatformEventFeedOptions {
  bus: Bus<PhantomTopics>;
  /** A fresh EntityManager for the heartbeat and the gap reads. */
  em: () => EntityManager;
  /** Heartbeat interval while someone listens: the longest a lost bus message delays delivery. Default: 1000 ms. */
  pollMs?: number;
  /** Timer primitive (the engine's `every`): returns a stop function. */
  every: (ms: number, fn: () => void) => () => void;
  onError?: (err: unknown) => void;
}

const GAP_BATCH = 500;

export class PlatformEventFeed {
  private readonly listeners = new Set<(event: PlatformEventRecord, seq: bigint) => void>();
  private offBus?: () => void;
  private stopTimer?: () => void;
  private polling = false;
  private reading = false;
  private fromBus = 0;
  /** Highest id handed to the listeners: every id up to it was handed out (or nobody listened). */
  private head = 0n;
  /** Highest id known to be published. */
  private target = 0n;
  /** Bus events ahead of a gap, waiting for the gap to be read. */
  private readonly ahead = new Map<bigint, PlatformEventRecord>();
  /** Statements this feed has run (heartbeats and gap reads); tests assert they do not grow with the listeners. */
  reads = 0;

  constructor(private readonly opts: PlatformEventFeedOptions) {}

  /** Learns where the stream stands, subscribes to the bus; resolves when the subscription is live. */
  async start(): Promise<void> {
    // Events published between this read and the subscription show as a gap: the heartbeat fills it.
    this.head = this.target = await maxPublishedSeq(this.opts.em());
    this.reads++;
    this.offBus = this.opts.bus.subscribe(PLATFORM_EVENTS_TOPIC, (m) => {
      this.fromBus++;
      this.onEvent(fromEventMessage(m));
    });
    this.stopTimer = this.opts.every(this.opts.pollMs ?? 1000, () => void this.heartbeat());
    await this.opts.bus.ready();
  }

  /**
   * Calls `fn` for every event from now on (in id order, no gap; `seq` is its id) until the
   * returned function is called.
   */
  listen(fn: (event: PlatformEventRecord, seq: bigint) => void): () => void {
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

  /** The highest event id handed to listeners. */
  get lastDelivered(): bigint {
    return this.head;
  }

  stop(): void {
    this.stopTimer?.();
    this.offBus?.();
    this.listeners.clear();
    this.ahead.clear();
  }

  private onEvent(e: PlatformEventRecord): void {
    const seq = BigInt(e.id);
    if (seq <= this.head) return; // a duplicate, or already read from the table
    if (seq > this.target) this.target = seq;
    if (this.listeners.size === 0) {
      // Nobody to catch up for: move on without reading.
      this.head = this.target;
      this.ahead.clear();
      return;
    }
    this.ahead.set(seq, e);
    void this.pump();
  }

  /** Hands out everything up to `target` in order: from the bus when it has it, else one read of the gap. */
  private async pump(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      while (this.head < this.target && this.listeners.size > 0) {
        const next = this.head + 1n;
        const fromBus = this.ahead.get(next);
        if (fromBus) {
          this.ahead.delete(next);
          this.deliver(next, fromBus);
          continue;
        }
        // The gap ends below the first event the bus brought after it (or at the target).
        let upTo = this.target;
        for (const k of this.ahead.keys()) if (k < upTo) upTo = k - 1n;
        // The primary: a replica may not have the rows the bus just announced.
        const rows = await findSequenced(this.opts.em(), {
          afterSeq: this.head,
          upToSeq: upTo,
          limit: GAP_BATCH,
          primary: true,
        });
        this.reads++;
        if (!rows.length) {
          // Read from the primary, below a published id: the rows are gone (deleted), not late.
          // Skip them rather than hold every later event back.
          this.head = upTo;
          continue;
        }
        for (const row of rows) {
          const seq = BigInt(row.seq!);
          if (seq <= this.head) continue;
          this.ahead.delete(seq);
          this.deliver(seq, toEventRecord(row));
        }
      }
      if (this.listeners.size === 0) {
        this.head = this.target;
        this.ahead.clear();
      }
    } catch (err) {
      this.opts.onError?.(err);
    } finally {
      this.reading = false;
    }
  }

  private deliver(seq: bigint, e: PlatformEventRecord): void {
    this.head = seq;
    for (const l of [...this.listeners]) {
      try {
        l(e, seq);
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.polling || this.listeners.size === 0) return;
    this.polling = true;
    try {
      const top = await maxPublishedSeq(this.opts.em());
      this.reads++;
      if (top > this.target) this.target = top;
      if (this.head < this.target) await this.pump();
    } catch (err) {
      this.opts.onError?.(err);
    } finally {
      this.polling = false;
    }
  }
}
