import { Redis } from 'ioredis';
import type { KvStore } from './kv-store.js';

/** {@link KvStore} on Redis, shared by all replicas. Keys are namespaced by `prefix`. */
export class RedisKvStore implements KvStore {
  private readonly redis: Redis;

  /**
   * @param url redis://…
   * @param prefix key namespace (default `phantom:`), so several deployments or test runs can share one Redis
   */
  constructor(url: string, prefix = 'phantom:') {
    // A cache must fail fast rather than queue commands while Redis is away.
    this.redis = new Redis(url, { keyPrefix: prefix, maxRetriesPerRequest: 1, enableOfflineQueue: true });
    this.redis.on('error', () => {
      /* reported through ping() and per-call errors; an unhandled 'error' would crash */
    });
  }

  get(key: string): Promise<string | null> {
    return this.redis.get(key);
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(key, value, 'EX', ttlSeconds);
  }

  async incr(key: string, ttlSeconds: number): Promise<number> {
    // INCR then EXPIRE NX in one round trip: the window starts at the first increment.
    const res = await this.redis.multi().incr(key).expire(key, ttlSeconds, 'NX').exec();
    const [err, value] = res?.[0] ?? [new Error('no reply'), 0];
    if (err) throw err;
    return Number(value);
  }

  async del(...keys: string[]): Promise<void> {
    if (keys.length) await this.redis.del(...keys);
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
