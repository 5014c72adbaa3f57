/**
 * Durable, append-only streams with consumer groups (Redis Streams semantics), for events
 * that must not be lost: the outbox relay appends, consumers process at least once.
 */

/** One stored entry. */
export interface StreamEntry<B = Record<string, unknown>> {
  /** Position in the stream (`<ms>-<seq>`), increasing; pass it to `read` as `afterId`. */
  streamId: string;
  /** Event id given to `append` (or generated): what consumers dedupe on. */
  id: string;
  body: B;
}

/** Options for {@link EventStream.append}. */
export interface AppendOptions {
  /**
   * Keep about this many entries (`XADD MAXLEN ~`): trimming happens in whole radix-tree
   * nodes, so a few more may stay. Default: the stream's `maxLen` option.
   */
  maxLen?: number;
}

/** Options for {@link EventStream.consume}. */
export interface ConsumeOptions {
  /** Where a new group starts: `'0'` replays the whole stream, `'$'` only new entries. Default: `'0'`. */
  startId?: string;
  /** Entries fetched per read. Default: 10. */
  batchSize?: number;
  /** How long one blocking read waits; bounds how late `stop()` can be. Default: 1000 ms. */
  blockMs?: number;
  /**
   * Entries pending (delivered, not acked) on another consumer for this long are claimed
   * and re-delivered here: that consumer is taken for dead. `Infinity` disables it.
   * Default: 30 000 ms.
   */
  claimIdleMs?: number;
  /** How often to look for such entries. Default: `min(claimIdleMs, 5000)`. */
  claimIntervalMs?: number;
  /**
   * Claim every pending entry of the group at start, whatever its idle time. Only for a
   * consumer that something else (a partition lease) makes the sole live reader of the
   * stream. Default: `false`.
   */
  takeOverPending?: boolean;
  /** Wait after a handler error before re-delivering the same entry. Default: 1000 ms. */
  retryDelayMs?: number;
  /** Called on handler and transport errors. Default: logs to stderr. */
  onError?: (err: unknown) => void;
}

export type EntryHandler = (entry: StreamEntry) => unknown;

export interface ConsumerHandle {
  /** Stops after the running handler (if any); resolves when the consumer has stopped. */
  stop(): Promise<void>;
  /** Resolves when the consumer stops. */
  readonly done: Promise<void>;
}

export interface EventStream {
  /** Appends `body` under event id `entry.id` (default: a random UUID); returns the stream id. */
  append(
    stream: string,
    entry: { id?: string; body: object },
    opts?: AppendOptions,
  ): Promise<string>;
  /** Up to `count` entries after `afterId` (exclusive; `'0'` = from the start), in order. For replay. */
  read(stream: string, afterId?: string, count?: number): Promise<StreamEntry[]>;
  /**
   * Runs `handler` for each entry of `stream` as member `consumer` of `group`. At least once:
   * an entry is acked only after the handler resolves; on a throw it is retried (and the
   * consumer waits: entries of one consumer are handled in stream order, one at a time).
   * Several consumers of one group split the entries between them, so order across them is
   * not kept; use a {@link PartitionedStream} for per-key order with many consumers.
   */
  consume(
    stream: string,
    group: string,
    consumer: string,
    handler: EntryHandler,
    opts?: ConsumeOptions,
  ): ConsumerHandle;
  /**
   * Trims to `maxLen` entries, oldest first; returns how many were removed. Approximate by
   * default (`MAXLEN ~`, cheap in Redis: may keep up to a node's worth more); `exact` trims
   * precisely.
   */
  trim(stream: string, maxLen: number, exact?: boolean): Promise<number>;
  /** Stops every consumer started here, then releases connections it owns. */
  close(): Promise<void>;
}

/** A group read: `body === null` means the entry was trimmed while pending; it is acked and skipped. */
export interface GroupEntry {
  streamId: string;
  id: string;
  body: Record<string, unknown> | null;
}

/** A connection (or its in-process stand-in) for one consumer's blocking reads. */
export interface GroupReader {
  /** `'pending'`: this consumer's own delivered-not-acked entries from the start; `'new'`: never delivered ones, waiting up to `blockMs`. */
  read(
    stream: string,
    group: string,
    consumer: string,
    mode: 'pending' | 'new',
    count: number,
    blockMs: number,
  ): Promise<GroupEntry[]>;
  /** Ends a read in progress promptly. */
  close(): void;
}

