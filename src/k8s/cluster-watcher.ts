/**
 * One active watcher per cluster across Phantom replicas. Every replica runs informers for its
 * own cache (reads stay local and fresh); only the replica holding a cluster's lease
 * (`k8s-watcher:<cluster>`) publishes that cluster's changes to the `k8s-events` partitioned
 * stream, keyed by object uid so each object's events are consumed in order. When the holder
 * dies its lease expires and another replica takes over, publishing a snapshot of its cache
 * first so consumers converge on whatever changed in between: the objects it caches, and the
 * deletions its own informers saw while it was not leading (a snapshot cannot carry those).
 * A leader that stops releases its lease only after its appends to that cluster have landed,
 * so after a voluntary handover the next leader's snapshot never lands before the old
 * leader's last changes. That ordering holds only for a voluntary stop: when the lease is
 * lost involuntarily (it expired during a Redis outage or a stalled event loop, so a renewal
 * failed) another replica may already hold it, and the old leader's in-flight appends (and
 * any it issued between the expiry and the failed renewal) can land after the new leader's
 * snapshot. `onLose` still drains them, but that no longer orders anything; appends are not
 * tagged with a lease generation, so consumers cannot tell them apart.
 * See docs/adr/0007-k8s-runtime.md.
 */
import type { LeaderHandle, LeaseManager, PartitionedStream } from '../pubsub/index.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import type { KubeObjectEvent } from './types.js';

/** Options for {@link ClusterWatchers}. */
export interface ClusterWatchersOptions {
  /** This replica's holder id (unique per process). */
  holder: string;
  /** Watcher lease TTL: how long a dead replica's clusters go unpublished. Default: 5000 ms. */
  leaseTtlMs?: number;
  /**
   * How long a deletion seen while not leading is kept for a takeover to publish. Must exceed
   * the lease TTL plus a renewal interval (the longest nobody publishes). Default: 300 000 ms.
   */
  tombstoneTtlMs?: number;
  /** At most this many such deletions are kept per cluster (oldest dropped). Default: 10 000. */
  maxTombstones?: number;
  /** Default: logs to stderr. */
  onError?: (err: unknown) => void;
}

export const watcherLeaseName = (cluster: string): string => `k8s-watcher:${cluster}`;

export class ClusterWatchers {
  private readonly leading = new Set<string>();
  private readonly handles: LeaderHandle[] = [];
  /** Appends not yet acknowledged, per cluster. */
  private readonly inFlight = new Map<string, Set<Promise<unknown>>>();
  /** DELETED events seen while not leading, per cluster, by uid (insertion order = age). */
  private readonly tombstones = new Map<string, Map<string, { e: KubeObjectEvent; at: number }>>();
  private off: (() => void) | undefined;
  private readonly onError: (err: unknown) => void;

  constructor(
    private readonly runtime: ClusterRuntime,
    private readonly leases: LeaseManager,
    private readonly stream: PartitionedStream,
    private readonly opts: ClusterWatchersOptions,
  ) {
    this.onError = opts.onError ?? ((err) => console.error('[k8s] watcher:', err));
  }

  start(): this {
    this.off = this.runtime.onObjectEvent((e) => {
      if (this.leading.has(e.cluster)) this.publish(e);
      else if (e.type === 'DELETED') this.remember(e);
    });
    const ttl = this.opts.leaseTtlMs ?? 5000;
    for (const cluster of this.runtime.clusterNames()) {
      this.handles.push(
        this.leases.runWhileLeader(
          watcherLeaseName(cluster),
          ttl,
          () => {
            this.leading.add(cluster);
            // Whatever changed while nobody published: state-carrying events, deduped by id downstream.
            for (const e of this.runtime.snapshot(cluster)) this.publish(e);
            // Deletions cannot be in a snapshot: publish the ones this replica saw meanwhile.
            for (const e of this.takeTombstones(cluster)) this.publish({ ...e, resync: true });
          },
          async () => {
            this.leading.delete(cluster);
            // Let our last appends land before the lease goes: stop() releases it after this. On an
            // involuntary loss the lease is already gone, so this orders nothing (see above).
            await this.drain(cluster);
          },
          { holder: this.opts.holder, onError: this.onError },
        ),
      );
    }
    return this;
  }

  /** Clusters this replica publishes now. */
  leadingClusters(): string[] {
    return [...this.leading].sort();
  }

  private publish(e: KubeObjectEvent): void {
    // Appends are issued in order on one connection, so per-object order holds without awaiting each.
    const p = this.stream.append(e.uid, e, { id: e.id }).catch(this.onError);
    let set = this.inFlight.get(e.cluster);
    if (!set) this.inFlight.set(e.cluster, (set = new Set()));
    set.add(p);
    void p.finally(() => set.delete(p));
  }

  /** Resolves when every append issued so far for `cluster` has settled. */
  private async drain(cluster: string): Promise<void> {
    const set = this.inFlight.get(cluster);
    while (set?.size) await Promise.all([...set]);
  }

  private remember(e: KubeObjectEvent): void {
    let m = this.tombstones.get(e.cluster);
    if (!m)
      this.tombstones.set(e.cluster, (m = new Map<string, { e: KubeObjectEvent; at: number }>()));
    m.delete(e.uid);
    m.set(e.uid, { e, at: Date.now() });
    const max = this.opts.maxTombstones ?? 10_000;
    const oldest = Date.now() - (this.opts.tombstoneTtlMs ?? 300_000);
    for (const [uid, t] of m) {
      if (m.size <= max && t.at >= oldest) break;
      m.delete(uid);
    }
  }

  private takeTombstones(cluster: string): KubeObjectEvent[] {
    const m = this.tombstones.get(cluster);
    this.tombstones.delete(cluster);
    const oldest = Date.now() - (this.opts.tombstoneTtlMs ?? 300_000);
    return [...(m?.values() ?? [])].filter((t) => t.at >= oldest).map((t) => t.e);
  }

  /**
   * Stops publishing and releases the leases, so another replica takes over at once. Each
   * lease is released only after this replica's appends to that cluster have landed.
   */
  async stop(): Promise<void> {
    this.off?.();
    await Promise.all(this.handles.map((h) => h.stop()));
    this.handles.length = 0;
    this.leading.clear();
    await Promise.all([...this.inFlight.keys()].map((c) => this.drain(c)));
  }
}
