/**
 * Who is alive in a consumer group, so partitions can be split evenly. Members heartbeat
 * with a TTL; one that stops heartbeating drops out when the TTL passes.
 */
export interface Membership {
  /** Marks `member` live for `ttlMs`; returns how many members of `group` are live (itself included). */
  heartbeat(group: string, member: string, ttlMs: number): Promise<number>;
  /** Removes `member` now, so the others rebalance without waiting for its TTL. */
  leave(group: string, member: string): Promise<void>;
}

/** Embedded-mode {@link Membership}. */
export class InProcessMembership implements Membership {
  private readonly groups = new Map<string, Map<string, number>>();

  heartbeat(group: string, member: string, ttlMs: number): Promise<number> {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = new Map<string, number>()));
    const now = Date.now();
    for (const [m, exp] of g) if (exp <= now) g.delete(m);
    g.set(member, now + ttlMs);
    return Promise.resolve(g.size);
  }

  leave(group: string, member: string): Promise<void> {
    this.groups.get(group)?.delete(member);
    return Promise.resolve();
  }
}
