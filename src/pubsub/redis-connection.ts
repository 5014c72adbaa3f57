import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** Options for {@link createRedis}. */
export interface CreateRedisOptions {
  /**
   * ioredis `keyPrefix`, applied by ioredis to key arguments of ordinary commands (not to
   * pub/sub channels, not to `KEYS`/`SCAN` patterns). For cache and session callers.
   * The messaging classes in this folder refuse a client that has one: they build their own
   * keys and channels from their `keyPrefix` option, so nothing is prefixed twice and
   * channels are isolated too. Default: none.
   */
  keyPrefix?: string;
  /**
   * The connection will run blocking commands (`XREADGROUP BLOCK`) or `SUBSCRIBE`.
   * Such a connection waits for Redis instead of failing fast: `maxRetriesPerRequest: null`
   * keeps a blocked read alive across a reconnect. Default: `false`.
   */
  blocking?: boolean;
  /** `CLIENT SETNAME`, so `CLIENT LIST` shows who holds which connection. Default: none. */
  connectionName?: string;
  /**
   * Queue commands while disconnected and send them after reconnecting. Default `true`: a
   * short Redis restart then delays requests instead of failing them; with
   * `maxRetriesPerRequest` at 3 a command still fails after about three reconnect attempts,
   * so an API request does not hang for ever on a dead Redis.
   */
  enableOfflineQueue?: boolean;
  /**
   * ioredis `commandTimeout`: a command without a reply after this many ms fails with
   * "Command timed out", so a frozen Redis (SIGSTOP, a stalled host: the connection stays
   * open and nothing answers) cannot hang a caller. Never set it on a `blocking` connection:
   * ioredis times out every command alike, and would cut `XREADGROUP BLOCK` (refused here).
   * Default: none.
   */
  commandTimeoutMs?: number;
  /**
   * Connection errors (Redis down, reconnecting). Default: ignored here — callers see failed
   * commands, and /readyz reports Redis — but always handled, since an 'error' event without
   * a listener makes ioredis print "Unhandled error event" for every reconnect attempt.
   */
  onError?: (err: Error) => void;
}

/**
 * Where Redis is: `redis://[user:password@]host:port[/db]`, or through Sentinel:
 * `redis-sentinel://[user:password@]host:port[,host:port…]/<master name>[/db]` (the sentinels'
 * addresses; the credentials and db are the master's). Config builds the latter from
 * REDIS_SENTINELS and REDIS_SENTINEL_NAME.
 */
export function redisTargetOptions(target: string): { url?: string; options: RedisOptions } {
  if (!target.startsWith('redis-sentinel://')) return { url: target, options: {} };
  const m = /^redis-sentinel:\/\/(?:([^@/]*)@)?([^/]+)\/([^/]+)(?:\/(\d+))?\/?$/.exec(target);
  if (!m)
    throw new Error(
      'a Sentinel target is redis-sentinel://[user:password@]host:port[,host:port…]/<master name>[/db]',
    );
  const [, auth, hosts, name, db] = m;
  const options: RedisOptions = {
    sentinels: hosts.split(',').map((h) => {
      const i = h.lastIndexOf(':');
      return i > 0
        ? { host: h.slice(0, i), port: Number(h.slice(i + 1)) }
        : { host: h, port: 26379 };
    }),
    name: decodeURIComponent(name),
  };
  if (auth) {
    const j = auth.indexOf(':');
    if (j >= 0) {
      if (j > 0) options.username = decodeURIComponent(auth.slice(0, j));
      options.password = decodeURIComponent(auth.slice(j + 1));
    } else options.username = decodeURIComponent(auth);
  }
  if (db) options.db = Number(db);
  return { options };
}

/**
 * The seed nodes of a Redis Cluster target `redis-cluster://[user:password@]host:port[,host:port…]`
 * (config builds it from REDIS_CLUSTER_NODES), or null for any other target.
 */
