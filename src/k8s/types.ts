/**
 * Phantom's view of Kubernetes: the types the runtime takes and returns. Nothing here is a
 * Kubernetes object; callers never see client-node types.
 */
import type { ContainerSpec } from '../domain/apps/app-spec.js';

/** Where an environment runs: one namespace on one cluster. */
export interface WorkloadTarget {
  cluster: string;
  namespace: string;
}

/** Which workload: an app in an environment (its Deployment carries both as labels). */
export interface WorkloadRef {
  app: string;
  env: string;
  /**
   * Which of the app's Deployments: the main one (default), or the canary
   * (`<app>-canary`, labelled `phantom.io/track=canary`, no Service or HPA of its own) that a
   * CANARY release runs beside it.
   */
  variant?: WorkloadVariant;
}

export type WorkloadVariant = 'main' | 'canary';

/** How a Deployment replaces its pods: `RollingUpdate` (default) or `Recreate`. */
export type DeploymentStrategy = 'RollingUpdate' | 'Recreate';

/** What {@link ClusterRuntime.applyWorkload} makes a cluster run. */
export interface WorkloadSpec extends WorkloadRef {
  /** Container image, given by the caller (the release engine, or `deployApp`). */
  image: string;
  container: ContainerSpec;
  /** Recorded as the `phantom.io/release-id` annotation. Default: none. */
  releaseId?: string | null;
  /** The Deployment's strategy. Default: `RollingUpdate` (with Kubernetes' 25 % surge/unavailable). */
  strategy?: DeploymentStrategy;
  /** `spec.progressDeadlineSeconds`. Default: Kubernetes' 600. */
  progressDeadlineSeconds?: number;
  /** Replica count instead of the container spec's (the canary's pod count). Default: the spec's. */
  replicas?: number;
}

export type WorkloadStatus = 'PROGRESSING' | 'AVAILABLE' | 'DEGRADED' | 'MISSING';

export interface WorkloadCondition {
  type: string;
  status: string;
  reason: string | null;
  message: string | null;
  lastTransitionTime: string | null;
}

export interface PodState {
  name: string;
  /** Pending, Running, Succeeded, Failed, Unknown. */
  phase: string;
  /** What `kubectl get pods` prints as STATUS (Running, ContainerCreating, CrashLoopBackOff, Terminating, …). */
  status: string;
  ready: boolean;
  restarts: number;
  nodeName: string | null;
  startedAt: string | null;
  image: string | null;
  /** Why the pod is not running, when it is not (waiting or termination reason). */
  reason: string | null;
}

export interface HpaState {
  minReplicas: number;
  maxReplicas: number;
  currentReplicas: number;
  desiredReplicas: number;
  /** Target average CPU utilization in percent, when set. */
  targetCpuUtilization: number | null;
}

/** A Kubernetes Event about the workload or one of its ReplicaSets/pods/HPA. */
export interface KubeEventState {
  type: string;
  reason: string;
  message: string;
  /** `Kind/name` of the object the event is about. */
  object: string;
  count: number;
  lastSeen: string | null;
}

/** One target's part of a workload. `error` set means that part could not be read or changed. */
export interface WorkloadState extends WorkloadTarget {
  /** Deployment name (the app name). */
  name: string;
  image: string | null;
  revision: number | null;
  releaseId: string | null;
  replicas: number;
  readyReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  status: WorkloadStatus;
  conditions: WorkloadCondition[];
  pods: PodState[];
  hpa: HpaState | null;
  /** Newest last, at most {@link MAX_EVENTS_PER_WORKLOAD}. */
  events: KubeEventState[];
  error: string | null;
  /**
   * Why `error` is set, as a code: the operation's failure (e.g. CONFLICT when an object of the
   * app's name belongs to someone else), or UNAVAILABLE when the cluster could not be read.
   * Null when `error` is.
   */
  code: TargetErrorCode | null;
}

export const MAX_EVENTS_PER_WORKLOAD = 100;

export interface ClusterInfo {
  name: string;
  healthy: boolean;
  /** Server version (`v1.33.0`), when reachable. */
  version: string | null;
  error: string | null;
}

/**
 * Why a target failed: NOT_FOUND (no such workload, pod or revision, or not the app's),
 * CONFLICT (an object in the way, e.g. a Deployment with another selector), UNAVAILABLE (the
 * cluster could not be reached or refused the request).
 */
export type TargetErrorCode = 'NOT_FOUND' | 'CONFLICT' | 'UNAVAILABLE';

/** Result of an operation on one target that returns no workload. */
export interface TargetResult extends WorkloadTarget {
  ok: boolean;
  error: string | null;
  /** Set when `ok` is false. */
  code: TargetErrorCode | null;
}

/** Result of {@link ClusterRuntime.removeWorkload} on one target. */
export interface RemoveResult extends TargetResult {
  /** Whether this call deleted at least one of the app's objects there (false: nothing was there, or it failed). */
  removed: boolean;
}

/** Where an app's objects are, as the informer caches see them (see {@link ClusterRuntime.placements}). */
export interface AppPlacements {
  /** One entry per cluster/namespace holding a Deployment or HPA with the app's label; `env` from its env label. */
  found: { cluster: string; namespace: string; env: string | null }[];
  /** Clusters whose cache is not synced and healthy: what they hold is not known. */
  unknown: { cluster: string; error: string }[];
}

/** Kinds the watchers follow and publish. */
export type WatchedKind = 'Deployment' | 'Pod' | 'HorizontalPodAutoscaler' | 'Event';

/** Kinds the informer cache holds: the watched ones, plus ReplicaSets (cache only, to attribute their events). */
export type CachedKind = WatchedKind | 'ReplicaSet';

/**
 * A normalized change of a watched object, as appended to the `k8s-events` partitioned
 * stream (key = `uid`) and fanned out to subscribers. JSON only.
 */
export interface KubeObjectEvent {
  /** `cluster/uid/resourceVersion` (+`/deleted`): the same change has the same id on every replica. */
  id: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  kind: WatchedKind;
  cluster: string;
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  /** From the `phantom.io/app` / `phantom.io/env` labels (null on Events and foreign objects). */
  app: string | null;
  env: string | null;
  /** For pods: the pod as Phantom shows it. */
  pod?: PodState;
  /** For Events: the event. */
  event?: KubeEventState;
  /** When this process saw the change (ISO). */
  observedAt: string;
  /** Part of a snapshot published when a replica takes over a cluster's watcher lease. */
  resync?: boolean;
}

/** What `Subscription.podEvents` delivers (bus topic `podEvents`, key `app:env`). */
export interface PodEventMessage {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  cluster: string;
  namespace: string;
  app: string;
  env: string;
  pod: PodState;
  observedAt: string;
}

/** A container that runs to completion (a build) for {@link import('./cluster-runtime.js').ClusterRuntime.runJob}. */
export interface JobSpec {
  /** The Job's name (DNS-1123 label, at most 63 characters). */
  name: string;
  image: string;
  /** The container's command (e.g. `['sh', '-c', script]`). */
  command: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  /** `activeDeadlineSeconds`: the cluster stops the Job past it. */
  deadlineSeconds: number;
}

/** How a Job ended: `succeeded`, or why not; its pods' logs. */
export interface JobOutcome extends TargetResult {
  succeeded: boolean;
  message: string;
  logs: string[];
}
