import type { Redis } from 'ioredis';
import {
  type AsyncIteratorOptions,
  type Bus,
  type ErrorReporter,
  type TopicMap,
  type TopicName,
  channelOf,
  logError,
  topicIterator,
} from './bus.js';
import { assertNoClientPrefix, closeRedis, createRedis } from './redis-connection.js';

/** Options for {@link RedisBus}. */
export interface RedisBusOptions {
  /** Redis URL, used to open this bus's own subscriber connection. */
  url: string;
  /**
   * Connection for PUBLISH. Shared with other messaging classes; the bus does not close it.
   * Default: the bus opens (and closes) its own.
   */
  client?: Redis;
  /** Prepended to every channel, isolating deployments and test files. Default: `''`. */
  keyPrefix?: string;
  /** Called when a handler throws or a message is not JSON. Default: logs to stderr. */
  onError?: ErrorReporter;
}

/**
 * Bus over Redis pub/sub, so a subscriber in one replica receives what another publishes.
 * One subscriber connection per bus, opened at the first `subscribe` (a subscribed
 * connection can run nothing else); each channel is SUBSCRIBEd once however many local
 * handlers it has. ioredis re-subscribes after a reconnect; messages sent meanwhile are
 * lost, which is pub/sub's contract.
 */
export class RedisBus<T extends TopicMap> implements Bus<T> {
  private readonly pub: Redis;
  private readonly ownsPub: boolean;
  private sub: Redis | undefined;
  private readonly handlers = new Map<string, Set<(p: unknown) => void>>();
  private readonly iterators = new Set<{ end(): void }>();
  private pending: Promise<unknown> = Promise.resolve();
  private readonly prefix: string;
  private readonly onError: ErrorReporter;
  private closed = false;

  constructor(private readonly opts: RedisBusOptions) {
    this.prefix = opts.keyPrefix ?? '';
    this.onError = opts.onError ?? logError;
    this.ownsPub = !opts.client;
    this.pub = opts.client ?? createRedis(opts.url, { connectionName: 'phantom:bus:pub' });
    assertNoClientPrefix(this.pub);
  }

  async publish<K extends TopicName<T>>(topic: K, payload: T[K], key?: string): Promise<void> {
    if (this.closed) throw new Error('pubsub: bus is closed');
    await this.pub.publish(this.prefix + channelOf(topic, key), JSON.stringify(payload ?? null));
  }

  subscribe<K extends TopicName<T>>(
    topic: K,
    handler: (payload: T[K]) => void,
    key?: string,
  ): () => void {
    if (this.closed) throw new Error('pubsub: bus is closed');
    const channel = this.prefix + channelOf(topic, key);
    let set = this.handlers.get(channel);
    if (!set) {
      this.handlers.set(channel, (set = new Set()));
      this.track(this.subscriber().subscribe(channel));
    }
    const h = handler as (p: unknown) => void;
    set.add(h);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      set.delete(h);
      if (set.size === 0 && this.handlers.get(channel) === set) {
        this.handlers.delete(channel);
        if (!this.closed) this.track(this.subscriber().unsubscribe(channel));
      }
    };
  }

  asyncIterator<K extends TopicName<T>>(
    topics: K | K[],
    opts: AsyncIteratorOptions = {},
  ): AsyncIterableIterator<T[K]> {
    const list = Array.isArray(topics) ? topics : [topics];
    const it = topicIterator<T[K]>(
      (push) => list.map((t) => this.subscribe(t, push, opts.key)),
      opts,
      () => this.iterators.delete(it),
    );
    this.iterators.add(it);
    return it;
  }

  async ready(): Promise<void> {
    await this.pending;
  }

  /** Number of channels this bus is subscribed to (lets tests prove cleanup). */
  get channelCount(): number {
    return this.handlers.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const it of [...this.iterators]) it.end();
    this.handlers.clear();
    await this.pending;
    await Promise.all([closeRedis(this.sub), this.ownsPub ? closeRedis(this.pub) : undefined]);
  }

  private subscriber(): Redis {
    if (!this.sub) {
      this.sub = createRedis(this.opts.url, { blocking: true, connectionName: 'phantom:bus:sub' });
      this.sub.on('message', (channel: string, message: string) => this.deliver(channel, message));
      // Without a listener ioredis prints every reconnect error as unhandled.
      this.sub.on('error', (err) => this.onError(err, 'bus subscriber connection'));
    }
    return this.sub;
  }

  private deliver(channel: string, message: string): void {
    const set = this.handlers.get(channel);
    if (!set) return;
    let payload: unknown;
    try {
      payload = JSON.parse(message);
    } catch (err) {
      return this.onError(err, `malformed message on ${channel}`);
    }
    for (const h of [...set]) {
      try {
        // Each handler gets its own copy only when there are several: they must not see
        // each other's mutations.
        h(set.size > 1 ? structuredClone(payload) : payload);
      } catch (err) {
        this.onError(err, `handler for ${channel}`);
      }
    }
  }

  private track(p: Promise<unknown>): void {
    const settled = p.catch((err) => this.onError(err, 'subscribe/unsubscribe'));
    this.pending = Promise.all([this.pending, settled]);
  }
}
