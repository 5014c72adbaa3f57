/**
 * One cluster: its API clients, its informer cache, and the writes Phantom makes there. Each
 * method works on one namespace and throws on failure; {@link KubeRuntime} turns failures
 * into data per target.
 */
import {
  ApiException, AppsV1Api, AutoscalingV2Api, CoreV1Api, PatchStrategy, VersionApi, setHeaderOptions, type KubeConfig, type V1Deployment,
} from '@kubernetes/client-node';
import { InformerCache, type InformerCacheOptions } from './informer-cache.js';
import {
  APP_LABEL, ENV_LABEL, RESTARTED_AT_ANNOTATION, REVISION_ANNOTATION, deploymentFor, hpaFor, selectorLabels, serviceFor, workloadName,
} from './manifests.js';
import type { TargetErrorCode, WorkloadRef, WorkloadSpec } from './types.js';
import type { KObj } from './workload-view.js';

const FIELD_MANAGER = 'phantom';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

export const isNotFound = (e: unknown): boolean => e instanceof ApiException && e.code === 404;
const isConflict = (e: unknown): boolean => e instanceof ApiException && e.code === 409;
const isInvalid = (e: unknown): boolean => e instanceof ApiException && e.code === 422;
/** RFC 6901: `phantom.io/app` → `phantom.io~1app`. */
const pointerEscape = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');
/** Whether `o` is the app's in its env: both labels, whoever applied it. */
export const isOwn = (o: KObj, ref: WorkloadRef): boolean => o.metadata?.labels?.[APP_LABEL] === ref.app && o.metadata?.labels?.[ENV_LABEL] === ref.env;

/** A failure the caller caused (unknown pod, missing revision): reported as that target's error, with its code. */
export class TargetError extends Error {
  constructor(message: string, readonly code: TargetErrorCode = 'NOT_FOUND') {
    super(message);
  }
}

export class KubeCluster {
  readonly cache: InformerCache;
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly autoscaling: AutoscalingV2Api;
  private readonly versionApi: VersionApi;
  /** Namespaces known to exist, so apply does not ask every time. */
  private readonly namespaces = new Set<string>();

  constructor(readonly name: string, kc: KubeConfig, cacheOpts: InformerCacheOptions = {}) {
    this.apps = kc.makeApiClient(AppsV1Api);
    this.core = kc.makeApiClient(CoreV1Api);
    this.autoscaling = kc.makeApiClient(AutoscalingV2Api);
    this.versionApi = kc.makeApiClient(VersionApi);
    this.cache = new InformerCache(name, kc, cacheOpts);
  }

  async version(): Promise<string> {
    const v = await this.versionApi.getCode();
    return v.gitVersion;
  }

