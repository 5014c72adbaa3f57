/**
 * Typed fan-out bus: every live subscriber of a topic gets every message published after it
 * subscribed. Nothing is stored; a subscriber that is down misses messages (use an
 * {@link EventStream} for anything that must not be lost).
 */

/** Topic name → payload type. One map for the whole app, as type-graphql examples do. */
export type TopicMap = Record<string, unknown>;

/** Topic names of a map (string keys only: they become channel names). */
export type TopicName<T extends TopicMap> = keyof T & string;

/** Options for {@link Bus.asyncIterator}. */
export interface AsyncIteratorOptions {
  /** Narrows every topic to `topic:key`, e.g. `podEvents` + `shop:prod`. Default: none. */
  key?: string;
  /**
   * Messages kept while the consumer is slower than the producer. When full, the oldest is
   * dropped: a slow GraphQL client must not grow the server's memory without bound.
   * Default: 1000.
   */
  bufferSize?: number;
}

export interface Bus<T extends TopicMap> {
  /**
   * Sends `payload` (JSON-serializable: both implementations round-trip it through JSON, so
   * a `Date` arrives as a string in embedded mode too) to subscribers of `topic` (with `key`,
   * to subscribers of `topic:key` only).
   */
  publish<K extends TopicName<T>>(topic: K, payload: T[K], key?: string): Promise<void>;
  /**
   * Calls `handler` for each message on `topic` (or `topic:key`). Returns the unsubscribe
   * function. Handler errors are reported to the bus's `onError` and never reach the publisher.
   * The subscription is active in Redis only after {@link Bus.ready} resolves.
   */
  subscribe<K extends TopicName<T>>(
    topic: K,
    handler: (payload: T[K]) => void,
    key?: string,
  ): () => void;
  /**
   * Messages of one or several topics as an async iterator (what GraphQL subscription
   * resolvers return). `return()` unsubscribes at once and ends pending `next()` calls.
   */
  asyncIterator<K extends TopicName<T>>(
    topics: K | K[],
    opts?: AsyncIteratorOptions,
  ): AsyncIterableIterator<T[K]>;
  /** Resolves when every subscription made so far is active in the transport. */
  ready(): Promise<void>;
  /** Ends all iterators, drops all subscriptions, closes owned connections. */
  close(): Promise<void>;
}

/**
 * The channel of a topic and optional key. Topic names may not contain `:` so that
 * `a` + key `b:c` and a topic `a:b` + key `c` can never share a channel.
 */
export function channelOf(topic: string, key?: string): string {
  if (topic.includes(':')) throw new Error(`pubsub: topic names may not contain ':' (${topic})`);
  return key === undefined ? topic : `${topic}:${key}`;
}

/** Reports handler errors; the default logs, since one bad subscriber must not sink the process. */
export type ErrorReporter = (err: unknown, context: string) => void;

export const logError: ErrorReporter = (err, context) => {
  console.error(`[pubsub] ${context}:`, err);
};

/**
 * Builds {@link Bus.asyncIterator} on any `subscribe`. Shared by both implementations so
 * GraphQL subscriptions behave the same in embedded and Redis mode.
 */
export function topicIterator<P>(
  subscribe: (onMessage: (p: P) => void) => Array<() => void>,
  opts: AsyncIteratorOptions = {},
  onEnd?: () => void,
): AsyncIterableIterator<P> & { end(): void; readonly parked: boolean } {
  const bufferSize = opts.bufferSize ?? 1000;
  const buffer: P[] = [];
  const waiting: Array<(r: IteratorResult<P>) => void> = [];
  let done = false;
  const unsubscribers = subscribe((p) => {
    if (done) return;
    const next = waiting.shift();
    if (next) return next({ value: p, done: false });
    buffer.push(p);
    if (buffer.length > bufferSize) buffer.shift();
  });
  const end = (): void => {
    if (done) return;
    done = true;
    for (const u of unsubscribers) u();
    buffer.length = 0;
    for (const w of waiting.splice(0)) w({ value: undefined, done: true });
    onEnd?.();
  };
  const it: AsyncIterableIterator<P> & { end(): void; readonly parked: boolean } = {
    next() {
      if (buffer.length) return Promise.resolve({ value: buffer.shift() as P, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => waiting.push(resolve));
    },
    return() {
      end();
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(err?: unknown) {
      end();
      return Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
    end,
    /** A consumer waits in `next()` with nothing buffered: the next message goes straight to it. */
    get parked() {
      return !done && waiting.length > 0;
    },
  };
  return it;
}

/**
 * The key under which a live subscription's iterator may offer direct delivery (issue 9, P3):
 * `iterator[DIRECT_DELIVERY](sink)` asks it to hand each next item to `sink` synchronously,
 * in order, while its consumer waits in `next()` with nothing queued, instead of resolving
 * that `next()` (a chain of promises per subscriber and item at thousands of subscribers).
 * `sink` returns false to refuse an item (e.g. its socket is backed up); that item and every
 * later one then take the iterator's own path until the consumer waits again. An iterator
 * hands nothing to the sink after it ended.
 */
export const DIRECT_DELIVERY = Symbol('phantom.directDelivery');

/** An iterator offering {@link DIRECT_DELIVERY}. */
export interface DirectDelivery<T> {
  [DIRECT_DELIVERY](sink: (item: T) => boolean): void;
}

/** The iterator's {@link DIRECT_DELIVERY}, if it offers it. */
export function directDeliveryOf<T>(it: unknown): DirectDelivery<T>[typeof DIRECT_DELIVERY] | null {
  if (typeof it !== 'object' || it === null || !(DIRECT_DELIVERY in it)) return null;
  const fn = (it as DirectDelivery<T>)[DIRECT_DELIVERY];
  return typeof fn === 'function' ? fn.bind(it) : null;
}
