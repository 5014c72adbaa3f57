/**
 * {@link ClusterRuntime} over client-node: one {@link KubeCluster} (clients + informer cache)
 * per cluster of a {@link ClusterRegistry}. Every per-target failure becomes that target's
 * `error`; nothing a single cluster does fails the whole call.
 */
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import type { ClusterRegistry } from './cluster-registry.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import { errorMessage, type InformerCacheOptions, type InformerStats } from './informer-cache.js';
import { KubeCluster, TargetError, isOwn } from './kube-cluster.js';
import { APP_LABEL, ENV_LABEL, TRACK_LABEL, workloadName } from './manifests.js';
import type {
  JobOutcome,
  JobSpec,
  AppPlacements,
  ClusterInfo,
  KubeObjectEvent,
  PodState,
  RemoveResult,
  TargetErrorCode,
  TargetResult,
  WorkloadRef,
  WorkloadSpec,
  WorkloadState,
  WorkloadTarget,
} from './types.js';
import {
  controlledBy,
  eventConcerns,
  matchesLabels,
  missingWorkload,
  workloadState,
  type WorkloadUids,
} from './workload-view.js';

/** Options for {@link KubeRuntime}. */
export interface KubeRuntimeOptions extends InformerCacheOptions {
  /** How long `clusters()` waits for a cluster's /version. Default: 2000 ms. */
  healthTimeoutMs?: number;
  /** How long a write waits for the cache to show it before answering from the cache anyway. Default: 3000 ms. */
  readYourWritesTimeoutMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits `ms`, or less when `signal` aborts. */
const sleepUntilAborted = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** A target's failure as data: the caller's mistake keeps its code; anything else is the cluster being unavailable. */
function targetFailure(t: WorkloadTarget, e: unknown): { error: string; code: TargetErrorCode } {
  return e instanceof TargetError
    ? { error: e.message, code: e.code }
    : { error: `cluster ${t.cluster}: ${errorMessage(e)}`, code: 'UNAVAILABLE' };
}

export class KubeRuntime implements ClusterRuntime {
  private readonly clustersByName = new Map<string, KubeCluster>();

  constructor(
    registry: ClusterRegistry,
    private readonly opts: KubeRuntimeOptions = {},
  ) {
    for (const name of registry.names())
      this.clustersByName.set(name, new KubeCluster(name, registry.get(name)!, opts));
  }

  /** Starts every cluster's informers (not waiting for them). */
  start(): this {
    for (const c of this.clustersByName.values()) c.cache.start();
    return this;
  }

  clusterNames(): string[] {
    return [...this.clustersByName.keys()];
  }

  async clusters(): Promise<ClusterInfo[]> {
    const timeout = this.opts.healthTimeoutMs ?? 2000;
    return Promise.all(
      [...this.clustersByName.values()].map(async (c): Promise<ClusterInfo> => {
        try {
          const version = await withTimeout(c.version(), timeout, `cluster ${c.name}: /version`);
          const cacheError = c.cache.health();
          return { name: c.name, healthy: cacheError === null, version, error: cacheError };
        } catch (e) {
          return {
            name: c.name,
            healthy: false,
            version: null,
            error: `cluster ${c.name} is unreachable: ${errorMessage(e)}`,
          };
        }
      }),
    );
  }

  private cluster(name: string): KubeCluster {
    const c = this.clustersByName.get(name);
    if (!c)
      throw new TargetError(
        `Unknown cluster "${name}": it is not in this Phantom's kubeconfig.`,
        'UNAVAILABLE',
      );
    return c;
  }

