/**
 * The deployment controller (after kubernetes pkg/controller/deployment): new/old ReplicaSets with
 * pod-template-hash names and revision annotations, rolling update (maxSurge/maxUnavailable), Recreate,
 * status and conditions (incl. ProgressDeadlineExceeded), revisionHistoryLimit cleanup, pause.
 */
import { StatusError } from './errors.js';
import type { EventRecorder } from './event-recorder.js';
import { deepEqual, pruneEmpty } from './equality.js';
import { computeTemplateHash, rfc3339 } from './names.js';
import type { Registry } from './registry.js';
import { isControlledBy } from './replicaset-controller.js';
import { findResource, type ResourceDef } from './resources.js';
import { countOr } from './validation.js';
import type {
  Deployment,
  DeploymentSpec,
  DeploymentStatus,
  Pod,
  PodTemplateSpec,
  ReplicaSet,
  ReplicaSetSpec,
  RollingUpdate,
  Stored,
} from './kinds.js';
import type { Condition } from './types.js';

const DEPLOY = findResource('apps', 'v1', 'deployments') as ResourceDef;
const RS = findResource('apps', 'v1', 'replicasets') as ResourceDef;
const PODS = findResource('', 'v1', 'pods') as ResourceDef;

export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const HASH_LABEL = 'pod-template-hash';
const SKIP_ANNOTATIONS = new Set([
  LAST_APPLIED,
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
]);
const SRC = { component: 'deployment-controller' };
const MAX_INT32 = 2147483647;

/**
 * A deployment as the controller reads it from the store: the registry has set its name and uid,
 * defaulting its spec's strategy, and validation its selector and template.
 */
type StoredDeployment = Stored<Deployment> & {
  spec: DeploymentSpec & Required<Pick<DeploymentSpec, 'selector' | 'template' | 'strategy'>>;
};

/** Anything with a `spec.replicas` (a deployment, a replica set, one about to be created). */
interface Scalable {
  spec?: { replicas?: unknown };
}

/** The status calculateStatus computes: every count set. */
type CalculatedStatus = DeploymentStatus &
  Required<
    Pick<
      DeploymentStatus,
      'replicas' | 'updatedReplicas' | 'readyReplicas' | 'availableReplicas' | 'unavailableReplicas'
    >
  >;

function revisionOf(o: Stored): number {
  const v = Number(o.metadata?.annotations?.[REVISION] ?? 0);
  return Number.isFinite(v) ? v : 0;
}

function created(o: Stored): number {
  return Date.parse(o.metadata.creationTimestamp ?? '') || 0;
}

function byCreation(a: Stored, b: Stored): number {
  return created(a) - created(b) || (a.metadata.name < b.metadata.name ? -1 : 1);
}

function specReplicas(o: Scalable | undefined): number {
  return countOr(o?.spec?.replicas, 0);
}

function intOrPercent(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.endsWith('%')) {
    const pct = Number(v.slice(0, -1));
    const x = (pct * total) / 100;
    return roundUp ? Math.ceil(x) : Math.floor(x);
  }
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return 0;
}

