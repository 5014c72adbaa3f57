import type { Redis } from 'ioredis';
import { closeRedis, newRedisClient } from '../pubsub/redis-connection.js';
import { KvUnavailableError, type KvStore } from './kv-store.js';

/** Options for {@link RedisKvStore}. */
export interface RedisKvStoreOptions {
  /** Key namespace (default `phantom:`), so several deployments or test runs can share one Redis. */
  prefix?: string;
  /**
   * A command without a reply after this many ms fails with {@link KvUnavailableError}
   * (default 1000). Without it a frozen Redis (SIGSTOP, a stalled host: the TCP connection
   * stays open, nothing answers) hangs every request that reads the cache or a session.
   */
  commandTimeoutMs?: number;
}

/** {@link KvStore} on Redis, shared by all replicas. Every failure surfaces as {@link KvUnavailableError}. */
export class RedisKvStore implements KvStore {
  private readonly redis: Redis;

  /** @param url redis://… or redis-sentinel://… (see redisTargetOptions) */
  constructor(url: string, opts: RedisKvStoreOptions = {}) {
    // A cache must fail fast rather than wait for Redis: one reconnect attempt per command,
    // and a command timeout for the case a reconnect never notices (a frozen server). Only
    // non-blocking commands run here, so the timeout cuts nothing legitimate.
    this.redis = newRedisClient(url, {
      keyPrefix: opts.prefix ?? 'phantom:',
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      commandTimeout: opts.commandTimeoutMs ?? 1000,
    });
    this.redis.on('error', () => {
      /* reported through ping() and per-call errors; an unhandled 'error' would crash */
    });
  }

  get(key: string): Promise<string | null> {
    return this.call('get', () => this.redis.get(key));
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.call('set', () => this.redis.set(key, value, 'EX', ttlSeconds));
  }

  incr(key: string, ttlSeconds: number): Promise<number> {
    return this.call('incr', async () => {
      // INCR then EXPIRE NX in one round trip: the window starts at the first increment.
      const res = await this.redis.multi().incr(key).expire(key, ttlSeconds, 'NX').exec();
      const [err, value] = res?.[0] ?? [new Error('no reply'), 0];
      if (err) throw err;
      return Number(value);
    });
  }

  async del(...keys: string[]): Promise<void> {
    if (!keys.length) return;
    // One DEL per key: on Redis Cluster the keys may live in different slots (a multi-key DEL
    // across slots is refused with CROSSSLOT); ioredis sends them in one round trip anyway.
    await this.call('del', () => Promise.all(keys.map((k) => this.redis.del(k))));
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await closeRedis(this.redis);
  }

  private async call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new KvUnavailableError(op, e);
    }
  }
}