  async runJob(
    target: WorkloadTarget,
    spec: JobSpec,
    opts: {
      signal: AbortSignal;
      deadline: number;
      onEvent?: (message: string) => void;
      pollMs?: number;
    },
  ): Promise<JobOutcome> {
    const base = { cluster: target.cluster, namespace: target.namespace };
    const fail = (
      message: string,
      error: string | null = null,
      code: TargetErrorCode | null = null,
      logs: string[] = [],
    ): JobOutcome => ({
      ...base,
      ok: error === null,
      error,
      code,
      succeeded: false,
      message,
      logs,
    });
    let c: KubeCluster;
    try {
      c = this.cluster(target.cluster);
    } catch (e) {
      const f = targetFailure(target, e);
      return fail(f.error, f.error, f.code);
    }
    const ns = target.namespace;
    const say = (m: string): void => opts.onEvent?.(m);
    let created = false;
    try {
      await c.ensureNamespace(ns);
      await c.createJob(ns, {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: spec.name, namespace: ns, labels: spec.labels },
        spec: {
          backoffLimit: 0,
          activeDeadlineSeconds: spec.deadlineSeconds,
          ttlSecondsAfterFinished: 3600,
          template: {
            metadata: { labels: spec.labels },
            spec: {
              restartPolicy: 'Never',
              automountServiceAccountToken: false,
              containers: [
                {
                  name: 'build',
                  image: spec.image,
                  command: spec.command,
                  env: Object.entries(spec.env).map(([name, value]) => ({ name, value })),
                },
              ],
            },
          },
        },
      });
      created = true;
      say(`Job ${spec.name} created on ${target.cluster}/${ns} (image ${spec.image})`);
      const phases = new Map<string, string>();
      let result: { succeeded: boolean; message: string } | null = null;
      while (!result) {
        if (opts.signal.aborted) {
          result = {
            succeeded: false,
            message: (opts.signal.reason as Error | undefined)?.message ?? 'stopped',
          };
          break;
        }
        if (Date.now() >= opts.deadline) {
          result = { succeeded: false, message: 'timeout' };
          break;
        }
        const job = await c.readJob(ns, spec.name);
        for (const p of await c.jobPods(ns, spec.name)) {
          if (phases.get(p.name) !== p.phase) say(`pod ${p.name} is ${p.phase}`);
          phases.set(p.name, p.phase);
        }
        const cond = (type: string) =>
          job.status?.conditions?.find((x) => x.type === type && x.status === 'True');
        const complete = cond('Complete');
        const failed = cond('Failed');
        if (complete) result = { succeeded: true, message: `Job ${spec.name} completed` };
        else if (failed)
          result = {
            succeeded: false,
            message: `Job ${spec.name} failed (${failed.reason ?? 'Failed'}${failed.message ? `: ${failed.message}` : ''})`,
          };
        else await sleepUntilAborted(opts.pollMs ?? 1000, opts.signal);
      }
      const logs: string[] = [];
      for (const p of await c.jobPods(ns, spec.name)) {
        if (!p.container) continue;
        const text = await c.podLog(ns, p.name, p.container);
        if (text) logs.push(...text.replace(/\n$/, '').split('\n'));
      }
      return {
        ...base,
        ok: true,
        error: null,
        code: null,
        succeeded: result.succeeded,
        message: result.message,
        logs,
      };
    } catch (e) {
      const f = targetFailure(target, e);
      return fail(f.error, f.error, f.code);
    } finally {
      if (created) await c.deleteJob(ns, spec.name).catch(() => undefined);
    }
  }

  async whenSynced(timeoutMs = 5000): Promise<void> {
    await Promise.all([...this.clustersByName.values()].map((c) => c.cache.whenSynced(timeoutMs)));
  }