function isRolling(d: StoredDeployment): boolean {
  return (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

/** (maxSurge, maxUnavailable) resolved like deploymentutil.ResolveFenceposts. */
export function resolveFenceposts(d: StoredDeployment): {
  maxSurge: number;
  maxUnavailable: number;
} {
  if (!isRolling(d)) return { maxSurge: 0, maxUnavailable: 0 };
  const ru: RollingUpdate = d.spec.strategy.rollingUpdate ?? {};
  const replicas = specReplicas(d);
  const maxSurge = intOrPercent(ru.maxSurge ?? '25%', replicas, true);
  let maxUnavailable = intOrPercent(ru.maxUnavailable ?? '25%', replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

function maxUnavailableOf(d: StoredDeployment): number {
  if (!isRolling(d) || specReplicas(d) === 0) return 0;
  return Math.min(resolveFenceposts(d).maxUnavailable, specReplicas(d));
}

/** Templates equal ignoring pod-template-hash; nil and empty are equal. */
export function templatesEqual(
  a: PodTemplateSpec | undefined,
  b: PodTemplateSpec | undefined,
): boolean {
  const strip = (t: PodTemplateSpec | undefined): unknown => {
    const c = structuredClone(t ?? {});
    if (c.metadata?.labels) delete c.metadata.labels[HASH_LABEL];
    return pruneEmpty(c);
  };
  return deepEqual(strip(a), strip(b));
}

function getCondition(status: DeploymentStatus, type: string): Condition | undefined {
  return (status.conditions ?? []).find((c) => c.type === type);
}

function newCondition(type: string, status: string, reason: string, message: string): Condition {
  const now = rfc3339();
  return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message };
}

/** deploymentutil.SetDeploymentCondition: no-op when status and reason are unchanged. */
function setCondition(status: DeploymentStatus, cond: Condition): void {
  const cur = getCondition(status, cond.type);
  if (cur && cur.status === cond.status && cur.reason === cond.reason) return;
  if (cur && cur.status === cond.status) cond.lastTransitionTime = cur.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== cond.type), cond];
}

function removeCondition(status: DeploymentStatus, type: string): void {
  if (status.conditions) status.conditions = status.conditions.filter((c) => c.type !== type);
}

/** A copy without the undefined, null and zero fields (the Go types' omitempty). */
function omitEmpty<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k of Object.keys(o) as (keyof T)[]) {
    const v = o[k];
    if (v !== undefined && v !== 0 && v !== null) out[k] = v;
  }
  return out;
}

export class DeploymentController {
  constructor(
    private readonly registry: Registry,
    private readonly recorder: EventRecorder,
  ) {}

  /** Reconciles one deployment (progress deadlines are re-checked by the periodic resync). */
  sync(dIn: Stored<Deployment>): void {
    const d = structuredClone(dIn) as StoredDeployment;
    if (d.metadata.deletionTimestamp) return;
    const ns = d.metadata.namespace;
    const rsList = this.registry.listWhere(RS, ns, (rs) =>
      isControlledBy(rs as Stored<ReplicaSet>, d),
    ) as Stored<ReplicaSet>[];
    this.checkPausedConditions(d);
    if (d.spec.paused) {
      this.syncScaleOnly(d, rsList);
      return;
    }
    if (this.isScalingEvent(d, rsList)) {
      this.syncScaleOnly(d, rsList);
      return;
    }
    if (isRolling(d)) this.rolloutRolling(d, rsList);
    else this.rolloutRecreate(d, rsList);
  }

  // ---- writes -------------------------------------------------------------------------------------------

  private writeDeploymentMeta(d: StoredDeployment): void {
    const live = this.registry.tryGet(DEPLOY, d.metadata.namespace, d.metadata.name) as
      StoredDeployment | undefined;
    if (!live || live.metadata.uid !== d.metadata.uid) return;
    if (deepEqual(live.metadata.annotations ?? {}, d.metadata.annotations ?? {})) return;
    const next = structuredClone(live);
    next.metadata.annotations = d.metadata.annotations;
    delete next.metadata.resourceVersion;
    this.registry.update(DEPLOY, d.metadata.namespace, d.metadata.name, next);
  }

  private writeStatus(d: StoredDeployment, status: DeploymentStatus): void {
    const live = this.registry.tryGet(DEPLOY, d.metadata.namespace, d.metadata.name) as
      StoredDeployment | undefined;
    if (!live || live.metadata.uid !== d.metadata.uid) return;
    const clean = omitEmpty(status);
    if (deepEqual(clean, live.status ?? {})) return;
    const next = structuredClone(live);
    next.status = clean;
    delete next.metadata.resourceVersion;
    this.registry.update(DEPLOY, d.metadata.namespace, d.metadata.name, next, {
      subresource: 'status',
    });
    d.status = clean;
  }

  private writeRs(rs: Stored<ReplicaSet>): Stored<ReplicaSet> {
    const next = structuredClone(rs);
    delete next.metadata.resourceVersion;
    return this.registry.update(
      RS,
      rs.metadata.namespace,
      rs.metadata.name,
      next,
    ) as Stored<ReplicaSet>;
  }

  // ---- paused / scaling ---------------------------------------------------------------------------------

