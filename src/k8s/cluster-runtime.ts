/**
 * The runtime seam: one call per business operation, Phantom's types in and out, over every
 * cluster an environment targets. A target that fails (cluster down, refused, unknown) is
 * data in the answer (`error` on its part), never a failure of the whole call.
 */
import type {
  AppPlacements,
  ClusterInfo,
  JobOutcome,
  JobSpec,
  KubeObjectEvent,
  PodState,
  RemoveResult,
  TargetResult,
  WorkloadRef,
  WorkloadSpec,
  WorkloadState,
  WorkloadTarget,
} from './types.js';
import type { InformerStats } from './informer-cache.js';

export interface ClusterRuntime {
  /** Names of the clusters this runtime knows (kubeconfig contexts or embedded sims). */
  clusterNames(): string[];
  /** Health and version of every cluster (asks each API server, with a short timeout). */
  clusters(): Promise<ClusterInfo[]>;
  /**
   * Creates or updates the app's Deployment, Service and (when the spec has one) HPA in each
   * target, creating the namespace if missing. Returns each target's workload once the
   * cache has seen the write.
   */
  applyWorkload(targets: WorkloadTarget[], spec: WorkloadSpec): Promise<WorkloadState[]>;
  /**
   * The workload in each target, read from the informer cache (no API-server request).
   * `events: false` leaves out its Kubernetes Events (a scan of the namespace's Events): what
   * the release engine's verification reads on every watch event.
   */
  workloads(
    targets: WorkloadTarget[],
    ref: WorkloadRef,
    opts?: { events?: boolean },
  ): Promise<WorkloadState[]>;
  /** The workload's pods in one target, from the cache. */
  pods(target: WorkloadTarget, ref: WorkloadRef): Promise<PodState[]>;
  /** Sets the replica count in each target. */
  scale(targets: WorkloadTarget[], ref: WorkloadRef, replicas: number): Promise<WorkloadState[]>;
  /** Rollout restart (template annotation `kubectl.kubernetes.io/restartedAt`) in each target. */
  restart(targets: WorkloadTarget[], ref: WorkloadRef, at?: Date): Promise<WorkloadState[]>;
  /**
   * Deletes one pod of the workload. Refuses (error) a pod that is not the workload's, so a
   * caller allowed on one app cannot delete another app's pods in a shared namespace.
   */
  deletePod(target: WorkloadTarget, ref: WorkloadRef, pod: string): Promise<TargetResult>;
  /** Rolls back to `revision` (default: the previous one), like `kubectl rollout undo`. */
  rollback(
    targets: WorkloadTarget[],
    ref: WorkloadRef,
    revision?: number,
  ): Promise<WorkloadState[]>;
  /**
   * Deletes the Deployment, Service and HPA in each target (absent ones count as removed;
   * `removed` says whether anything was deleted). Answers once the cache no longer shows the
   * Deployment (bounded wait).
   */
  removeWorkload(targets: WorkloadTarget[], ref: WorkloadRef): Promise<RemoveResult[]>;
  /**
   * Where `app` has objects on any cluster, in any namespace or env, from the informer caches
   * (no API-server request), and which clusters cannot tell.
   */
  placements(app: string): AppPlacements;
  /**
   * Calls `listener` for every change this process's informers see (all replicas see all
   * changes; publishing to the stream is the watcher's job). Returns the unsubscribe function.
   */
  onObjectEvent(listener: (e: KubeObjectEvent) => void): () => void;
  /** Every object currently cached for `cluster`, as events (for a resync snapshot). */
  snapshot(cluster: string): KubeObjectEvent[];
  /** Every informer's state, per cluster and kind (metrics: synced, restarts, relists). */
  informerStats(): InformerStats[];
  /** Resolves when every cluster's cache has listed once (or failed to), or after `timeoutMs`. */
  whenSynced(timeoutMs?: number): Promise<void>;
  /**
   * Runs `spec` as a batch/v1 Job in `target` (namespace created if missing) until it
   * completes or fails, `opts.signal` aborts, or `opts.deadline` (epoch ms) passes; then reads
   * its pods' logs and deletes the Job with its pods. `onEvent` hears what happens (Job
   * created, pod phases). A cluster failure is the outcome's `error`, never a throw.
   */
  runJob(
    target: WorkloadTarget,
    spec: JobSpec,
    opts: {
      signal: AbortSignal;
      deadline: number;
      onEvent?: (message: string) => void;
      pollMs?: number;
    },
  ): Promise<JobOutcome>;
  /** Stops informers. */
  close(): Promise<void>;
}
