/**
 * A small key-value store with TTLs: the cache-aside layer and the session store use it.
 * Redis when `REDIS_URL` is set (shared by every replica), in-process when embedded.
 */
export interface KvStore {
  get(key: string): Promise<string | null>;
  /** Sets `key`; `ttlSeconds` is required so nothing lives forever by accident. */
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
  /** Adds 1 to a counter and returns it; a new counter expires after `ttlSeconds`. */
  incr(key: string, ttlSeconds: number): Promise<number>;
  close(): Promise<void>;
  /** Reachability for /readyz. */
  ping(): Promise<boolean>;
}

/**
 * A KV call failed because the store is unreachable, frozen or timed out (Redis down). Callers
 * that can do without the store (the cache) fall back; those that cannot (sessions) answer
 * UNAVAILABLE rather than INTERNAL_SERVER_ERROR.
 */
export class KvUnavailableError extends Error {
  constructor(op: string, cause: unknown) {
    super(
      `KV store unavailable (${op}): ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'KvUnavailableError';
  }
}