  private checkPausedConditions(d: StoredDeployment): void {
    if (!this.hasProgressDeadline(d)) return;
    const cond = getCondition(d.status ?? {}, 'Progressing');
    if (cond?.reason === 'ProgressDeadlineExceeded') return;
    const paused = !!d.spec.paused;
    const pausedCond = cond?.reason === 'DeploymentPaused';
    let c: Condition | undefined;
    if (paused && !pausedCond)
      c = newCondition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused');
    else if (!paused && pausedCond)
      c = newCondition('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed');
    if (!c) return;
    const status: DeploymentStatus = structuredClone(d.status ?? {});
    setCondition(status, c);
    this.writeStatus(d, status);
  }

  private isScalingEvent(d: StoredDeployment, rsList: Stored<ReplicaSet>[]): boolean {
    const { newRS, oldRSs } = this.split(d, rsList);
    const active = [newRS, ...oldRSs].filter(
      (rs): rs is Stored<ReplicaSet> => !!rs && specReplicas(rs) > 0,
    );
    for (const rs of active) {
      const desired = rs.metadata.annotations?.[DESIRED_REPLICAS];
      if (desired === undefined) continue;
      if (Number(desired) !== specReplicas(d)) return true;
    }
    return false;
  }

  private syncScaleOnly(d: StoredDeployment, rsList: Stored<ReplicaSet>[]): void {
    const { newRS, oldRSs } = this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    this.scale(d, newRS, oldRSs);
    const allRSs = [...oldRSs, ...(newRS ? [newRS] : [])];
    if (!d.spec.paused && this.isComplete(d, d.status ?? {})) this.cleanup(d, oldRSs);
    const status = this.calculateStatus(allRSs, newRS, d);
    this.writeStatus(d, status);
  }

  private findActiveOrLatest(
    newRS: Stored<ReplicaSet> | undefined,
    oldRSs: Stored<ReplicaSet>[],
  ): Stored<ReplicaSet> | undefined {
    const all = [...(newRS ? [newRS] : []), ...oldRSs];
    const active = all.filter((rs) => specReplicas(rs) > 0);
    if (active.length === 1) return active[0];
    if (active.length === 0) return newRS ?? [...oldRSs].sort(byCreation).at(-1);
    return undefined;
  }

  private scale(
    d: StoredDeployment,
    newRS: Stored<ReplicaSet> | undefined,
    oldRSs: Stored<ReplicaSet>[],
  ): void {
    const target = this.findActiveOrLatest(newRS, oldRSs);
    const replicas = specReplicas(d);
    if (target) {
      if (
        specReplicas(target) !== replicas ||
        target.metadata.annotations?.[DESIRED_REPLICAS] !== String(replicas)
      )
        this.scaleRs(target, replicas, d);
      return;
    }
    const activeOld = oldRSs.filter((rs) => specReplicas(rs) > 0);
    if (
      newRS &&
      specReplicas(newRS) === replicas &&
      (newRS.status?.availableReplicas ?? 0) === replicas
    ) {
      for (const rs of activeOld) this.scaleRs(rs, 0, d);
      return;
    }
    // Proportional scaling, simplified: add to the newest / remove from the oldest replica sets.
    const all = [...oldRSs, ...(newRS ? [newRS] : [])]
      .filter((rs) => specReplicas(rs) > 0)
      .sort(byCreation);
    const allowed = replicas + resolveFenceposts(d).maxSurge;
    let delta = allowed - all.reduce((n, rs) => n + specReplicas(rs), 0);
    if (delta > 0) {
      const rs = newRS ?? all[all.length - 1]; // the newest (undefined when there are none)
      this.scaleRs(rs, specReplicas(rs) + delta, d);
      return;
    }
    for (const rs of all) {
      if (delta >= 0) break;
      const cut = Math.min(specReplicas(rs), -delta);
      this.scaleRs(rs, specReplicas(rs) - cut, d);
      delta += cut;
    }
    for (const rs of all)
      if (rs.metadata.annotations?.[DESIRED_REPLICAS] !== String(replicas))
        this.scaleRs(rs, specReplicas(rs), d);
  }

