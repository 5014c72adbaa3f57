/**
 * The outbox relay: numbers committed platform events (`seq`, the public id) and moves them
 * from the `platform_events` table to the `platform-events` stream, in `seq` order, at least
 * once. Two jobs with two locks:
 * - numbering needs only the database: every replica running the relay tries it each pass
 *   under a database lock (see `sequencePending`), so while Redis is down events still get
 *   their ids and show in `platformEvents` history and subscription replay;
 * - publishing (stream + bus) runs on one replica at a time, under the Redis lease.
 * See docs/adr/0005-outbox.md.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Bus, EventStream, LeaderHandle, LeaseManager } from '../../pubsub/index.js';
import type { PhantomTopics } from '../../pubsub/topics.js';
import { findUnpublished, markPublished, sequencePending } from './platform-event.repository.js';
import type { PlatformEventRow } from './platform-event.entity.js';
import {
  PLATFORM_EVENTS_STREAM,
  PLATFORM_EVENTS_TOPIC,
  toEventMessage,
  toEventRecord,
} from './platform-event.record.js';
import { every } from '../../engine/timers.js';

/** The few logger methods the relay uses (pino's signature). */
export interface RelayLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Options for {@link OutboxRelay}. */
export interface OutboxRelayOptions {
  /** A fresh EntityManager (the relay forks one per pass). */
  em: () => EntityManager;
  streams: EventStream;
  bus: Bus<PhantomTopics>;
  leases: LeaseManager;
  logger?: RelayLogger;
  /** Poll interval, so an event whose wake-up was missed (another replica wrote it) waits at most this long. Default: 500 ms. */
  pollMs?: number;
  /** Rows sequenced / published per statement batch. Default: 200. */
  batchSize?: number;
  /** Lease time to live; a dead leader's relay is taken over after at most this. Default: 10 000 ms. */
  leaseTtlMs?: number;
  /** Lease name. Default: `'outbox-relay'`. */
  leaseName?: string;
  /** Stream to append to. Default: {@link PLATFORM_EVENTS_STREAM}. */
  stream?: string;
}

export class OutboxRelay {
  private leader?: LeaderHandle;
  private leading = false;
  private stopTimer?: () => void;
  private running?: Promise<void>;
  private again = false;
  private failing = false;
  private numberingFailing = false;
  /**
   * While leading: every event up to this number is published (this relay published it, or
   * found it published). Rows this relay numbers right after it are published from the
   * numbering pass's own read; anything else is read from the table. Unknown after an error
   * and when the lead changes.
   */
  private publishedUpTo: bigint | undefined;
  /** A commit with events woke the relay since the last pass began: its numbering expects rows. */
  private woken = false;
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly stream: string;

  constructor(private readonly opts: OutboxRelayOptions) {
    this.pollMs = opts.pollMs ?? 500;
    this.batchSize = opts.batchSize ?? 200;
    this.stream = opts.stream ?? PLATFORM_EVENTS_STREAM;
  }

  /** Starts numbering (polling) and competing for the lease; publishes while holding it. */
  start(): void {
    if (this.leader) return;
    this.stopTimer = every(this.pollMs, () => this.kick());
    this.leader = this.opts.leases.runWhileLeader(
      this.opts.leaseName ?? 'outbox-relay',
      this.opts.leaseTtlMs ?? 10_000,
      () => this.onLead(),
      () => this.onLoseLead(),
      { onError: (err) => this.opts.logger?.warn({ err }, 'outbox relay: lease error') },
    );
  }

  /** Runs a pass now. Called after a transaction with events commits. */
  readonly wake = (): void => {
    if (!this.leader) return;
    this.woken = true;
    this.kick();
  };

  isLeader(): boolean {
    return this.leading;
  }