/** Is `err` Redis's (or the in-process stand-in's) "no such consumer group" error? */
export function isNoGroup(err: unknown): boolean {
  return /\bNOGROUP\b/.test(String((err as Error | undefined)?.message ?? err));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

/**
 * The consumer loop, shared by the Redis and in-process streams so both modes deliver alike.
 * Subclasses supply the storage primitives.
 */
export abstract class ConsumingEventStream implements EventStream {
  private readonly consumers = new Set<ConsumerHandle>();

  abstract append(
    stream: string,
    entry: { id?: string; body: object },
    opts?: AppendOptions,
  ): Promise<string>;
  abstract read(stream: string, afterId?: string, count?: number): Promise<StreamEntry[]>;
  abstract trim(stream: string, maxLen: number, exact?: boolean): Promise<number>;
  /** Creates `group` (and the stream, when missing) at `startId`; a no-op when it exists. */
  protected abstract ensureGroup(stream: string, group: string, startId: string): Promise<void>;
  protected abstract ack(stream: string, group: string, streamIds: string[]): Promise<void>;
  /** Moves entries pending longer than `minIdleMs` on any consumer to `consumer`; returns how many. */
  protected abstract claim(
    stream: string,
    group: string,
    consumer: string,
    minIdleMs: number,
  ): Promise<number>;
  protected abstract openReader(): GroupReader;
  protected abstract closeConnections(): Promise<void>;

  consume(
    stream: string,
    group: string,
    consumer: string,
    handler: EntryHandler,
    opts: ConsumeOptions = {},
  ): ConsumerHandle {
    const batchSize = opts.batchSize ?? 10;
    const blockMs = opts.blockMs ?? 1000;
    const claimIdleMs = opts.claimIdleMs ?? 30_000;
    const claimIntervalMs = opts.claimIntervalMs ?? Math.min(claimIdleMs, 5000);
    const retryDelayMs = opts.retryDelayMs ?? 1000;
    const onError =
      opts.onError ??
      ((err: unknown) =>
        console.error(`[pubsub] consumer ${group}/${consumer} on ${stream}:`, err));
    const reader = this.openReader();
    let stopped = false;
    let wake: () => void = () => {};

    const pause = (ms: number): Promise<void> =>
      new Promise<void>((resolve) => {
        wake = resolve;
        void sleep(ms).then(resolve);
      });

    const run = async (): Promise<void> => {
      // Set up until it works: Redis may be briefly down when a replica starts.
      for (;;) {
        if (stopped) return;
        try {
          await this.ensureGroup(stream, group, opts.startId ?? '0');
          if (opts.takeOverPending) await this.claim(stream, group, consumer, 0);
          break;
        } catch (err) {
          if (stopped) return;
          onError(err);
          await pause(retryDelayMs);
        }
      }
      // Start with our own pending entries: after a restart under the same name, or after
      // a takeover, these come before anything new.
      let mode: 'pending' | 'new' = 'pending';
      let lastClaim = Date.now();
      while (!stopped) {
        try {
          if (Number.isFinite(claimIdleMs) && Date.now() - lastClaim >= claimIntervalMs) {
            lastClaim = Date.now();
            if ((await this.claim(stream, group, consumer, claimIdleMs)) > 0) mode = 'pending';
          }
          const entries = await reader.read(stream, group, consumer, mode, batchSize, blockMs);
          if (stopped) break;
          if (mode === 'pending' && entries.length === 0) {
            mode = 'new';
            continue;
          }
          // Each entry is acked once handled, without waiting for Redis's reply before the
          // next handler runs: the ids handled since the last wait for I/O go out as one XACK
          // (flushed on the next tick), so a crash redelivers at most the entries handled
          // since then — one, for a handler that does I/O — while a batch of synchronous
          // handlers costs one command instead of one per entry. The batch waits for its
          // acks before reading on.
          let acked: Promise<void> = Promise.resolve();
          let toAck: string[] = [];
          const ackNow = (streamId: string): void => {
            toAck.push(streamId);
            if (toAck.length > 1) return;
            acked = new Promise<void>((resolve) => {
              process.nextTick(() => {
                const ids = toAck;
                toAck = [];
                this.ack(stream, group, ids)
                  .catch((err) => {
                    // Left pending: handled again after a restart or takeover (at least once).
                    if (!stopped) onError(err);
                  })
                  .finally(resolve);
              });
            });
          };
          for (const e of entries) {
            if (stopped) break;
            if (e.body === null) {
              ackNow(e.streamId);
              continue;
            }
            try {
              await handler({ streamId: e.streamId, id: e.id, body: e.body });
            } catch (err) {
              // Do not skip ahead: a later entry must not be handled before this one.
              onError(err);
              mode = 'pending';
              await acked;
              await pause(retryDelayMs);
              break;
            }
            ackNow(e.streamId);
          }
          await acked;
        } catch (err) {
          if (stopped) break;
          mode = 'pending'; // whatever was read but not handled is in our pending list
          if (isNoGroup(err)) {
            // Redis lost the group (restarted without its data, or the key was deleted):
            // create it again, with the stream if need be, and go on. Entries the old stream
            // held are gone; consumers that must not miss any fill gaps from their own store
            // (the notifier reads the events table). See docs/adr/0004-bus-and-streams.md.
            try {
              await this.ensureGroup(stream, group, opts.startId ?? '0');
              onError(
                new Error(
                  `consumer group ${group} on ${stream} was missing (NOGROUP); created it again`,
                ),
              );
              continue;
            } catch (again) {
              onError(again);
            }
          } else onError(err);
          await pause(retryDelayMs);
        }
      }
    };

    const done = run().finally(() => reader.close());
    const handle: ConsumerHandle = {
      done,
      stop: async () => {
        stopped = true;
        wake();
        // Ends a blocked read now rather than after blockMs; entries it may have taken stay
        // pending on this consumer and are re-delivered (claimed) later.
        reader.close();
        await done;
        this.consumers.delete(handle);
      },
    };
    this.consumers.add(handle);
    return handle;
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.stop()));
    await this.closeConnections();
  }
}