  /** Scales a replica set (spec + desired/max annotations) and records ScalingReplicaSet. Mutates `rs`. */
  private scaleRs(rs: Stored<ReplicaSet>, newScale: number, d: StoredDeployment): boolean {
    const old = specReplicas(rs);
    const replicas = specReplicas(d);
    const max = String(replicas + resolveFenceposts(d).maxSurge);
    const ann = rs.metadata.annotations ?? {};
    const sizeChange = old !== newScale;
    const annChange = ann[DESIRED_REPLICAS] !== String(replicas) || ann[MAX_REPLICAS] !== max;
    if (!sizeChange && !annChange) return false;
    rs.spec!.replicas = newScale; // defaulting gives every replica set a spec
    rs.metadata.annotations = { ...ann, [DESIRED_REPLICAS]: String(replicas), [MAX_REPLICAS]: max };
    const written = this.writeRs(rs);
    Object.assign(rs, written);
    if (sizeChange) {
      const op = newScale > old ? 'up' : 'down';
      this.recorder.record(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${op} replica set ${rs.metadata.name} from ${old} to ${newScale}`,
        SRC,
      );
    }
    return sizeChange;
  }

  // ---- new/old replica sets -----------------------------------------------------------------------------

  private split(
    d: StoredDeployment,
    rsList: Stored<ReplicaSet>[],
  ): { newRS?: Stored<ReplicaSet>; oldRSs: Stored<ReplicaSet>[] } {
    const sorted = [...rsList].sort(byCreation);
    const newRS = sorted.find((rs) => templatesEqual(rs.spec?.template, d.spec.template));
    return { newRS, oldRSs: sorted.filter((rs) => rs !== newRS) };
  }

  private getAllReplicaSetsAndSyncRevision(
    d: StoredDeployment,
    rsList: Stored<ReplicaSet>[],
    createIfMissing: boolean,
  ): { newRS?: Stored<ReplicaSet>; oldRSs: Stored<ReplicaSet>[] } {
    const { newRS: existing, oldRSs } = this.split(d, rsList);
    const maxOld = oldRSs.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
    const newRevision = String(maxOld + 1);
    if (existing) {
      const rs = structuredClone(existing);
      const changed = this.setNewReplicaSetAnnotations(d, rs, newRevision, true);
      const cur = changed ? this.writeRs(rs) : existing;
      this.setDeploymentRevision(d, cur.metadata.annotations?.[REVISION]);
      if (!getCondition(d.status ?? {}, 'Progressing') && this.hasProgressDeadline(d)) {
        const status: DeploymentStatus = structuredClone(d.status ?? {});
        setCondition(
          status,
          newCondition(
            'Progressing',
            'True',
            'FoundNewReplicaSet',
            `Found new replica set "${cur.metadata.name}"`,
          ),
        );
        this.writeStatus(d, status);
      }
      return { newRS: cur, oldRSs };
    }
    if (!createIfMissing) return { oldRSs };
    const collisionCount = d.status?.collisionCount;
    const template = structuredClone(d.spec.template);
    const hash = computeTemplateHash(template, collisionCount);
    template.metadata ??= {};
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [HASH_LABEL]: hash };
    const selector = structuredClone(d.spec.selector);
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [HASH_LABEL]: hash };
    const rsName = `${d.metadata.name}-${hash}`;
    const rs: ReplicaSet & { spec: ReplicaSetSpec } = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: rsName,
        namespace: d.metadata.namespace,
        labels: { ...template.metadata.labels },
        annotations: {},
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: d.metadata.name,
            uid: d.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        replicas: 0,
        minReadySeconds: countOr(d.spec.minReadySeconds, 0),
        selector,
        template,
      },
    };
    if (!rs.spec.minReadySeconds) delete rs.spec.minReadySeconds;
    const newReplicas = this.newRSNewReplicas(d, oldRSs, rs);
    rs.spec.replicas = newReplicas;
    this.setNewReplicaSetAnnotations(d, rs, newRevision, false);
    let createdRs: Stored<ReplicaSet>;
    try {
      createdRs = this.registry.create(RS, d.metadata.namespace, rs) as Stored<ReplicaSet>;
    } catch (err) {
      if (err instanceof StatusError && err.reason === 'AlreadyExists') {
        const other = this.registry.tryGet(RS, d.metadata.namespace, rsName) as
          Stored<ReplicaSet> | undefined;
        if (
          other &&
          isControlledBy(other, d) &&
          templatesEqual(other.spec?.template, d.spec.template)
        )
          return { newRS: other, oldRSs };
        const status: DeploymentStatus = structuredClone(d.status ?? {});
        status.collisionCount = (collisionCount ?? 0) + 1;
        this.writeStatus(d, status);
      }
      return { oldRSs };
    }
    if (newReplicas > 0)
      this.recorder.record(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${createdRs.metadata.name} from 0 to ${newReplicas}`,
        SRC,
      );
    this.setDeploymentRevision(d, newRevision);
    if (this.hasProgressDeadline(d)) {
      const status: DeploymentStatus = structuredClone(d.status ?? {});
      setCondition(
        status,
        newCondition(
          'Progressing',
          'True',
          'NewReplicaSetCreated',
          `Created new replica set "${createdRs.metadata.name}"`,
        ),
      );
      this.writeStatus(d, status);
    }
    return { newRS: createdRs, oldRSs };
  }

  private setNewReplicaSetAnnotations(
    d: StoredDeployment,
    rs: { metadata: { annotations?: Record<string, string> } },
    newRevision: string,
    exists: boolean,
  ): boolean {
    let changed = false;
    rs.metadata.annotations ??= {};
    const ann = rs.metadata.annotations;
    for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
      if (SKIP_ANNOTATIONS.has(k) || ann[k] === v) continue;
      ann[k] = v;
      changed = true;
    }
    const oldRevision: string | undefined = ann[REVISION];
    if (Number(oldRevision ?? 0) < Number(newRevision)) {
      ann[REVISION] = newRevision;
      changed = true;
      if (exists && oldRevision)
        ann[REVISION_HISTORY] = ann[REVISION_HISTORY]
          ? `${ann[REVISION_HISTORY]},${oldRevision}`
          : oldRevision;
    }
    if (!exists) {
      ann[DESIRED_REPLICAS] = String(specReplicas(d));
      ann[MAX_REPLICAS] = String(specReplicas(d) + resolveFenceposts(d).maxSurge);
      changed = true;
    }
    return changed;
  }