  async ensureNamespace(namespace: string): Promise<void> {
    if (this.namespaces.has(namespace)) return;
    try {
      await this.core.readNamespace({ name: namespace });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      try {
        await this.core.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } } });
      } catch (e2) {
        if (!isConflict(e2)) throw e2; // created meanwhile by someone else
      }
    }
    this.namespaces.add(namespace);
  }

  /** Creates or updates Deployment, Service and HPA; returns the written Deployment. */
  async apply(namespace: string, spec: WorkloadSpec): Promise<KObj> {
    await this.ensureNamespace(namespace);
    const name = workloadName(spec);
    const desired = deploymentFor(spec, namespace);
    if (!spec.container.hpa) {
      // Before the Deployment: an HPA still present would scale it back to its minReplicas.
      await this.autoscaling.deleteNamespacedHorizontalPodAutoscaler({ name, namespace }).catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    }
    let written: V1Deployment;
    const existing = await this.apps.readNamespacedDeployment({ name, namespace }).catch((e) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    if (!existing) {
      written = await this.apps.createNamespacedDeployment({ namespace, body: desired, fieldManager: FIELD_MANAGER });
    } else {
      const sel = existing.spec?.selector?.matchLabels ?? {};
      if (sel[APP_LABEL] !== spec.app || sel[ENV_LABEL] !== spec.env) {
        throw new TargetError(`Deployment ${namespace}/${name} exists with another selector; delete it first.`, 'CONFLICT');
      }
      // A merge patch keeps what others added (e.g. restartedAt); an autoscaled workload's
      // replica count belongs to its HPA, so it is left alone.
      const patch: KObj = {
        metadata: { labels: desired.metadata!.labels, annotations: desired.metadata!.annotations },
        spec: { template: desired.spec!.template },
      };
      if (!spec.container.hpa) patch.spec.replicas = desired.spec!.replicas;
      written = await this.apps.patchNamespacedDeployment({ name, namespace, body: patch, fieldManager: FIELD_MANAGER }, mergePatch);
    }
    const svc = serviceFor(spec, namespace);
    const existingSvc = await this.core.readNamespacedService({ name, namespace }).catch((e) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    if (!existingSvc) await this.core.createNamespacedService({ namespace, body: svc, fieldManager: FIELD_MANAGER });
    else await this.core.patchNamespacedService({ name, namespace, body: { metadata: { labels: svc.metadata!.labels }, spec: svc.spec }, fieldManager: FIELD_MANAGER }, mergePatch);
    const hpa = hpaFor(spec, namespace);
    if (hpa) {
      const existingHpa = await this.autoscaling.readNamespacedHorizontalPodAutoscaler({ name, namespace }).catch((e) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
      if (!existingHpa) await this.autoscaling.createNamespacedHorizontalPodAutoscaler({ namespace, body: hpa, fieldManager: FIELD_MANAGER });
      else await this.autoscaling.patchNamespacedHorizontalPodAutoscaler({ name, namespace, body: { metadata: { labels: hpa.metadata!.labels }, spec: hpa.spec }, fieldManager: FIELD_MANAGER }, mergePatch);
    }
    return written as KObj;
  }

  /** "No workload" for a Deployment that is missing or not the app's: the same answer, so nothing leaks. */
  private noWorkload(namespace: string, ref: WorkloadRef): TargetError {
    return new TargetError(`No workload ${namespace}/${workloadName(ref)} on cluster ${this.name}.`);
  }

  /**
   * JSON-patches the app's Deployment, but only if it carries the app's `phantom.io/app` and
   * `phantom.io/env` labels: `test` ops make the check and the write one atomic step, so a
   * Deployment that merely has the app's name (e.g. `kubectl create deployment legacy`) is
   * never changed, even if it is relabelled between our read and our write.
   * `retryOps`, when given, is tried once if `ops` fail on a Deployment that is the app's
   * (e.g. a map `ops` add into was absent).
   */
  private async guardedPatch(namespace: string, ref: WorkloadRef, ops: object[], retryOps?: (d: KObj) => object[] | null): Promise<KObj> {
    const name = workloadName(ref);
    const guard = [
      { op: 'test', path: `/metadata/labels/${pointerEscape(APP_LABEL)}`, value: ref.app },
      { op: 'test', path: `/metadata/labels/${pointerEscape(ENV_LABEL)}`, value: ref.env },
    ];
    const attempt = async (body: object[]): Promise<KObj> =>
      (await this.apps.patchNamespacedDeployment({ name, namespace, body: [...guard, ...body], fieldManager: FIELD_MANAGER }, jsonPatch)) as KObj;
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
  private async readOwnDeployment(namespace: string, ref: WorkloadRef): Promise<KObj> {
    let d: KObj;
    try {
      d = (await this.apps.readNamespacedDeployment({ name: workloadName(ref), namespace })) as KObj;
    } catch (e) {
      if (isNotFound(e)) throw this.noWorkload(namespace, ref);
      throw e;
    }
    if (!isOwn(d, ref)) throw this.noWorkload(namespace, ref);
    return d;
  }

  scale(namespace: string, ref: WorkloadRef, replicas: number): Promise<KObj> {
    return this.guardedPatch(namespace, ref, [{ op: 'add', path: '/spec/replicas', value: replicas }]);
  }

  restart(namespace: string, ref: WorkloadRef, at: Date): Promise<KObj> {
    const value = at.toISOString();
    const annotations = '/spec/template/metadata/annotations';
    return this.guardedPatch(
      namespace,
      ref,
      [{ op: 'add', path: `${annotations}/${pointerEscape(RESTARTED_AT_ANNOTATION)}`, value }],
      // The template had no annotations map (the apiserver drops empty maps): add the whole map.
      (d) => (d.spec?.template?.metadata?.annotations ? null : [{ op: 'add', path: annotations, value: { [RESTARTED_AT_ANNOTATION]: value } }]),
    );
  }

  async deletePod(namespace: string, ref: WorkloadRef, pod: string): Promise<void> {
    let p: KObj;
    try {
      p = (await this.core.readNamespacedPod({ name: pod, namespace })) as KObj;
    } catch (e) {
      if (isNotFound(e)) throw new TargetError(`Pod ${namespace}/${pod} not found on cluster ${this.name}.`);
      throw e;
    }
    const labels = p.metadata?.labels ?? {};
    if (labels[APP_LABEL] !== ref.app || labels[ENV_LABEL] !== ref.env) {
      // Same answer as for a missing pod: a caller learns nothing about other apps' pods.
      throw new TargetError(`Pod ${namespace}/${pod} not found on cluster ${this.name}.`);
    }
    // The uid precondition: a pod re-created under that name meanwhile is not this one.
    await this.core.deleteNamespacedPod({ name: pod, namespace, body: { preconditions: { uid: p.metadata?.uid } } }).catch((e) => {
      if (isNotFound(e)) throw new TargetError(`Pod ${namespace}/${pod} not found on cluster ${this.name}.`);
      throw e;
    });
  }

  /** Like `kubectl rollout undo [--to-revision]`: the template of the ReplicaSet with that revision. */
  async rollback(namespace: string, ref: WorkloadRef, revision?: number): Promise<KObj> {
    const name = workloadName(ref);
    const d = await this.readOwnDeployment(namespace, ref);
    const labelSelector = Object.entries(selectorLabels(ref)).map(([k, v]) => `${k}=${v}`).join(',');
    const rsList = await this.apps.listNamespacedReplicaSet({ namespace, labelSelector });
    const owned = rsList.items
      .filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.controller && o.uid === d.metadata?.uid))
      .map((rs) => ({ rs, rev: Number(rs.metadata?.annotations?.[REVISION_ANNOTATION] ?? 0) }))
      .sort((a, b) => b.rev - a.rev);
    const current = Number(d.metadata?.annotations?.[REVISION_ANNOTATION] ?? 0);
    const target = revision != null ? owned.find((o) => o.rev === revision) : owned.find((o) => o.rev !== current);
    if (!target) throw new TargetError(revision != null ? `Revision ${revision} of ${namespace}/${name} not found on cluster ${this.name}.` : `No previous revision of ${namespace}/${name} on cluster ${this.name}.`);
    const template = structuredClone(target.rs.spec!.template!) as KObj;
    delete template.metadata?.labels?.['pod-template-hash'];
    // client-node serializes typed models; the template came from a typed list, so write it
    // back through the same serializer by patching with JSON Patch on a plain copy.
    return this.guardedPatch(namespace, ref, [{ op: 'replace', path: '/spec/template', value: JSON.parse(JSON.stringify(template)) }]);
  }

  /**
   * Deletes the app's HPA, Service and Deployment. Each is deleted only if it carries the app's
   * labels, with a uid precondition so an object replaced meanwhile is not deleted either;
   * absent or foreign ones count as removed (the app's workload is not there).
   */
  async remove(namespace: string, ref: WorkloadRef): Promise<void> {
    const name = workloadName(ref);
    const ignore404 = (e: unknown): undefined => {
      if (!isNotFound(e)) throw e;
      return undefined;
    };
    const guarded = async (read: () => Promise<KObj>, del: (uid: string) => Promise<unknown>): Promise<void> => {
      const o = await read().catch(ignore404);
      if (!o || !isOwn(o, ref)) return;
      await del(o.metadata.uid).catch(ignore404);
    };
    const body = (uid: string) => ({ preconditions: { uid } });
    await guarded(
      async () => (await this.autoscaling.readNamespacedHorizontalPodAutoscaler({ name, namespace })) as KObj,
      (uid) => this.autoscaling.deleteNamespacedHorizontalPodAutoscaler({ name, namespace, body: body(uid) }),
    );
    await guarded(async () => (await this.core.readNamespacedService({ name, namespace })) as KObj, (uid) => this.core.deleteNamespacedService({ name, namespace, body: body(uid) }));
    await guarded(async () => (await this.apps.readNamespacedDeployment({ name, namespace })) as KObj, (uid) => this.apps.deleteNamespacedDeployment({ name, namespace, body: body(uid) }));
  }
}
