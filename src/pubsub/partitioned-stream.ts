import type { ConsumeOptions, ConsumerHandle, EventStream, StreamEntry } from './event-stream.js';
import type { LeaseManager } from './lease.js';
import type { Membership } from './membership.js';

/** 32-bit FNV-1a of the UTF-8 bytes of `key`: stable across processes, versions and platforms. */
export function fnv1a(key: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(key, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** An entry of a partitioned stream, with the key it was appended under. */
export interface PartitionedEntry<B = Record<string, unknown>> extends StreamEntry<B> {
  key: string;
  partition: number;
}

/** Options for {@link PartitionedStream.consume}. */
export interface PartitionConsumeOptions extends Pick<
  ConsumeOptions,
  'batchSize' | 'blockMs' | 'retryDelayMs' | 'startId'
> {
  /**
   * Partition lease TTL: how long a dead consumer's partitions wait before another takes
   * them. Handlers should finish well within it. Default: 10 000 ms.
   */
  leaseTtlMs?: number;
  /** Renew leases, heartbeat and rebalance every this many ms. Default: `leaseTtlMs / 3`. */
  rebalanceIntervalMs?: number;
  /** Called on handler, lease and transport errors. Default: logs to stderr. */
  onError?: (err: unknown) => void;
}

export interface PartitionConsumerHandle {
  /** Partitions this consumer reads now. */
  owned(): number[];
  /** Stops reading, releases leases and leaves the group so others take over at once. */
  stop(): Promise<void>;
}

/** What a {@link PartitionedStream} runs on; Redis or in-process implementations. */
export interface PartitionedStreamDeps {
  streams: EventStream;
  leases: LeaseManager;
  membership: Membership;
}

/**
 * A stream split into `partitions` streams `<name>:<p>`, an entry going to partition
 * `fnv1a(key) mod partitions`. Each partition is read by exactly one live consumer of a group
 * at a time (a lease per partition), so entries of one key (an object uid) are handled in
 * append order however many consumers run. At least once: a consumer that dies leaves
 * un-acked entries, which the next owner of the partition handles first. Duplicates are
 * therefore possible; dedupe by `entry.id` (see {@link Deduper}).
 *
 * The partition count is part of the data layout: changing it moves keys to other
 * partitions, so drain the stream first.
 */
export class PartitionedStream {
  private readonly handles = new Set<PartitionConsumerHandle>();

  constructor(
    readonly name: string,
    readonly partitions: number,
    private readonly deps: PartitionedStreamDeps,
  ) {
    if (!Number.isInteger(partitions) || partitions < 1)
      throw new Error('pubsub: partitions must be a positive integer');
  }

  partitionOf(key: string): number {
    return fnv1a(key) % this.partitions;
  }

  streamOf(partition: number): string {
    return `${this.name}:${partition}`;
  }

  /** Appends `body` for `key`; `opts.id` is the event id (default: a random UUID). */
  async append(
    key: string,
    body: object,
    opts: { id?: string } = {},
  ): Promise<{ partition: number; streamId: string }> {
    const partition = this.partitionOf(key);
    const streamId = await this.deps.streams.append(this.streamOf(partition), {
      id: opts.id,
      body: { key, body },
    });
    return { partition, streamId };
  }

  /** Replay of one partition after `afterId`. */
  async read(partition: number, afterId = '0', count = 100): Promise<PartitionedEntry[]> {
    const entries = await this.deps.streams.read(this.streamOf(partition), afterId, count);
    return entries.map((e) => unwrap(e, partition));
  }

  /**
   * Joins `group` as `consumer` (unique per process) and handles the entries of the
   * partitions it comes to own. Ownership: every tick the consumer heartbeats, renews its
   * leases, and aims at `ceil(partitions / live consumers)`: it gives back partitions above
   * that (so a newcomer gets its share) and takes free ones below it. A partition left free
   * for a whole lease TTL is taken even above the aim, so none stays unread while the live
   * count is stale.
   */
  consume(
    group: string,
    consumer: string,
    handler: (entry: PartitionedEntry) => unknown,
    opts: PartitionConsumeOptions = {},
  ): PartitionConsumerHandle {
    const { leases, membership, streams } = this.deps;
    const ttl = opts.leaseTtlMs ?? 10_000;
    const interval = opts.rebalanceIntervalMs ?? Math.max(10, Math.floor(ttl / 3));
    const onError =
      opts.onError ??
      ((err: unknown) => console.error(`[pubsub] ${this.name}/${group}/${consumer}:`, err));
    const membershipGroup = `${this.name}:${group}`;
    const leaseName = (p: number): string => `${this.name}:${group}:${p}`;
    const running = new Map<number, ConsumerHandle>();
    const freeSince = new Map<number, number>();
    // Start the search at a consumer-specific partition so consumers starting together do
    // not all race for partition 0.
    const offset = fnv1a(consumer) % this.partitions;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let ticking: Promise<void> = Promise.resolve();

    const start = (p: number): void => {
      running.set(
        p,
        streams.consume(this.streamOf(p), group, consumer, (e) => handler(unwrap(e, p)), {
          batchSize: opts.batchSize,
          blockMs: opts.blockMs,
          retryDelayMs: opts.retryDelayMs,
          startId: opts.startId,
          onError,
          // The lease makes us the only reader: whatever the previous owner left un-acked is
          // ours to redo, first. Idle claiming is not needed on top of that.
          takeOverPending: true,
          claimIdleMs: Infinity,
        }),
      );
    };
    const drop = async (p: number, release: boolean): Promise<void> => {
      const h = running.get(p);
      running.delete(p);
      // Stop before releasing: the next owner must not start while we still handle an entry.
      await h?.stop();
      if (release) await leases.release(leaseName(p), consumer).catch(onError);
    };

    const tick = async (): Promise<void> => {
      const live = Math.max(1, await membership.heartbeat(membershipGroup, consumer, ttl));
      for (const p of [...running.keys()]) {
        if (!(await leases.renew(leaseName(p), consumer, ttl))) await drop(p, false);
      }
      const aim = Math.ceil(this.partitions / live);
      for (const p of [...running.keys()].reverse()) {
        if (running.size <= aim || stopped) break;
        await drop(p, true);
      }
      const now = Date.now();
      for (let i = 0; i < this.partitions && !stopped; i++) {
        const p = (offset + i) % this.partitions;
        if (running.has(p)) continue;
        const holder = await leases.holderOf(leaseName(p));
        if (holder !== null) {
          freeSince.delete(p);
          continue;
        }
        if (!freeSince.has(p)) freeSince.set(p, now);
        const longFree = now - freeSince.get(p)! >= ttl;
        if (
          (running.size < aim || longFree) &&
          (await leases.acquire(leaseName(p), consumer, ttl))
        ) {
          freeSince.delete(p);
          start(p);
        }
      }
    };
    const loop = (): void => {
      ticking = tick()
        .catch(onError)
        .finally(() => {
          if (!stopped) timer = setTimeout(loop, interval);
        });
    };
    loop();

    const handle: PartitionConsumerHandle = {
      owned: () => [...running.keys()].sort((a, b) => a - b),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        clearTimeout(timer);
        await ticking;
        await Promise.all([...running.keys()].map((p) => drop(p, true)));
        await membership.leave(membershipGroup, consumer).catch(onError);
        this.handles.delete(handle);
      },
    };
    this.handles.add(handle);
    return handle;
  }

  /** Stops every consumer started on this instance. */
  async close(): Promise<void> {
    await Promise.all([...this.handles].map((h) => h.stop()));
  }
}

function unwrap(e: StreamEntry, partition: number): PartitionedEntry {
  const wrapped = e.body as { key: string; body: Record<string, unknown> };
  return { streamId: e.streamId, id: e.id, key: wrapped.key, partition, body: wrapped.body };
}