  /** Reads one target's workload from the cache. */
  private read(
    target: WorkloadTarget,
    ref: WorkloadRef,
    failure?: { error: string; code: TargetErrorCode },
    withEvents = true,
  ): WorkloadState {
    const name = workloadName(ref);
    const c = this.clustersByName.get(target.cluster);
    if (!c)
      return missingWorkload(
        target,
        name,
        `Unknown cluster "${target.cluster}": it is not in this Phantom's kubeconfig.`,
      );
    const cache = c.cache;
    const health = cache.health();
    const error = failure?.error ?? health;
    const code = failure?.code ?? (health === null ? null : 'UNAVAILABLE');
    if (!cache.everSynced) return missingWorkload(target, name, error, code);
    const own = <T extends KubernetesObject>(o: T | undefined): T | undefined =>
      o && isOwn(o, ref) ? o : undefined;
    const deployment = own(cache.get('Deployment', target.namespace, name));
    const matchLabels: Record<string, string> | undefined = deployment?.spec?.selector?.matchLabels;
    // The main Deployment's selector also matches a canary's pods (they share app and env): not its own.
    const isMain = ref.variant !== 'canary';
    const pods = deployment
      ? cache
          .list('Pod', target.namespace)
          .filter(
            (p) =>
              matchesLabels(p.metadata?.labels, matchLabels) &&
              !(isMain && p.metadata?.labels?.[TRACK_LABEL]),
          )
      : [];
    const hpa = own(cache.get('HorizontalPodAutoscaler', target.namespace, name));
    if (!withEvents)
      return workloadState(target, name, { deployment, pods, hpa, events: [] }, error, code);
    const dUid: string | undefined = deployment?.metadata?.uid;
    const uids: WorkloadUids = {
      deployment: deployment ? { name, uid: dUid! } : null,
      hpa: hpa ? { name, uid: hpa.metadata?.uid ?? '' } : null,
      // Only string uids can match an event's (eventConcerns): objects without one are left out.
      replicaSets: new Set(
        cache
          .list('ReplicaSet', target.namespace)
          .filter((rs) => controlledBy(rs, dUid))
          .flatMap((rs) => rs.metadata?.uid ?? []),
      ),
      pods: new Set(pods.flatMap((p) => p.metadata?.uid ?? [])),
    };
    const events = cache
      .list('Event', target.namespace)
      .filter((e) => eventConcerns(e, target.namespace, uids));
    return workloadState(target, name, { deployment, pods, hpa, events }, error, code);
  }

  async workloads(
    targets: WorkloadTarget[],
    ref: WorkloadRef,
    opts: { events?: boolean } = {},
  ): Promise<WorkloadState[]> {
    // Right after start the caches may still be listing: wait briefly rather than say MISSING.
    await Promise.all(
      targets.map(
        (t) => this.clustersByName.get(t.cluster)?.cache.whenSynced(2000) ?? Promise.resolve(),
      ),
    );
    return targets.map((t) => this.read(t, ref, undefined, opts.events ?? true));
  }

  async pods(target: WorkloadTarget, ref: WorkloadRef): Promise<PodState[]> {
    return (await this.workloads([target], ref))[0].pods;
  }

  /** Waits (bounded) until the cache holds the written Deployment's generation, then reads it. */
  private async readAfterWrite(
    target: WorkloadTarget,
    ref: WorkloadRef,
    written: V1Deployment | null,
  ): Promise<WorkloadState> {
    const deadline = Date.now() + (this.opts.readYourWritesTimeoutMs ?? 3000);
    const cache = this.clustersByName.get(target.cluster)!.cache;
    const gen = written?.metadata?.generation ?? 0;
    while (Date.now() < deadline) {
      const cached = cache.get('Deployment', target.namespace, workloadName(ref));
      if (written ? cached && (cached.metadata?.generation ?? 0) >= gen : !cached) break;
      await sleep(20);
    }
    return this.read(target, ref);
  }

  /** Waits (bounded) until the cache no longer holds the app's own Deployment or HPA in `target`. */
  private async untilGone(target: WorkloadTarget, ref: WorkloadRef): Promise<void> {
    const deadline = Date.now() + (this.opts.readYourWritesTimeoutMs ?? 3000);
    const cache = this.clustersByName.get(target.cluster)!.cache;
    const name = workloadName(ref);
    const present = (): boolean =>
      (['Deployment', 'HorizontalPodAutoscaler'] as const).some((k) => {
        const o = cache.get(k, target.namespace, name);
        return o !== undefined && isOwn(o, ref);
      });
    while (Date.now() < deadline && present()) await sleep(20);
  }

