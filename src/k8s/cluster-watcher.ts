/**
 * One active watcher per cluster across Phantom replicas. Every replica runs informers for its
 * own cache (reads stay local and fresh); only the replica holding a cluster's lease
 * (`k8s-watcher:<cluster>`) publishes that cluster's changes to the `k8s-events` partitioned
 * stream, keyed by object uid so each object's events are consumed in order. When the holder
 * dies its lease expires and another replica takes over, publishing a snapshot of its cache
 * first so consumers converge on whatever changed in between. See docs/adr/0006-k8s-runtime.md.
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
  /** Default: logs to stderr. */
  onError?: (err: unknown) => void;
}

export const watcherLeaseName = (cluster: string): string => `k8s-watcher:${cluster}`;

export class ClusterWatchers {
  private readonly leading = new Set<string>();
  private readonly handles: LeaderHandle[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
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
    });
    const ttl = this.opts.leaseTtlMs ?? 5000;
    for (const cluster of this.runtime.clusterNames()) {
      this.handles.push(this.leases.runWhileLeader(
        watcherLeaseName(cluster),
        ttl,
        async () => {
          this.leading.add(cluster);
          // Whatever changed while nobody published: state-carrying events, deduped by id downstream.
          for (const e of this.runtime.snapshot(cluster)) this.publish(e);
        },
        () => {
          this.leading.delete(cluster);
        },
        { holder: this.opts.holder, onError: this.onError },
      ));
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
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Stops publishing and releases the leases, so another replica takes over at once. */
  async stop(): Promise<void> {
    this.off?.();
    await Promise.all(this.handles.map((h) => h.stop()));
    this.handles.length = 0;
    this.leading.clear();
    await Promise.all([...this.inFlight]);
  }
}