  private setDeploymentRevision(d: StoredDeployment, revision: string | undefined): void {
    if (!revision || d.metadata.annotations?.[REVISION] === revision) return;
    d.metadata.annotations = { ...(d.metadata.annotations ?? {}), [REVISION]: revision };
    this.writeDeploymentMeta(d);
  }

  private newRSNewReplicas(d: StoredDeployment, oldRSs: Scalable[], newRS: Scalable): number {
    if (!isRolling(d)) return specReplicas(d);
    const { maxSurge } = resolveFenceposts(d);
    const current = [...oldRSs, newRS].reduce((n, rs) => n + specReplicas(rs), 0);
    const maxTotal = specReplicas(d) + maxSurge;
    if (current >= maxTotal) return specReplicas(newRS);
    const up = Math.min(maxTotal - current, specReplicas(d) - specReplicas(newRS));
    return specReplicas(newRS) + Math.max(0, up);
  }

  // ---- strategies ---------------------------------------------------------------------------------------

  private rolloutRolling(d: StoredDeployment, rsList: Stored<ReplicaSet>[]): void {
    const { newRS, oldRSs } = this.getAllReplicaSetsAndSyncRevision(d, rsList, true);
    const allRSs = [...oldRSs, ...(newRS ? [newRS] : [])];
    if (newRS && this.reconcileNewReplicaSet(allRSs, newRS, d))
      return this.syncRolloutStatus(allRSs, newRS, d);
    if (
      newRS &&
      this.reconcileOldReplicaSets(
        allRSs,
        oldRSs.filter((rs) => specReplicas(rs) > 0),
        newRS,
        d,
      )
    )
      return this.syncRolloutStatus(allRSs, newRS, d);
    if (this.isComplete(d, d.status ?? {})) this.cleanup(d, oldRSs);
    this.syncRolloutStatus(allRSs, newRS, d);
  }

  private reconcileNewReplicaSet(
    allRSs: Stored<ReplicaSet>[],
    newRS: Stored<ReplicaSet>,
    d: StoredDeployment,
  ): boolean {
    const want = specReplicas(d);
    if (specReplicas(newRS) === want) return false;
    if (specReplicas(newRS) > want) return this.scaleRs(newRS, want, d);
    const n = this.newRSNewReplicas(
      d,
      allRSs.filter((rs) => rs !== newRS),
      newRS,
    );
    return this.scaleRs(newRS, n, d);
  }

