/**
 * One cluster: its API clients, its informer cache, and the writes Phantom makes there. Each
 * method works on one namespace and throws on failure; {@link KubeRuntime} turns failures
 * into data per target.
 */
import {
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  type V1Job,
  PatchStrategy,
  VersionApi,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1ObjectMeta,
  type V1Pod,
  type V1Service,
  type V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { InformerCache, type InformerCacheOptions } from './informer-cache.js';
import {
  APP_LABEL,
  ENV_LABEL,
  RELEASE_ANNOTATION,
  RESTARTED_AT_ANNOTATION,
  REVISION_ANNOTATION,
  deploymentFor,
  hpaFor,
  selectorLabels,
  serviceFor,
  workloadName,
} from './manifests.js';
import type { TargetErrorCode, WorkloadRef, WorkloadSpec } from './types.js';

const FIELD_MANAGER = 'phantom';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

export const isNotFound = (e: unknown): boolean => e instanceof ApiException && e.code === 404;
const isConflict = (e: unknown): boolean => e instanceof ApiException && e.code === 409;
const isInvalid = (e: unknown): boolean => e instanceof ApiException && e.code === 422;
/** RFC 6901: `phantom.io/app` → `phantom.io~1app`. */
const pointerEscape = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');
/** Whether `o` is the app's in its env: both labels, whoever applied it. */
export const isOwn = (o: KubernetesObject, ref: WorkloadRef): boolean =>
  o.metadata?.labels?.[APP_LABEL] === ref.app && o.metadata?.labels?.[ENV_LABEL] === ref.env;

/** A failure the caller caused (unknown pod, missing revision): reported as that target's error, with its code. */
export class TargetError extends Error {
  constructor(
    message: string,
    readonly code: TargetErrorCode = 'NOT_FOUND',
  ) {
    super(message);
  }
}

/** A JSON merge patch (RFC 7386): the fields to set, `null` for those to remove. */
interface MergePatch {
  metadata?: V1ObjectMeta;
  [field: string]: unknown;
}

/** One named object of one kind in one namespace: the calls apply and remove make on it. */
interface Access<T extends KubernetesObject = KubernetesObject> {
  kind: 'Deployment' | 'Service' | 'HorizontalPodAutoscaler';
  read(): Promise<T>;
  create(body: T): Promise<T>;
  patch(body: MergePatch): Promise<T>;
  /** With a uid precondition: an object re-created under the name meanwhile is not deleted. */
  delete(uid: string | undefined): Promise<unknown>;
}

/** The object, or undefined when there is none. */
const readOrNone = <T extends KubernetesObject>(acc: Access<T>): Promise<T | undefined> =>
  acc.read().catch((e) => {
    if (isNotFound(e)) return undefined;
    throw e;
  });

/** Tries of a write whose object changed between check and write (409) before giving up. */
const MAX_WRITE_ATTEMPTS = 5;

export class KubeCluster {
  readonly cache: InformerCache;
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly autoscaling: AutoscalingV2Api;
  private readonly versionApi: VersionApi;
  private readonly batch: BatchV1Api;
  /** Namespaces known to exist, so apply does not ask every time. */
  private readonly namespaces = new Set<string>();

  constructor(
    readonly name: string,
    kc: KubeConfig,
    cacheOpts: InformerCacheOptions = {},
  ) {
    this.apps = kc.makeApiClient(AppsV1Api);
    this.core = kc.makeApiClient(CoreV1Api);
    this.autoscaling = kc.makeApiClient(AutoscalingV2Api);
    this.versionApi = kc.makeApiClient(VersionApi);
    this.batch = kc.makeApiClient(BatchV1Api);
    this.cache = new InformerCache(name, kc, cacheOpts);
  }

  async version(): Promise<string> {
    const v = await this.versionApi.getCode();
    return v.gitVersion;
  }

  // --- Jobs (builds): read from the API server, not cached (one Job per build, short-lived) ---

  /** Creates a Job; an existing one of that name (a retried call) is kept and returned. */
  async createJob(namespace: string, body: V1Job): Promise<V1Job> {
    try {
      return await this.batch.createNamespacedJob({ namespace, body, fieldManager: FIELD_MANAGER });
    } catch (e) {
      if (!isConflict(e)) throw e;
      return this.batch.readNamespacedJob({ name: body.metadata!.name!, namespace });
    }
  }

  async readJob(namespace: string, name: string): Promise<V1Job> {
    return this.batch.readNamespacedJob({ name, namespace });
  }

  /** Deletes the Job and (Background propagation) its pods; an absent Job is fine. */
  async deleteJob(namespace: string, name: string): Promise<void> {
    try {
      await this.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** The Job's pods, oldest first, with their phase. */
  async jobPods(
    namespace: string,
    job: string,
  ): Promise<{ name: string; phase: string; container: string | null }[]> {
    const list = await this.core.listNamespacedPod({
      namespace,
      labelSelector: `batch.kubernetes.io/job-name=${job}`,
    });
    return list.items
      .sort((a, b) =>
        String(a.metadata?.creationTimestamp ?? '').localeCompare(
          String(b.metadata?.creationTimestamp ?? ''),
        ),
      )
      .map((p) => ({
        name: p.metadata!.name!,
        phase: p.status?.phase ?? 'Unknown',
        container: p.spec?.containers?.[0]?.name ?? null,
      }));
  }

  /** A pod's log (its first container), or null when it has none yet. */
  async podLog(namespace: string, pod: string, container: string): Promise<string | null> {
    try {
      return await this.core.readNamespacedPodLog({ name: pod, namespace, container });
    } catch (e) {
      if (e instanceof ApiException && (e.code === 400 || e.code === 404)) return null;
      throw e;
    }
  }

  async ensureNamespace(namespace: string): Promise<void> {
    if (this.namespaces.has(namespace)) return;
    try {
      await this.core.readNamespace({ name: namespace });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      try {
        await this.core.createNamespace({
          body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
        });
      } catch (e2) {
        if (!isConflict(e2)) throw e2; // created meanwhile by someone else
      }
    }
    this.namespaces.add(namespace);
  }

  /**
   * Creates or updates Deployment, Service and HPA; returns the written Deployment.
   *
   * Only the app's own objects are written. First every object of the app's name is read: one
   * that exists without the app's `phantom.io/app` and `phantom.io/env` labels (or a Deployment
   * with another selector) fails the target with CONFLICT before anything is changed. A foreign
   * HPA is in the way only when the app autoscales; otherwise it is left alone. Then each write
   * re-checks: a patch carries the resourceVersion it checked (an object changed meanwhile is a
   * 409, read and checked again), a delete carries the uid.
   */
  async apply(namespace: string, spec: WorkloadSpec): Promise<V1Deployment> {
    const name = workloadName(spec);
    const dep = this.deploymentAccess(namespace, name);
    const svc = this.serviceAccess(namespace, name);
    const hpaAcc = this.hpaAccess(namespace, name);
    const desired = deploymentFor(spec, namespace);
    const desiredSvc = serviceFor(spec, namespace);
    const desiredHpa = hpaFor(spec, namespace);

    // A canary is a Deployment only: the main workload's Service selects its pods too.
    const canary = spec.variant === 'canary';
    const [existing, existingSvc, existingHpa] = await Promise.all([
      readOrNone(dep),
      canary ? undefined : readOrNone(svc),
      canary ? undefined : readOrNone(hpaAcc),
    ]);
    const checkDeployment = (d: V1Deployment): void => {
      this.requireOwn(dep, namespace, name, spec, d);
      const sel = d.spec?.selector?.matchLabels ?? {};
      if (sel[APP_LABEL] !== spec.app || sel[ENV_LABEL] !== spec.env) {
        throw new TargetError(
          `Deployment ${namespace}/${name} exists with another selector on cluster ${this.name}; delete it first.`,
          'CONFLICT',
        );
      }
    };
    const checkOwn =
      (acc: Access) =>
      (o: KubernetesObject): void =>
        this.requireOwn(acc, namespace, name, spec, o);
    if (existing) checkDeployment(existing);
    if (existingSvc) checkOwn(svc)(existingSvc);
    if (existingHpa && desiredHpa) checkOwn(hpaAcc)(existingHpa);

    await this.ensureNamespace(namespace);
    if (!canary && !desiredHpa && existingHpa && isOwn(existingHpa, spec)) {
      // Before the Deployment: an HPA still present would scale it back to its minReplicas.
      await hpaAcc.delete(existingHpa.metadata?.uid).catch((e) => {
        if (isNotFound(e)) return;
        // The uid precondition failed: another object took the name since we read it.
        if (isConflict(e))
          throw new TargetError(
            `HorizontalPodAutoscaler ${namespace}/${name} was replaced meanwhile on cluster ${this.name}; try again.`,
            'CONFLICT',
          );
        throw e;
      });
    }
    // A merge patch keeps what others added (e.g. restartedAt); an autoscaled workload's
    // replica count belongs to its HPA, so it is left alone.
    const depSpec: Record<string, unknown> = {
      template: desired.spec!.template,
      // Recreate must drop `rollingUpdate` (the API refuses both together): null removes it in a merge patch.
      strategy:
        spec.strategy === 'Recreate'
          ? { type: 'Recreate', rollingUpdate: null }
          : desired.spec!.strategy,
      ...(desired.spec!.progressDeadlineSeconds
        ? { progressDeadlineSeconds: desired.spec!.progressDeadlineSeconds }
        : {}),
    };
    if (!desiredHpa || canary) depSpec.replicas = desired.spec!.replicas;
    const depPatch: MergePatch = {
      metadata: {
        labels: desired.metadata!.labels,
        // A write without a release (deployApp) removes the release id a release left on the
        // Deployment: the workload no longer runs what that release deployed. (The pod
        // template's copy stays: removing it would roll the pods for nothing.)
        annotations: spec.releaseId
          ? desired.metadata!.annotations
          : ({ [RELEASE_ANNOTATION]: null } as unknown as Record<string, string>),
      },
      spec: depSpec,
    };
    const written = await this.upsert(
      dep,
      namespace,
      name,
      existing,
      desired,
      depPatch,
      checkDeployment,
    );
    if (canary) return written;
    await this.upsert(
      svc,
      namespace,
      name,
      existingSvc,
      desiredSvc,
      { metadata: { labels: desiredSvc.metadata!.labels }, spec: desiredSvc.spec },
      checkOwn(svc),
    );
    if (desiredHpa) {
      await this.upsert(
        hpaAcc,
        namespace,
        name,
        existingHpa,
        desiredHpa,
        { metadata: { labels: desiredHpa.metadata!.labels }, spec: desiredHpa.spec },
        checkOwn(hpaAcc),
      );
    }
    return written;
  }

  private requireOwn(
    acc: Access,
    namespace: string,
    name: string,
    ref: WorkloadRef,
    o: KubernetesObject,
  ): void {
    if (!isOwn(o, ref)) {
      throw new TargetError(
        `${acc.kind} ${namespace}/${name} exists on cluster ${this.name} and is not managed by Phantom for ${ref.app}/${ref.env}; nothing was changed.`,
        'CONFLICT',
      );
    }
  }

  /**
   * Creates `body` when there is no object, else merge-patches it with `patch` after `check`
   * (which throws when the object is not the app's). The patch carries the checked
   * resourceVersion, so a write never lands on an object changed since its check: on 409
   * (changed, or created meanwhile) or 404 (deleted meanwhile) it reads and tries again.
   */
  private async upsert<T extends KubernetesObject>(
    acc: Access<T>,
    namespace: string,
    name: string,
    first: T | undefined,
    body: T,
    patch: MergePatch,
    check: (o: T) => void,
  ): Promise<T> {
    let cur = first;
    for (let attempt = 1; ; attempt++) {
      try {
        if (!cur) return await acc.create(body);
        check(cur);
        return await acc.patch({
          ...patch,
          metadata: { ...patch.metadata, resourceVersion: cur.metadata?.resourceVersion },
        });
      } catch (e) {
        if (!isConflict(e) && !isNotFound(e)) throw e;
        // A create's 404 is the namespace: deleted since we saw it, or the API server restarted
        // with an empty store. Forget it, so it is created again before the next attempt.
        if (!cur && isNotFound(e)) {
          this.namespaces.delete(namespace);
          await this.ensureNamespace(namespace);
        }
        if (attempt >= MAX_WRITE_ATTEMPTS) {
          throw new TargetError(
            `${acc.kind} ${namespace}/${name} kept changing on cluster ${this.name} while it was written; try again.`,
            'CONFLICT',
          );
        }
        cur = await readOrNone(acc);
      }
    }
  }

  private deploymentAccess(namespace: string, name: string): Access<V1Deployment> {
    return {
      kind: 'Deployment',
      read: async () => await this.apps.readNamespacedDeployment({ name, namespace }),
      create: async (body) =>
        await this.apps.createNamespacedDeployment({
          namespace,
          body: body,
          fieldManager: FIELD_MANAGER,
        }),
      patch: async (body) =>
        await this.apps.patchNamespacedDeployment(
          { name, namespace, body, fieldManager: FIELD_MANAGER },
          mergePatch,
        ),
      delete: (uid) =>
        this.apps.deleteNamespacedDeployment({ name, namespace, body: { preconditions: { uid } } }),
    };
  }

  private serviceAccess(namespace: string, name: string): Access<V1Service> {
    return {
      kind: 'Service',
      read: async () => await this.core.readNamespacedService({ name, namespace }),
      create: async (body) =>
        await this.core.createNamespacedService({
          namespace,
          body: body,
          fieldManager: FIELD_MANAGER,
        }),
      patch: async (body) =>
        await this.core.patchNamespacedService(
          { name, namespace, body, fieldManager: FIELD_MANAGER },
          mergePatch,
        ),
      delete: (uid) =>
        this.core.deleteNamespacedService({ name, namespace, body: { preconditions: { uid } } }),
    };
  }

  private hpaAccess(namespace: string, name: string): Access<V2HorizontalPodAutoscaler> {
    return {
      kind: 'HorizontalPodAutoscaler',
      read: async () =>
        await this.autoscaling.readNamespacedHorizontalPodAutoscaler({ name, namespace }),
      create: async (body) =>
        await this.autoscaling.createNamespacedHorizontalPodAutoscaler({
          namespace,
          body: body,
          fieldManager: FIELD_MANAGER,
        }),
      patch: async (body) =>
        await this.autoscaling.patchNamespacedHorizontalPodAutoscaler(
          { name, namespace, body, fieldManager: FIELD_MANAGER },
          mergePatch,
        ),
      delete: (uid) =>
        this.autoscaling.deleteNamespacedHorizontalPodAutoscaler({
          name,
          namespace,
          body: { preconditions: { uid } },
        }),
    };
  }

  /** "No workload" for a Deployment that is missing or not the app's: the same answer, so nothing leaks. */
  private noWorkload(namespace: string, ref: WorkloadRef): TargetError {
    return new TargetError(
      `No workload ${namespace}/${workloadName(ref)} on cluster ${this.name}.`,
    );
  }

  /**
   * JSON-patches the app's Deployment, but only if it carries the app's `phantom.io/app` and
   * `phantom.io/env` labels: `test` ops make the check and the write one atomic step, so a
   * Deployment that merely has the app's name (e.g. `kubectl create deployment legacy`) is
   * never changed, even if it is relabelled between our read and our write.
   * `retryOps`, when given, is tried once if `ops` fail on a Deployment that is the app's
   * (e.g. a map `ops` add into was absent).
   */
  private async guardedPatch(
    namespace: string,
    ref: WorkloadRef,
    ops: object[],
    retryOps?: (d: V1Deployment) => object[] | null,
  ): Promise<V1Deployment> {
    const name = workloadName(ref);
    const guard = [
      { op: 'test', path: `/metadata/labels/${pointerEscape(APP_LABEL)}`, value: ref.app },
      { op: 'test', path: `/metadata/labels/${pointerEscape(ENV_LABEL)}`, value: ref.env },
    ];
    const attempt = async (body: object[]): Promise<V1Deployment> =>
      await this.apps.patchNamespacedDeployment(
        { name, namespace, body: [...guard, ...body], fieldManager: FIELD_MANAGER },
        jsonPatch,
      );
    try {
      return await attempt(ops);
    } catch (e) {
      if (isNotFound(e)) throw this.noWorkload(namespace, ref);
      if (!isInvalid(e)) throw e;
      // A failed `test` (or a missing path) is 422: find out which, without guessing from the message.
      const d = await this.readOwnDeployment(namespace, ref);
      const again = retryOps?.(d);
      if (!again) throw e;
      try {
        return await attempt(again);
      } catch (e2) {
        if (isNotFound(e2)) throw this.noWorkload(namespace, ref);
        throw e2;
      }
    }
  }

  /** The app's Deployment, read from the API server; "No workload" when missing or not the app's. */
  private async readOwnDeployment(namespace: string, ref: WorkloadRef): Promise<V1Deployment> {
    let d: V1Deployment;
    try {
      d = await this.apps.readNamespacedDeployment({
        name: workloadName(ref),
        namespace,
      });
    } catch (e) {
      if (isNotFound(e)) throw this.noWorkload(namespace, ref);
      throw e;
    }
    if (!isOwn(d, ref)) throw this.noWorkload(namespace, ref);
    return d;
  }

  scale(namespace: string, ref: WorkloadRef, replicas: number): Promise<V1Deployment> {
    return this.guardedPatch(namespace, ref, [
      { op: 'add', path: '/spec/replicas', value: replicas },
    ]);
  }

  restart(namespace: string, ref: WorkloadRef, at: Date): Promise<V1Deployment> {
    const value = at.toISOString();
    const annotations = '/spec/template/metadata/annotations';
    return this.guardedPatch(
      namespace,
      ref,
      [{ op: 'add', path: `${annotations}/${pointerEscape(RESTARTED_AT_ANNOTATION)}`, value }],
      // The template had no annotations map (the apiserver drops empty maps): add the whole map.
      (d) =>
        d.spec?.template?.metadata?.annotations
          ? null
          : [{ op: 'add', path: annotations, value: { [RESTARTED_AT_ANNOTATION]: value } }],
    );
  }

  async deletePod(namespace: string, ref: WorkloadRef, pod: string): Promise<void> {
    let p: V1Pod;
    try {
      p = await this.core.readNamespacedPod({ name: pod, namespace });
    } catch (e) {
      if (isNotFound(e))
        throw new TargetError(`Pod ${namespace}/${pod} not found on cluster ${this.name}.`);
      throw e;
    }
    const labels: Record<string, string> = p.metadata?.labels ?? {};
    if (labels[APP_LABEL] !== ref.app || labels[ENV_LABEL] !== ref.env) {
      // Same answer as for a missing pod: a caller learns nothing about other apps' pods.
      throw new TargetError(`Pod ${namespace}/${pod} not found on cluster ${this.name}.`);
    }
    // The uid precondition: a pod re-created under that name meanwhile is not this one.
    await this.core
      .deleteNamespacedPod({
        name: pod,
        namespace,
        body: { preconditions: { uid: p.metadata?.uid } },
      })
      .catch((e) => {
        if (isNotFound(e))
          throw new TargetError(`Pod ${namespace}/${pod} not found on cluster ${this.name}.`);
        throw e;
      });
  }

  /** Like `kubectl rollout undo [--to-revision]`: the template of the ReplicaSet with that revision. */
  async rollback(namespace: string, ref: WorkloadRef, revision?: number): Promise<V1Deployment> {
    const name = workloadName(ref);
    const d = await this.readOwnDeployment(namespace, ref);
    const labelSelector = Object.entries(selectorLabels(ref))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const rsList = await this.apps.listNamespacedReplicaSet({ namespace, labelSelector });
    const owned = rsList.items
      .filter((rs) =>
        rs.metadata?.ownerReferences?.some((o) => o.controller && o.uid === d.metadata?.uid),
      )
      .map((rs) => ({ rs, rev: Number(rs.metadata?.annotations?.[REVISION_ANNOTATION] ?? 0) }))
      .sort((a, b) => b.rev - a.rev);
    const current = Number(d.metadata?.annotations?.[REVISION_ANNOTATION] ?? 0);
    const target =
      revision != null
        ? owned.find((o) => o.rev === revision)
        : owned.find((o) => o.rev !== current);
    if (!target)
      throw new TargetError(
        revision != null
          ? `Revision ${revision} of ${namespace}/${name} not found on cluster ${this.name}.`
          : `No previous revision of ${namespace}/${name} on cluster ${this.name}.`,
      );
    const template = structuredClone(target.rs.spec!.template!);
    delete template.metadata?.labels?.['pod-template-hash'];
    // client-node serializes typed models; the template came from a typed list, so write it
    // back through the same serializer by patching with JSON Patch on a plain copy.
    return this.guardedPatch(namespace, ref, [
      {
        op: 'replace',
        path: '/spec/template',
        value: JSON.parse(JSON.stringify(template)) as unknown,
      },
    ]);
  }

  /**
   * Deletes the app's HPA, Service and Deployment. Each is deleted only if it carries the app's
   * labels, with a uid precondition so an object replaced meanwhile is not deleted either;
   * absent or foreign ones count as removed (the app's workload is not there). Returns whether
   * this call deleted anything.
   */
  async remove(namespace: string, ref: WorkloadRef): Promise<boolean> {
    const name = workloadName(ref);
    let removed = false;
    const accesses: Access[] = [
      this.hpaAccess(namespace, name),
      this.serviceAccess(namespace, name),
      this.deploymentAccess(namespace, name),
    ];
    for (const acc of accesses) {
      const o = await readOrNone(acc);
      if (!o || !isOwn(o, ref)) continue;
      const deleted = await acc.delete(o.metadata?.uid).then(
        () => true,
        (e) => {
          if (!isNotFound(e)) throw e;
          return false;
        },
      );
      removed ||= deleted;
    }
    return removed;
  }
}
