import {
  type LeaderHandle,
  type LeaderOptions,
  type LeaseManager,
  runWhileLeader,
} from './lease.js';

/** Embedded-mode leases: a map with expiry times; same semantics as {@link RedisLeaseManager}. */
export class InProcessLeaseManager implements LeaseManager {
  private readonly leases = new Map<string, { holder: string; expiresAt: number }>();

  acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const cur = this.live(name);
    if (cur && cur.holder !== holder) return Promise.resolve(false);
    this.leases.set(name, { holder, expiresAt: Date.now() + ttlMs });
    return Promise.resolve(true);
  }

  renew(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const cur = this.live(name);
    if (!cur || cur.holder !== holder) return Promise.resolve(false);
    cur.expiresAt = Date.now() + ttlMs;
    return Promise.resolve(true);
  }

  release(name: string, holder: string): Promise<boolean> {
    const cur = this.live(name);
    if (!cur || cur.holder !== holder) return Promise.resolve(false);
    this.leases.delete(name);
    return Promise.resolve(true);
  }

  holderOf(name: string): Promise<string | null> {
    return Promise.resolve(this.live(name)?.holder ?? null);
  }

  runWhileLeader(
    name: string,
    ttlMs: number,
    onAcquire: () => void | Promise<void>,
    onLose: () => void | Promise<void>,
    opts?: LeaderOptions,
  ): LeaderHandle {
    return runWhileLeader(this, name, ttlMs, onAcquire, onLose, opts);
  }

  private live(name: string): { holder: string; expiresAt: number } | undefined {
    const cur = this.leases.get(name);
    if (cur && cur.expiresAt <= Date.now()) {
      this.leases.delete(name);
      return undefined;
    }
    return cur;
  }
}