export function redisClusterTarget(
  target: string,
): { nodes: { host: string; port: number }[]; username?: string; password?: string } | null {
  if (!target.startsWith('redis-cluster://')) return null;
  const m = /^redis-cluster:\/\/(?:([^@/]*)@)?([^/]+)\/?$/.exec(target);
  if (!m)
    throw new Error(
      'a Redis Cluster target is redis-cluster://[user:password@]host:port[,host:port…]',
    );
  const out: { nodes: { host: string; port: number }[]; username?: string; password?: string } = {
    nodes: m[2].split(',').map((h) => {
      const i = h.lastIndexOf(':');
      return { host: h.slice(0, i), port: Number(h.slice(i + 1)) };
    }),
  };
  const auth = m[1];
  if (auth) {
    const j = auth.indexOf(':');
    if (j >= 0) {
      if (j > 0) out.username = decodeURIComponent(auth.slice(0, j));
      out.password = decodeURIComponent(auth.slice(j + 1));
    } else out.username = decodeURIComponent(auth);
  }
  return out;
}

/**
 * An ioredis client for a target (redis://, redis-sentinel:// or redis-cluster://) with
 * `options` on top. A Cluster client is returned as `Redis`: it serves the same commands,
 * routed by key slot. Every key one command or script touches together shares a slot:
 * single-key commands and scripts everywhere, and multi-key deletes are split per key
 * (redis-kv-store.ts).
 */
export function newRedisClient(target: string, options: RedisOptions): Redis {
  const cluster = redisClusterTarget(target);
  if (cluster) {
    const { keyPrefix, ...redisOptions } = options;
    const c = new Cluster(cluster.nodes, {
      keyPrefix,
      redisOptions: { ...redisOptions, username: cluster.username, password: cluster.password },
      // Commands wait for the slot map after a (re)connect instead of failing at once.
      enableOfflineQueue: options.enableOfflineQueue ?? true,
      clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
    });
    return c as unknown as Redis;
  }
  const t = redisTargetOptions(target);
  return t.url
    ? new Redis(t.url, { ...t.options, ...options })
    : new Redis({ ...t.options, ...options });
}

/**
 * An ioredis client for `url` (a {@link redisTargetOptions} target), connecting at once.
 *
 * Defaults and why: `lazyConnect: false` so a bad URL shows up at start, not at the first
 * event; `maxRetriesPerRequest: 3` (or `null` when `blocking`) so ordinary commands fail
 * after a few reconnects rather than piling up; reconnect backoff capped at 2 s.
 */
export function createRedis(url: string, opts: CreateRedisOptions = {}): Redis {
  const options: RedisOptions = {
    lazyConnect: false,
    maxRetriesPerRequest: opts.blocking ? null : 3,
    enableOfflineQueue: opts.enableOfflineQueue ?? true,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
    connectionName: opts.connectionName,
    // Commands issued in the same tick leave in one write (a syscall per command was most of
    // the stream consumer's CPU: its per-entry XACKs). Order on the connection is unchanged.
    enableAutoPipelining: !opts.blocking,
  };
  if (opts.keyPrefix) options.keyPrefix = opts.keyPrefix;
  if (opts.commandTimeoutMs !== undefined) {
    if (opts.blocking)
      throw new Error(
        'pubsub: a blocking connection cannot have a command timeout (it would cut blocking reads)',
      );
    options.commandTimeout = opts.commandTimeoutMs;
  }
  const client = newRedisClient(url, options);
  client.on('error', opts.onError ?? (() => undefined));
  return client;
}

/**
 * Throws when `client` was created with an ioredis `keyPrefix`: the messaging classes
 * prefix keys themselves (ioredis would prefix them again, and never prefixes channels).
 */
export function assertNoClientPrefix(client: Redis): void {
  if (
    client.options?.keyPrefix ||
    (client as unknown as { options?: { keyPrefix?: string } }).options?.keyPrefix
  ) {
    throw new Error(
      'pubsub: pass a Redis client without keyPrefix; give the prefix to the messaging class instead',
    );
  }
}

/**
 * Closes `client` politely (QUIT, so replies in flight arrive), but never waits more than
 * `ms`: a QUIT queued on a connection that cannot reconnect (Redis down, a Sentinel master
 * gone) would otherwise wait for ever and hang the process's shutdown.
 */
export async function closeRedis(client: Redis | undefined, ms = 2000): Promise<void> {
  if (!client) return;
  let timer: NodeJS.Timeout | undefined;
  const quit = client.quit().then(
    () => true,
    () => false,
  );
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  const ok = await Promise.race([quit, timedOut]);
  clearTimeout(timer);
  if (!ok) client.disconnect();
}