  /** Resolves when the pass in progress (if any) is over. For tests and shutdown. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops relaying and gives the lease up, so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopTimer?.();
    this.stopTimer = undefined;
    await this.leader?.stop();
    this.leader = undefined;
    await this.idle();
  }

  private onLead(): void {
    this.leading = true;
    this.publishedUpTo = undefined;
    this.opts.logger?.info({}, 'outbox relay: leading');
    this.kick();
  }

  private async onLoseLead(): Promise<void> {
    this.leading = false;
    this.publishedUpTo = undefined;
    await this.idle();
  }

  private kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.again && this.leader) {
        this.again = false;
        this.kick();
      }
    });
  }

  /**
   * Numbers, then (when leading) publishes, until nothing is left; a failure ends that part
   * of the pass (the next poll retries). Numbering does not wait for Redis.
   */
  private async pass(): Promise<void> {
    // After a wake there are rows to number (almost always: another pass may have numbered
    // them): the numbering skips its probe. A poll probes first, and mostly stops there.
    const expected = this.woken;
    this.woken = false;
    const batches = await this.numberAll(expected);
    if (!this.leading) return;
    try {
      // The rows this pass numbered right after the last published one: published from the
      // numbering's read (one statement less per batch). Any other case reads the table.
      let direct = true;
      for (const b of batches) {
        if (!direct || !this.leading) break;
        direct = this.publishedUpTo !== undefined && b.base === this.publishedUpTo;
        if (direct && (await this.publish(this.opts.em(), b.rows)) < b.rows.length) return;
      }
      if (direct && batches.length && batches.at(-1)!.rows.length < this.batchSize) {
        this.recovered();
        return;
      }
      // Rows committed meanwhile come with their wake-up (`again`: another pass) or the poll.
      for (;;) {
        if (!this.leading) return;
        const published = await this.publishBatch();
        if (published < this.batchSize) break;
        await this.number();
      }
      this.recovered();
    } catch (err) {
      this.publishedUpTo = undefined;
      // Redis or the database is down: rows stay unpublished in the table and flow on a
      // later pass. Logged once per outage, not once per poll.
      if (!this.failing)
        this.opts.logger?.warn({ err }, 'outbox relay: pass failed; events wait in the table');
      this.failing = true;
    }
  }

  private recovered(): void {
    if (this.failing) this.opts.logger?.info({}, 'outbox relay: publishing again');
    this.failing = false;
  }

  private async number(expected = true) {
    // The whole rows only when this relay will publish them.
    return sequencePending(this.opts.em(), this.batchSize, {
      rows: this.leading,
      probe: !expected,
    });
  }

  /**
   * Numbers every committed row; another replica numbering now (`busy`) is fine. Returns the
   * batches it numbered, in order.
   */
  private async numberAll(
    expected: boolean,
  ): Promise<{ base: bigint; rows: PlatformEventRow[] }[]> {
    const batches: { base: bigint; rows: PlatformEventRow[] }[] = [];
    try {
      for (let first = true; ; first = false) {
        // A batch after a full one expects more rows too.
        const { numbered, busy, base, rows } = await this.number(expected || !first);
        if (numbered && base !== undefined && rows) batches.push({ base, rows });
        if (busy || numbered < this.batchSize) break;
      }
      if (this.numberingFailing) this.opts.logger?.info({}, 'outbox relay: numbering again');
      this.numberingFailing = false;
    } catch (err) {
      // The database is down, or another replica numbered the same rows in the instant its
      // lock was released (our transaction rolled back whole): the next pass retries.
      if (!this.numberingFailing)
        this.opts.logger?.warn({ err }, 'outbox relay: numbering failed; will retry');
      this.numberingFailing = true;
    }
    return batches;
  }

  private async publishBatch(): Promise<number> {
    const em = this.opts.em();
    const rows = await findUnpublished(em, this.batchSize);
    await this.publish(em, rows);
    return rows.length;
  }

  /**
   * Appends `rows` (by `seq`, the next ones after what is published) to the stream and the
   * bus, and stamps those it appended; how many. Stops when the lead is lost.
   */
  private async publish(em: EntityManager, rows: readonly PlatformEventRow[]): Promise<number> {
    const done: string[] = [];
    let upTo: bigint | undefined;
    try {
      for (const row of rows) {
        if (!this.leading) break;
        const msg = toEventMessage(toEventRecord(row));
        // Appended before being stamped: a crash in between re-appends (at least once;
        // consumers dedupe by the entry's event id).
        await this.opts.streams.append(this.stream, { id: msg.id, body: msg });
        done.push(row.id);
        upTo = BigInt(row.seq!);
        await this.opts.bus.publish(PLATFORM_EVENTS_TOPIC, msg);
      }
    } finally {
      await markPublished(em, done);
    }
    // Read in `seq` order after everything published: what this relay appended is now the end.
    if (upTo !== undefined && this.leading) this.publishedUpTo = upTo;
    return done.length;
  }
}