  /** Runs `op` on each target in parallel; a failing target answers with its error. */
  private async eachTarget(
    targets: WorkloadTarget[],
    ref: WorkloadRef,
    op: (c: KubeCluster, t: WorkloadTarget) => Promise<V1Deployment | null>,
  ): Promise<WorkloadState[]> {
    return Promise.all(
      targets.map(async (t) => {
        let written: V1Deployment | null;
        try {
          written = await op(this.cluster(t.cluster), t);
        } catch (e) {
          const f = targetFailure(t, e);
          return this.clustersByName.has(t.cluster)
            ? this.read(t, ref, f)
            : missingWorkload(t, workloadName(ref), f.error, f.code);
        }
        return this.readAfterWrite(t, ref, written);
      }),
    );
  }

  applyWorkload(targets: WorkloadTarget[], spec: WorkloadSpec): Promise<WorkloadState[]> {
    return this.eachTarget(targets, spec, (c, t) => c.apply(t.namespace, spec));
  }

  scale(targets: WorkloadTarget[], ref: WorkloadRef, replicas: number): Promise<WorkloadState[]> {
    return this.eachTarget(targets, ref, (c, t) => c.scale(t.namespace, ref, replicas));
  }

  restart(targets: WorkloadTarget[], ref: WorkloadRef, at = new Date()): Promise<WorkloadState[]> {
    return this.eachTarget(targets, ref, (c, t) => c.restart(t.namespace, ref, at));
  }

  rollback(
    targets: WorkloadTarget[],
    ref: WorkloadRef,
    revision?: number,
  ): Promise<WorkloadState[]> {
    return this.eachTarget(targets, ref, (c, t) => c.rollback(t.namespace, ref, revision));
  }

  async deletePod(target: WorkloadTarget, ref: WorkloadRef, pod: string): Promise<TargetResult> {
    try {
      await this.cluster(target.cluster).deletePod(target.namespace, ref, pod);
      return { ...target, ok: true, error: null, code: null };
    } catch (e) {
      return { ...target, ok: false, ...targetFailure(target, e) };
    }
  }

  async removeWorkload(targets: WorkloadTarget[], ref: WorkloadRef): Promise<RemoveResult[]> {
    return Promise.all(
      targets.map(async (t): Promise<RemoveResult> => {
        try {
          const removed = await this.cluster(t.cluster).remove(t.namespace, ref);
          // Read-your-writes: a placements() or workloads() right after this must not see it.
          if (removed) await this.untilGone(t, ref);
          return { ...t, ok: true, error: null, code: null, removed };
        } catch (e) {
          return { ...t, ok: false, ...targetFailure(t, e), removed: false };
        }
      }),
    );
  }

  placements(app: string): AppPlacements {
    const out: AppPlacements = { found: [], unknown: [] };
    for (const c of this.clustersByName.values()) {
      const health = c.cache.health();
      if (health !== null || !c.cache.everSynced)
        out.unknown.push({
          cluster: c.name,
          error: health ?? `cluster ${c.name}: cache not synced yet`,
        });
      if (!c.cache.everSynced) continue;
      const seen = new Set<string>();
      for (const kind of ['Deployment', 'HorizontalPodAutoscaler'] as const) {
        for (const o of c.cache.list(kind)) {
          const labels: Record<string, string> = o.metadata?.labels ?? {};
          if (labels[APP_LABEL] !== app) continue;
          const namespace = String(o.metadata?.namespace ?? '');
          const env = typeof labels[ENV_LABEL] === 'string' ? labels[ENV_LABEL] : null;
          const key = `${namespace}\u0000${env}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.found.push({ cluster: c.name, namespace, env });
        }
      }
    }
    return out;
  }

  onObjectEvent(listener: (e: KubeObjectEvent) => void): () => void {
    const offs = [...this.clustersByName.values()].map((c) => c.cache.onEvent(listener));
    return () => offs.forEach((off) => off());
  }

  snapshot(cluster: string): KubeObjectEvent[] {
    return this.clustersByName.get(cluster)?.cache.snapshot() ?? [];
  }

  informerStats(): InformerStats[] {
    return [...this.clustersByName.values()].flatMap((c) => c.cache.stats());
  }

  async close(): Promise<void> {
    await Promise.all([...this.clustersByName.values()].map((c) => c.cache.stop()));
  }
}