  private reconcileOldReplicaSets(
    allRSs: Stored<ReplicaSet>[],
    oldRSs: Stored<ReplicaSet>[],
    newRS: Stored<ReplicaSet>,
    d: StoredDeployment,
  ): boolean {
    const oldPods = oldRSs.reduce((n, rs) => n + specReplicas(rs), 0);
    if (oldPods === 0) return false;
    const allPods = allRSs.reduce((n, rs) => n + specReplicas(rs), 0);
    const minAvailable = specReplicas(d) - maxUnavailableOf(d);
    const newUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    // Clean up unhealthy old replicas first.
    let cleaned = 0;
    for (const rs of [...oldRSs].sort(byCreation)) {
      if (cleaned >= maxScaledDown) break;
      const avail = rs.status?.availableReplicas ?? 0;
      if (specReplicas(rs) === 0 || specReplicas(rs) === avail) continue;
      const cut = Math.min(maxScaledDown - cleaned, specReplicas(rs) - avail);
      this.scaleRs(rs, specReplicas(rs) - cut, d);
      cleaned += cut;
    }
    // Then scale down old replica sets while availability allows.
    const available = allRSs.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);
    let scaled = 0;
    if (available > minAvailable) {
      const total = available - minAvailable;
      for (const rs of [...oldRSs].sort(byCreation)) {
        if (scaled >= total) break;
        if (specReplicas(rs) === 0) continue;
        const cut = Math.min(specReplicas(rs), total - scaled);
        this.scaleRs(rs, specReplicas(rs) - cut, d);
        scaled += cut;
      }
    }
    return cleaned + scaled > 0;
  }

  private rolloutRecreate(d: StoredDeployment, rsList: Stored<ReplicaSet>[]): void {
    let { newRS, oldRSs } = this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    const allRSs = (): Stored<ReplicaSet>[] => [...oldRSs, ...(newRS ? [newRS] : [])];
    let scaledDown = false;
    for (const rs of oldRSs)
      if (specReplicas(rs) > 0) scaledDown = this.scaleRs(rs, 0, d) || scaledDown;
    if (scaledDown) return this.syncRolloutStatus(allRSs(), newRS, d);
    const oldUids = new Set(oldRSs.map((rs) => rs.metadata.uid));
    const oldPodsRunning =
      this.registry.listWhere(PODS, d.metadata.namespace, (o) => {
        const p = o as Pod;
        return (
          (p.metadata.ownerReferences ?? []).some((r) => r.controller && oldUids.has(r.uid)) &&
          p.status?.phase !== 'Failed' &&
          p.status?.phase !== 'Succeeded'
        );
      }).length > 0;
    if (oldPodsRunning) return this.syncRolloutStatus(allRSs(), newRS, d);
    if (!newRS) ({ newRS, oldRSs } = this.getAllReplicaSetsAndSyncRevision(d, rsList, true));
    if (newRS && specReplicas(newRS) !== specReplicas(d)) {
      this.scaleRs(newRS, specReplicas(d), d);
      return this.syncRolloutStatus(allRSs(), newRS, d);
    }
    if (this.isComplete(d, d.status ?? {})) this.cleanup(d, oldRSs);
    this.syncRolloutStatus(allRSs(), newRS, d);
  }

  /** Deletes old, fully scaled-down replica sets beyond revisionHistoryLimit. */
  private cleanup(d: StoredDeployment, oldRSs: Stored<ReplicaSet>[]): void {
    if (d.spec.revisionHistoryLimit === undefined || d.spec.revisionHistoryLimit === null) return;
    const limit = countOr(d.spec.revisionHistoryLimit, 10);
    const cleanable = oldRSs
      .filter(
        (rs) =>
          !rs.metadata.deletionTimestamp &&
          specReplicas(rs) === 0 &&
          (rs.status?.replicas ?? 0) === 0,
      )
      .sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    const diff = cleanable.length - limit;
    for (const rs of cleanable.slice(0, Math.max(0, diff))) {
      try {
        this.registry.delete(RS, rs.metadata.namespace, rs.metadata.name);
      } catch {
        // gone already
      }
    }
  }

  // ---- status -------------------------------------------------------------------------------------------

  private hasProgressDeadline(d: StoredDeployment): boolean {
    const s = d.spec?.progressDeadlineSeconds;
    return countOr(s, MAX_INT32) !== MAX_INT32;
  }

  private isComplete(d: StoredDeployment, status: DeploymentStatus): boolean {
    const r = specReplicas(d);
    return (
      (status.updatedReplicas ?? 0) === r &&
      (status.replicas ?? 0) === r &&
      (status.availableReplicas ?? 0) === r &&
      (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 1)
    );
  }

  private calculateStatus(
    allRSs: Stored<ReplicaSet>[],
    newRS: Stored<ReplicaSet> | undefined,
    d: StoredDeployment,
  ): CalculatedStatus {
    const available = allRSs.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);
    const total = allRSs.reduce((n, rs) => n + specReplicas(rs), 0);
    const status: CalculatedStatus = {
      observedGeneration: d.metadata.generation,
      replicas: allRSs.reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0),
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: allRSs.reduce((n, rs) => n + (rs.status?.readyReplicas ?? 0), 0),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, total - available),
      conditions: structuredClone(d.status?.conditions ?? []),
    };
    if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
    if (available >= specReplicas(d) - maxUnavailableOf(d))
      setCondition(
        status,
        newCondition(
          'Available',
          'True',
          'MinimumReplicasAvailable',
          'Deployment has minimum availability.',
        ),
      );
    else
      setCondition(
        status,
        newCondition(
          'Available',
          'False',
          'MinimumReplicasUnavailable',
          'Deployment does not have minimum availability.',
        ),
      );
    if (!status.conditions?.length) delete status.conditions;
    return status;
  }

  private syncRolloutStatus(
    allRSs: Stored<ReplicaSet>[],
    newRS: Stored<ReplicaSet> | undefined,
    d: StoredDeployment,
  ): void {
    const status = this.calculateStatus(allRSs, newRS, d);
    const old: DeploymentStatus = d.status ?? {};
    if (!this.hasProgressDeadline(d)) removeCondition(status, 'Progressing');
    const cur = getCondition(old, 'Progressing');
    const isCompleteDeployment =
      status.replicas === status.updatedReplicas && cur?.reason === 'NewReplicaSetAvailable';
    if (this.hasProgressDeadline(d) && !isCompleteDeployment) {
      const rsName = newRS?.metadata.name;
      const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
      const newOld = status.replicas - status.updatedReplicas;
      const progressing =
        status.updatedReplicas > (old.updatedReplicas ?? 0) ||
        newOld < oldOld ||
        status.readyReplicas > (old.readyReplicas ?? 0) ||
        status.availableReplicas > (old.availableReplicas ?? 0);
      if (this.isComplete(d, status)) {
        setCondition(
          status,
          newCondition(
            'Progressing',
            'True',
            'NewReplicaSetAvailable',
            rsName
              ? `ReplicaSet "${rsName}" has successfully progressed.`
              : `Deployment "${d.metadata.name}" has successfully progressed.`,
          ),
        );
      } else if (progressing) {
        const c = newCondition(
          'Progressing',
          'True',
          'ReplicaSetUpdated',
          rsName
            ? `ReplicaSet "${rsName}" is progressing.`
            : `Deployment "${d.metadata.name}" is progressing.`,
        );
        if (cur?.status === 'True') c.lastTransitionTime = cur.lastTransitionTime;
        removeCondition(status, 'Progressing');
        setCondition(status, c);
      } else if (this.timedOut(d, cur)) {
        setCondition(
          status,
          newCondition(
            'Progressing',
            'False',
            'ProgressDeadlineExceeded',
            rsName
              ? `ReplicaSet "${rsName}" has timed out progressing.`
              : `Deployment "${d.metadata.name}" has timed out progressing.`,
          ),
        );
      }
    }
    this.writeStatus(d, status);
  }

  private timedOut(d: StoredDeployment, cond: Condition | undefined): boolean {
    if (!cond) return false;
    if (cond.reason === 'NewReplicaSetAvailable') return false;
    if (cond.reason === 'ProgressDeadlineExceeded') return true;
    const from = Date.parse(cond.lastUpdateTime ?? '');
    return from + countOr(d.spec.progressDeadlineSeconds, 600) * 1000 < Date.now();
  }
}
