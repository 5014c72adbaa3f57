/**
 * Kubernetes objects → Phantom's types. Pure functions over client-node's object types, which
 * are looser at run time than they say: informer caches hold both list results (deserialized
 * by client-node: times are `Date`) and watch objects (raw JSON: times are strings), so every
 * time goes through {@link iso}, never a `Date` method.
 */
import type {
  CoreV1Event,
  EventsV1Event,
  KubernetesObject,
  V1ContainerStatus,
  V1Deployment,
  V1DeploymentCondition,
  V1DeploymentStatus,
  V1ObjectReference,
  V1Pod,
  V1PodStatus,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { APP_LABEL, ENV_LABEL, RELEASE_ANNOTATION, REVISION_ANNOTATION } from './manifests.js';
import {
  MAX_EVENTS_PER_WORKLOAD,
  type HpaState,
  type KubeEventState,
  type PodState,
  type TargetErrorCode,
  type WorkloadCondition,
  type WorkloadState,
  type WorkloadStatus,
  type WorkloadTarget,
} from './types.js';

/**
 * A Kubernetes Event as the informer caches it: a core/v1 Event (`involvedObject`, `message`,
 * `count`), read also in its events.k8s.io/v1 spelling (`regarding`, `note`, `deprecatedCount`).
 */
export type KubeEvent = Partial<CoreV1Event> & Partial<EventsV1Event>;

/** A Kubernetes time (Date, RFC 3339 string or absent) as an ISO string or null. */
export function iso(v: unknown): string | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (typeof v === 'string' && v) {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? v : d.toISOString();
  }
  return null;
}

/** Waiting reasons that mean the rollout will not finish by itself. */
const FAILING_REASONS = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'RunContainerError',
]);

/** The STATUS column of `kubectl get pods` (kubectl printers: `printPod`), minus init containers. */
export function podStatusText(pod: V1Pod): string {
  const status: V1PodStatus = pod.status ?? {};
  let reason = status.reason || status.phase || 'Unknown';
  let hasRunning = false;
  const cs: V1ContainerStatus[] = status.containerStatuses ?? [];
  for (let i = cs.length - 1; i >= 0; i--) {
    const c = cs[i];
    if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
    else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
    else if (c.state?.terminated)
      reason = c.state.terminated.signal
        ? `Signal:${c.state.terminated.signal}`
        : `ExitCode:${c.state.terminated.exitCode}`;
    else if (c.ready && c.state?.running) hasRunning = true;
  }
  if (reason === 'Completed' && hasRunning) reason = 'Running';
  if (pod.metadata?.deletionTimestamp && status.reason !== 'NodeLost') reason = 'Terminating';
  return reason;
}

