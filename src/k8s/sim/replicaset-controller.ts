/** The ReplicaSet controller: creates/deletes pods to match spec.replicas and maintains RS status. */
import type { EventRecorder } from './event-recorder.js';
import { deepEqual } from './equality.js';
import type { Registry } from './registry.js';
import { findResource, type ResourceDef } from './resources.js';
import { countOr } from './validation.js';
import type { Pod, ReplicaSet, ReplicaSetStatus, Stored } from './kinds.js';
import type { KObject } from './types.js';

const PODS = findResource('', 'v1', 'pods') as ResourceDef;
const RS = findResource('apps', 'v1', 'replicasets') as ResourceDef;
const SRC = { component: 'replicaset-controller' };

export function isControlledBy(o: KObject, owner: KObject): boolean {
  return (o.metadata?.ownerReferences ?? []).some(
    (r) => r.controller === true && r.uid === owner.metadata.uid,
  );
}

export function isPodReady(p: Pod): boolean {
  return (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Ready for at least minReadySeconds. */
export function isPodAvailable(p: Pod, minReadySeconds: number, now = Date.now()): boolean {
  if (!isPodReady(p)) return false;
  if (!minReadySeconds) return true;
  const c = (p.status?.conditions ?? []).find((x) => x.type === 'Ready');
  return !!c && Date.parse(c.lastTransitionTime ?? '') + minReadySeconds * 1000 <= now;
}

export function isPodActive(p: Pod): boolean {
  return (
    !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed'
  );
}

/** Order in which pods are deleted on scale-down (kubernetes controller.ActivePods ordering). */
function deletionRank(p: Pod): number[] {
  const phaseRank: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
  const restarts = (p.status?.containerStatuses ?? []).reduce(
    (n, c) => n + (c.restartCount ?? 0),
    0,
  );
  return [
    p.spec?.nodeName ? 1 : 0,
    phaseRank[p.status?.phase as string] ?? 1,
    isPodReady(p) ? 1 : 0,
    -restarts,
    -Date.parse(p.metadata.creationTimestamp as string),
  ];
}

export class ReplicaSetController {
  constructor(
    private readonly registry: Registry,
    private readonly recorder: EventRecorder,
  ) {}

  sync(rs: Stored<ReplicaSet>): void {
    if (rs.metadata.deletionTimestamp) return;
    const ns = rs.metadata.namespace;
    const pods = this.registry.listWhere(PODS, ns, (p) =>
      isControlledBy(p as Pod, rs),
    ) as Stored<Pod>[];
    const active = pods.filter(isPodActive);
    const want = countOr(rs.spec?.replicas, 1);
    const diff = active.length - want;
    if (diff < 0) {
      for (let i = 0; i < -diff; i++) {
        const t = rs.spec!.template ?? {}; // defaulting gives every replica set a spec
        const pod: Pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            generateName: `${rs.metadata.name}-`,
            namespace: ns,
            labels: { ...(t.metadata?.labels ?? {}) },
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'ReplicaSet',
                name: rs.metadata.name,
                uid: rs.metadata.uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: structuredClone(t.spec ?? {}),
        };
        if (t.metadata?.annotations) pod.metadata.annotations = { ...t.metadata.annotations };
        try {
          const created = this.registry.create(PODS, ns, pod) as Stored<Pod>;
          active.push(created);
          this.recorder.record(
            rs,
            'Normal',
            'SuccessfulCreate',
            `Created pod: ${created.metadata.name}`,
            SRC,
          );
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          this.recorder.record(rs, 'Warning', 'FailedCreate', `Error creating: ${msg}`, SRC);
          break;
        }
      }
    } else if (diff > 0) {
      const victims = [...active]
        .sort((a, b) => {
          const ra = deletionRank(a);
          const rb = deletionRank(b);
          for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
          return 0;
        })
        .slice(0, diff);
      for (const v of victims) {
        try {
          this.registry.delete(PODS, ns, v.metadata.name);
          this.recorder.record(
            rs,
            'Normal',
            'SuccessfulDelete',
            `Deleted pod: ${v.metadata.name}`,
            SRC,
          );
        } catch {
          // already gone
        }
      }
    }
    this.syncStatus(rs);
  }

  private syncStatus(rs: Stored<ReplicaSet>): void {
    const live = this.registry.tryGet(RS, rs.metadata.namespace, rs.metadata.name) as
      Stored<ReplicaSet> | undefined;
    if (!live || live.metadata.uid !== rs.metadata.uid) return;
    const pods = this.registry.listWhere(
      PODS,
      live.metadata.namespace,
      (p) => isControlledBy(p as Pod, live) && isPodActive(p as Pod),
    ) as Pod[];
    const tmplLabels: Record<string, string> = live.spec?.template?.metadata?.labels ?? {};
    const minReady = countOr(live.spec?.minReadySeconds, 0);
    const status: ReplicaSetStatus = { replicas: pods.length };
    const fully = pods.filter((p) =>
      Object.entries(tmplLabels).every(([k, v]) => p.metadata.labels?.[k] === v),
    ).length;
    const ready = pods.filter(isPodReady).length;
    const available = pods.filter((p) => isPodAvailable(p, minReady)).length;
    if (fully) status.fullyLabeledReplicas = fully;
    if (ready) status.readyReplicas = ready;
    if (available) status.availableReplicas = available;
    status.observedGeneration = live.metadata.generation;
    if (live.status?.conditions) status.conditions = live.status.conditions;
    if (deepEqual(status, live.status)) return;
    const next = structuredClone(live);
    next.status = status;
    delete next.metadata.resourceVersion;
    this.registry.update(RS, live.metadata.namespace, live.metadata.name, next, {
      subresource: 'status',
    });
  }
}
