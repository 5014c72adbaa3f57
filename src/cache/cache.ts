import type { KvStore } from './kv-store.js';

/**
 * Cache-aside over a {@link KvStore}. Reads fall through to the loader on a miss or on a
 * cache error or timeout (the database stays the source of truth; the cache is optional on
 * the read path, so a Redis outage slows reads down but does not fail them); writers call {@link Cache.invalidate}
 * after their transaction commits, so the next read sees the change.
 */
export class Cache {
  hits = 0;
  misses = 0;
  /** Reads that failed (Redis unreachable or timed out) and went to the loader. */
  errors = 0;

  /**
   * @param lateInvalidateMs a second delete this long after each invalidation (default 1000):
   *   a reader that loaded the old row just before the commit and writes it into the cache
   *   just after the first delete would otherwise keep stale data (stale roles!) for the TTL.
   */
  constructor(
    private readonly kv: KvStore,
    private readonly ttlSeconds: number,
    private readonly lateInvalidateMs = 1000,
  ) {}

  async getOrLoad<T>(
    key: string,
    load: () => Promise<T | null>,
    /** Rebuilds a value from its JSON (Dates, say). Default: the JSON as it is. */
    revive: (raw: unknown) => T = (r) => r as T,
  ): Promise<T | null> {
    let raw: string | null = null;
    let reachable = true;
    try {
      raw = await this.kv.get(`cache:${key}`);
    } catch {
      // Redis down, frozen (the KV store's command timeout) or erroring: the database answers.
      reachable = false;
      this.errors++;
    }
    if (raw !== null) {
      this.hits++;
      return raw === 'null' ? null : revive(JSON.parse(raw));
    }
    this.misses++;
    const value = await load();
    // Negative results are not cached: a create right after must be visible at once. Nor is
    // anything written after a failed read: that write would only wait for the same timeout.
    if (value !== null && reachable) {
      await this.kv
        .set(`cache:${key}`, JSON.stringify(value), this.ttlSeconds)
        .catch(() => undefined);
    }
    return value;
  }

  async invalidate(...keys: string[]): Promise<void> {
    if (!keys.length) return;
    const full = keys.map((k) => `cache:${k}`);
    await this.kv.del(...full).catch(() => undefined);
    if (this.lateInvalidateMs > 0) {
      const again = setTimeout(
        () => void this.kv.del(...full).catch(() => undefined),
        this.lateInvalidateMs,
      );
      again.unref();
    }
  }
}
