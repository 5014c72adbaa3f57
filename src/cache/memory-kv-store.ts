import type { KvStore } from './kv-store.js';
import { every } from '../engine/timers.js';

/** In-process {@link KvStore} for the embedded mode. Expired keys are dropped when read or swept. */
export class MemoryKvStore implements KvStore {
  private readonly data = new Map<string, { value: string; expiresAt: number }>();
  private readonly stopSweeper: () => void;

  constructor(sweepEveryMs = 60_000) {
    this.stopSweeper = every(sweepEveryMs, () => this.sweep());
  }

  async get(key: string): Promise<string | null> {
    const e = this.data.get(key);
    if (!e) return null;
    if (e.expiresAt <= Date.now()) {
      this.data.delete(key);
      return null;
    }
    return e.value;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.data.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
  }

  async incr(key: string, ttlSeconds: number): Promise<number> {
    const current = await this.get(key);
    const next = (current ? Number(current) : 0) + 1;
    const e = this.data.get(key);
    this.data.set(key, {
      value: String(next),
      expiresAt: e && current ? e.expiresAt : Date.now() + ttlSeconds * 1000,
    });
    return next;
  }

  async del(...keys: string[]): Promise<void> {
    for (const k of keys) this.data.delete(k);
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.stopSweeper();
    this.data.clear();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, e] of this.data) if (e.expiresAt <= now) this.data.delete(k);
  }
}