export function podState(pod: V1Pod): PodState {
  const status: V1PodStatus = pod.status ?? {};
  const cs: V1ContainerStatus[] = status.containerStatuses ?? [];
  const first = cs.find((c) => c.state?.waiting?.reason || c.state?.terminated?.reason);
  const ready = (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  return {
    name: pod.metadata?.name ?? '',
    phase: status.phase ?? 'Unknown',
    status: podStatusText(pod),
    ready,
    restarts: cs.reduce((n, c) => n + (c.restartCount ?? 0), 0),
    nodeName: pod.spec?.nodeName ?? null,
    startedAt: iso(status.startTime),
    image: pod.spec?.containers?.[0]?.image ?? null,
    reason:
      first?.state?.waiting?.reason ?? first?.state?.terminated?.reason ?? status.reason ?? null,
  };
}

export function hpaState(hpa: V2HorizontalPodAutoscaler): HpaState {
  const cpu = (hpa.spec?.metrics ?? []).find(
    (m) => m.type === 'Resource' && m.resource?.name === 'cpu',
  );
  return {
    minReplicas: hpa.spec?.minReplicas ?? 1,
    maxReplicas: hpa.spec?.maxReplicas ?? 1,
    currentReplicas: hpa.status?.currentReplicas ?? 0,
    desiredReplicas: hpa.status?.desiredReplicas ?? 0,
    targetCpuUtilization: cpu?.resource?.target?.averageUtilization ?? null,
  };
}

export function eventState(e: KubeEvent): KubeEventState {
  const io: V1ObjectReference = e.involvedObject ?? e.regarding ?? {};
  return {
    type: e.type ?? 'Normal',
    reason: e.reason ?? '',
    message: e.message ?? e.note ?? '',
    object: `${io.kind ?? ''}/${io.name ?? ''}`,
    count: e.count ?? e.deprecatedCount ?? 1,
    lastSeen: iso(e.lastTimestamp) ?? iso(e.eventTime) ?? iso(e.metadata?.creationTimestamp),
  };
}

/** The uids of a workload's objects, by kind: what its events may be about. */
export interface WorkloadUids {
  deployment: { name: string; uid: string } | null;
  hpa: { name: string; uid: string } | null;
  replicaSets: Set<string>;
  pods: Set<string>;
}

/**
 * Whether a Kubernetes Event is about the workload: its Deployment or HPA (exact name and,
 * when the event carries one, uid), a ReplicaSet the Deployment controls, or one of its pods
 * (by uid). Not by name prefix: the events of app `shop-api` are no business of app `shop`.
 */
export function eventConcerns(e: KubeEvent, namespace: string, w: WorkloadUids): boolean {
  const io: V1ObjectReference = e.involvedObject ?? e.regarding ?? {};
  if ((io.namespace ?? e.metadata?.namespace) !== namespace) return false;
  const same = (o: { name: string; uid: string } | null): boolean =>
    !!o && io.name === o.name && (!io.uid || io.uid === o.uid);
  switch (io.kind) {
    case 'Deployment':
      return same(w.deployment);
    case 'HorizontalPodAutoscaler':
      return same(w.hpa);
    case 'ReplicaSet':
      return typeof io.uid === 'string' && w.replicaSets.has(io.uid);
    case 'Pod':
      return typeof io.uid === 'string' && w.pods.has(io.uid);
    default:
      return false;
  }
}

/** Whether `o` has a `controller: true` owner reference to `uid`. */
export function controlledBy(o: KubernetesObject, uid: string | undefined): boolean {
  return !!uid && (o.metadata?.ownerReferences ?? []).some((r) => r.controller && r.uid === uid);
}

/** Whether `labels` match `matchLabels` (the only selector form Phantom writes). */
export function matchesLabels(
  labels: Record<string, string> | undefined,
  matchLabels: Record<string, string> | undefined,
): boolean {
  if (!matchLabels || !Object.keys(matchLabels).length) return false;
  return Object.entries(matchLabels).every(([k, v]) => labels?.[k] === v);
}

export function workloadStatus(d: V1Deployment | undefined, pods: PodState[]): WorkloadStatus {
  if (!d) return 'MISSING';
  const spec = d.spec?.replicas ?? 1;
  const s: V1DeploymentStatus = d.status ?? {};
  const cond = (t: string): V1DeploymentCondition | undefined =>
    (s.conditions ?? []).find((c) => c.type === t);
  if (cond('Progressing')?.status === 'False') return 'DEGRADED';
  const updated = s.updatedReplicas ?? 0;
  // kubectl rollout status's "done" test (pkg/polymorphichelpers/rollout_status.go).
  const done =
    (d.metadata?.generation ?? 0) <= (s.observedGeneration ?? 0) &&
    updated === spec &&
    (s.replicas ?? 0) === updated &&
    (s.availableReplicas ?? 0) >= updated;
  if (done) return cond('Available')?.status === 'False' ? 'DEGRADED' : 'AVAILABLE';
  if (pods.some((p) => !p.ready && p.reason && FAILING_REASONS.has(p.reason))) return 'DEGRADED';
  return 'PROGRESSING';
}

/** A workload part with nothing in it: the Deployment does not exist (or could not be read: `error`). */
export function missingWorkload(
  target: WorkloadTarget,
  name: string,
  error: string | null = null,
  code: TargetErrorCode | null = error === null ? null : 'UNAVAILABLE',
): WorkloadState {
  return {
    cluster: target.cluster,
    namespace: target.namespace,
    name,
    image: null,
    revision: null,
    releaseId: null,
    replicas: 0,
    readyReplicas: 0,
    updatedReplicas: 0,
    availableReplicas: 0,
    status: 'MISSING',
    conditions: [],
    pods: [],
    hpa: null,
    events: [],
    error,
    code,
  };
}

export interface WorkloadObjects {
  deployment: V1Deployment | undefined;
  pods: V1Pod[];
  hpa: V2HorizontalPodAutoscaler | undefined;
  events: KubeEvent[];
}

export function workloadState(
  target: WorkloadTarget,
  name: string,
  o: WorkloadObjects,
  error: string | null = null,
  code: TargetErrorCode | null = error === null ? null : 'UNAVAILABLE',
): WorkloadState {
  const d = o.deployment;
  const pods = o.pods.map(podState).sort((a, b) => a.name.localeCompare(b.name));
  const events = o.events
    .map(eventState)
    .sort((a, b) => (a.lastSeen ?? '').localeCompare(b.lastSeen ?? ''))
    .slice(-MAX_EVENTS_PER_WORKLOAD);
  if (!d)
    return {
      ...missingWorkload(target, name, error, code),
      pods,
      events,
      hpa: o.hpa ? hpaState(o.hpa) : null,
    };
  const s: V1DeploymentStatus = d.status ?? {};
  const rev = Number(d.metadata?.annotations?.[REVISION_ANNOTATION]);
  return {
    cluster: target.cluster,
    namespace: target.namespace,
    name,
    image: d.spec?.template?.spec?.containers?.[0]?.image ?? null,
    revision: Number.isFinite(rev) && rev > 0 ? rev : null,
    releaseId: d.metadata?.annotations?.[RELEASE_ANNOTATION] ?? null,
    replicas: d.spec?.replicas ?? 1,
    readyReplicas: s.readyReplicas ?? 0,
    updatedReplicas: s.updatedReplicas ?? 0,
    availableReplicas: s.availableReplicas ?? 0,
    status: workloadStatus(d, pods),
    conditions: (s.conditions ?? []).map((c): WorkloadCondition => ({
      type: c.type,
      status: c.status,
      reason: c.reason ?? null,
      message: c.message ?? null,
      lastTransitionTime: iso(c.lastTransitionTime),
    })),
    pods,
    hpa: o.hpa ? hpaState(o.hpa) : null,
    events,
    error,
    code,
  };
}

export function appLabelsOf(obj: KubernetesObject): { app: string | null; env: string | null } {
  const l: Record<string, string> = obj.metadata?.labels ?? {};
  return { app: l[APP_LABEL] ?? null, env: l[ENV_LABEL] ?? null };
}
