/**
 * The messaging seam. Everything above it runs unchanged in embedded mode (one process,
 * in-memory) and with N replicas sharing Redis. Only this folder imports ioredis for
 * messaging.
 */
import type { Redis } from 'ioredis';
import type { Bus, TopicMap } from './bus.js';
import type { EventStream } from './event-stream.js';
import { InProcessBus } from './in-process-bus.js';
import { InProcessEventStream } from './in-process-event-stream.js';
import { InProcessLeaseManager } from './in-process-lease.js';
import type { LeaseManager } from './lease.js';
import { InProcessMembership, type Membership } from './membership.js';
import { PartitionedStream } from './partitioned-stream.js';
import { RedisBus } from './redis-bus.js';
import { closeRedis, createRedis } from './redis-connection.js';
import { RedisEventStream } from './redis-event-stream.js';
import { RedisLeaseManager } from './redis-lease.js';
import { RedisMembership } from './redis-membership.js';

export * from './bus.js';
export * from './deduper.js';
export * from './event-stream.js';
export * from './in-process-bus.js';
export * from './in-process-event-stream.js';
export * from './in-process-lease.js';
export * from './lease.js';
export * from './membership.js';
export * from './partitioned-stream.js';
export * from './redis-bus.js';
export * from './redis-connection.js';
export * from './redis-event-stream.js';
export * from './redis-lease.js';
export * from './redis-membership.js';

/** Options for {@link createMessaging}. */
export interface MessagingOptions {
  /** Redis URL; when absent everything is in-process (embedded mode). Default: none. */
  redisUrl?: string;
  /**
   * Prepended to every Redis key and channel, so deployments (and test files) sharing a
   * Redis never see each other's messages. Default: `'phantom:'`.
   */
  keyPrefix?: string;
  /** Default `MAXLEN ~` per stream. Default: 100 000. */
  streamMaxLen?: number;
  /**
   * Command timeout of the shared command connection (publish, XADD, XACK, leases,
   * membership), so a frozen Redis fails those calls instead of hanging their callers.
   * Blocking reads and subscriptions run on their own connections without it: a stream
   * consumer waits for Redis to answer again, which is what a consumer should do. Default: none.
   */
  commandTimeoutMs?: number;
}

export interface Messaging<T extends TopicMap> {
  /** `'redis'` or `'in-process'`, for health output and logs. */
  readonly mode: 'redis' | 'in-process';
  bus: Bus<T>;
  streams: EventStream;
  leases: LeaseManager;
  membership: Membership;
  /** A partitioned stream `name` with `partitions` partitions (one instance per name). */
  partitioned(name: string, partitions: number): PartitionedStream;
  /** Stops consumers, ends subscriptions, closes connections. */
  close(): Promise<void>;
}

/** Builds the messaging seam for this process: Redis when `redisUrl` is set, else in-process. */
export function createMessaging<T extends TopicMap>(opts: MessagingOptions = {}): Messaging<T> {
  const keyPrefix = opts.keyPrefix ?? 'phantom:';
  let client: Redis | undefined;
  let bus: Bus<T>;
  let streams: EventStream;
  let leases: LeaseManager;
  let membership: Membership;
  if (opts.redisUrl) {
    const url = opts.redisUrl;
    client = createRedis(url, {
      connectionName: 'phantom:messaging',
      commandTimeoutMs: opts.commandTimeoutMs,
    });
    bus = new RedisBus<T>({ url, client, keyPrefix });
    streams = new RedisEventStream({ url, client, keyPrefix, maxLen: opts.streamMaxLen });
    leases = new RedisLeaseManager({ client, keyPrefix });
    membership = new RedisMembership({ client, keyPrefix });
  } else {
    bus = new InProcessBus<T>();
    streams = new InProcessEventStream({ maxLen: opts.streamMaxLen });
    leases = new InProcessLeaseManager();
    membership = new InProcessMembership();
  }
  const partitionedStreams = new Map<string, PartitionedStream>();
  return {
    mode: client ? 'redis' : 'in-process',
    bus,
    streams,
    leases,
    membership,
    partitioned(name, partitions) {
      let ps = partitionedStreams.get(name);
      if (ps && ps.partitions !== partitions) {
        throw new Error(`pubsub: ${name} already has ${ps.partitions} partitions`);
      }
      if (!ps)
        partitionedStreams.set(
          name,
          (ps = new PartitionedStream(name, partitions, { streams, leases, membership })),
        );
      return ps;
    },
    async close() {
      // Consumers first: they ack and release leases over the shared connection.
      await Promise.all([...partitionedStreams.values()].map((p) => p.close()));
      await Promise.all([bus.close(), streams.close()]);
      await closeRedis(client);
    },
  };
}
