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

/** Options for {@link InProcessBus}. */
export interface InProcessBusOptions {
  /** Called when a handler throws. Default: logs to stderr. */
  onError?: ErrorReporter;
}

/**
 * Embedded-mode bus: one process, no Redis. Delivery is asynchronous and payloads are
 * JSON round-tripped, like the Redis bus, so code tested here behaves the same in production
 * (a handler never runs inside `publish`, a `Date` never survives as a `Date`).
 */
export class InProcessBus<T extends TopicMap> implements Bus<T> {
  private readonly handlers = new Map<string, Set<(p: unknown) => void>>();
  private readonly iterators = new Set<{ end(): void }>();
  private readonly onError: ErrorReporter;
  private closed = false;

  constructor(opts: InProcessBusOptions = {}) {
    this.onError = opts.onError ?? logError;
  }

  publish<K extends TopicName<T>>(topic: K, payload: T[K], key?: string): Promise<void> {
    // The executor turns a throw (closed bus, bad topic, unserializable payload) into a
    // rejection, as from the Redis bus; delivery still happens in queued microtasks.
    return new Promise((resolve) => {
      if (this.closed) throw new Error('pubsub: bus is closed');
      this.deliver(channelOf(topic, key), payload);
      resolve();
    });
  }

  private deliver(channel: string, payload: unknown): void {
    const json = JSON.stringify(payload ?? null);
    const set = this.handlers.get(channel);
    if (!set) return;
    // Snapshot: a handler that unsubscribes another must not change this delivery.
    for (const h of [...set]) {
      queueMicrotask(() => {
        try {
          h(JSON.parse(json));
        } catch (err) {
          this.onError(err, `handler for ${channel}`);
        }
      });
    }
  }

  subscribe<K extends TopicName<T>>(
    topic: K,
    handler: (payload: T[K]) => void,
    key?: string,
  ): () => void {
    const channel = channelOf(topic, key);
    let set = this.handlers.get(channel);
    if (!set) this.handlers.set(channel, (set = new Set()));
    const h = handler as (p: unknown) => void;
    set.add(h);
    return () => {
      set.delete(h);
      if (set.size === 0 && this.handlers.get(channel) === set) this.handlers.delete(channel);
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

  async ready(): Promise<void> {}

  /** Number of channels with at least one handler (lets tests prove cleanup). */
  get channelCount(): number {
    return this.handlers.size;
  }

  close(): Promise<void> {
    this.closed = true;
    for (const it of [...this.iterators]) it.end();
    this.handlers.clear();
    return Promise.resolve();
  }
}
