import type { KvStore } from './kv-store.js';
import { every } from '../engine/timers.js';

/** In-process {@link KvStore} for the embedded mode. Expired keys are dropped when read or swept. */
export class MemoryKvStore implements KvStore {
  private readonly data = new Map<string, { value: string; expiresAt: number }>();
  private readonly stopSweeper: () => void;

  constructor(sweepEveryMs = 60_000) {
    this.stopSweeper = every(sweepEveryMs, () => this.sweep());
  }

  get(key: string): Promise<string | null> {
    return Promise.resolve(this.live(key));
  }

  set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.data.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
    return Promise.resolve();
  }

  incr(key: string, ttlSeconds: number): Promise<number> {
    const current = this.live(key);
    const next = (current ? Number(current) : 0) + 1;
    const e = this.data.get(key);
    this.data.set(key, {
      value: String(next),
      expiresAt: e && current ? e.expiresAt : Date.now() + ttlSeconds * 1000,
    });
    return Promise.resolve(next);
  }

  del(...keys: string[]): Promise<void> {
    for (const k of keys) this.data.delete(k);
    return Promise.resolve();
  }

  ping(): Promise<boolean> {
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    this.stopSweeper();
    this.data.clear();
    return Promise.resolve();
  }

  /** The value of `key`, or null when absent or expired (an expired one is dropped). */
  private live(key: string): string | null {
    const e = this.data.get(key);
    if (!e) return null;
    if (e.expiresAt <= Date.now()) {
      this.data.delete(key);
      return null;
    }
    return e.value;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, e] of this.data) if (e.expiresAt <= now) this.data.delete(k);
  }
}
