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
import type { WorkloadRef, WorkloadSpec } from './types.js';
import type { KObj } from './workload-view.js';

const FIELD_MANAGER = 'phantom';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

export const isNotFound = (e: unknown): boolean => e instanceof ApiException && e.code === 404;
const isConflict = (e: unknown): boolean => e instanceof ApiException && e.code === 409;

/** A failure the caller caused (unknown pod, missing revision): reported as that target's error. */
export class TargetError extends Error {}

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
        throw new TargetError(`Deployment ${namespace}/${name} exists with another selector; delete it first.`);
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

  private async patchDeployment(namespace: string, ref: WorkloadRef, body: object, patchType = mergePatch): Promise<KObj> {
    try {
      return (await this.apps.patchNamespacedDeployment({ name: workloadName(ref), namespace, body, fieldManager: FIELD_MANAGER }, patchType)) as KObj;
    } catch (e) {
      if (isNotFound(e)) throw new TargetError(`No workload ${namespace}/${workloadName(ref)} on cluster ${this.name}.`);
      throw e;
    }
  }

  scale(namespace: string, ref: WorkloadRef, replicas: number): Promise<KObj> {
    return this.patchDeployment(namespace, ref, { spec: { replicas } });
  }

  restart(namespace: string, ref: WorkloadRef, at: Date): Promise<KObj> {
    return this.patchDeployment(namespace, ref, { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: at.toISOString() } } } } });
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
    await this.core.deleteNamespacedPod({ name: pod, namespace });
  }

  /** Like `kubectl rollout undo [--to-revision]`: the template of the ReplicaSet with that revision. */
  async rollback(namespace: string, ref: WorkloadRef, revision?: number): Promise<KObj> {
    const name = workloadName(ref);
    let d: KObj;
    try {
      d = (await this.apps.readNamespacedDeployment({ name, namespace })) as KObj;
    } catch (e) {
      if (isNotFound(e)) throw new TargetError(`No workload ${namespace}/${name} on cluster ${this.name}.`);
      throw e;
    }
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
    return this.patchDeployment(namespace, ref, [{ op: 'replace', path: '/spec/template', value: JSON.parse(JSON.stringify(template)) }], jsonPatch);
  }

  async remove(namespace: string, ref: WorkloadRef): Promise<void> {
    const name = workloadName(ref);
    const ignore404 = (e: unknown): void => {
      if (!isNotFound(e)) throw e;
    };
    await this.autoscaling.deleteNamespacedHorizontalPodAutoscaler({ name, namespace }).catch(ignore404);
    await this.core.deleteNamespacedService({ name, namespace }).catch(ignore404);
    await this.apps.deleteNamespacedDeployment({ name, namespace }).catch(ignore404);
  }
}
