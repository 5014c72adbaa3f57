/**
 * One cluster's informers (client-node `makeInformer`: list, then watch from the list's
 * resourceVersion, relist on 410) and the in-memory cache they keep. Live GraphQL fields read
 * this cache, never the API server.
 */
import { inspect } from 'node:util';
import {
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  ListWatch,
  Watch,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
  type V1Deployment,
  type V1ObjectMeta,
  type V1Pod,
  type V1ReplicaSet,
  type V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { WATCH_SELECTOR } from './manifests.js';
import { appLabelsOf, eventState, podState, type KubeEvent } from './workload-view.js';
import type { CachedKind, KubeObjectEvent, WatchedKind } from './types.js';

/** The object type the cache holds for each kind. */
export interface CachedObjects {
  Deployment: V1Deployment;
  Pod: V1Pod;
  HorizontalPodAutoscaler: V2HorizontalPodAutoscaler;
  Event: KubeEvent;
  ReplicaSet: V1ReplicaSet;
}

/** Options for {@link InformerCache}. */
export interface InformerCacheOptions {
  /** First delay before restarting an informer that failed; doubles up to `maxRestartDelayMs`. Default: 500 ms. */
  restartDelayMs?: number;
  /**
   * Default: 2 000 ms, so that a cache converges within a few seconds of an API server coming
   * back (a restart of `phantom sim`), even after a longer outage.
   */
  maxRestartDelayMs?: number;
  /** Called on informer errors (after the cache records them). Default: none. */
  onError?: (kind: CachedKind, err: unknown) => void;
}

interface Tracked {
  kind: CachedKind;
  /** Whether its changes go to listeners and snapshots (ReplicaSets are only cached). */
  published: boolean;
  informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject> & { watch: RelistingWatch };
  synced: boolean;
  /** Listed (or failed) at least once: `whenSynced` stops waiting. */
  settled: boolean;
  error: string | null;
  failures: number;
  /** Restarts after an error, since the process started (metrics). */
  restarts: number;
  /** Relists because the watch could not resume (410, or a resourceVersion from the future). */
  relists: number;
  timer?: NodeJS.Timeout;
}

/** One informer's state, for metrics. */
export interface InformerStats {
  cluster: string;
  kind: CachedKind;
  synced: boolean;
  /** Whether its last list or watch failed (it is being restarted). */
  failing: boolean;
  restarts: number;
  relists: number;
}

const TYPE_OF = { add: 'ADDED', update: 'MODIFIED', delete: 'DELETED' } as const;

/**
 * Whether a watch ERROR event's Status means the watch cannot resume from its resourceVersion:
 * 410 Expired/Gone (compacted history), or the apiserver's 504 "Too large resource version"
 * (a resourceVersion from the server's future: it restarted with an older store).
 */
export function cannotResume(status: unknown): boolean {
  if (!status || typeof status !== 'object') return false;
  const s = status as {
    code?: unknown;
    reason?: unknown;
    details?: { causes?: { reason?: unknown }[] };
  };
  if (s.code === 410 || s.reason === 'Expired' || s.reason === 'Gone') return true;
  return (s.details?.causes ?? []).some((c) => c?.reason === 'ResourceVersionTooLarge');
}

/**
 * client-node's `Watch`, except that every ERROR event that forbids resuming reaches the
 * informer as a 410. client-node's `ListWatch` relists only on a 410 and would otherwise watch
 * again from the same resourceVersion forever, keeping deleted objects in its cache.
 */
class RelistingWatch extends Watch {
  /** Called when a watch cannot resume and the informer will relist. */
  onRelist?: () => void;

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(
      path,
      queryParams,
      (phase: string, obj: unknown, watchObj?: unknown) => {
        if (phase === 'ERROR' && cannotResume(obj)) {
          this.onRelist?.();
          callback(phase, { ...(obj as object), code: 410 }, watchObj);
        } else callback(phase, obj, watchObj);
      },
      done,
    );
  }
}

/** client-node's `makeInformer` with a {@link RelistingWatch}. */
function makeInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  listFn: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>,
  labelSelector?: string,
): Informer<KubernetesObject> & ObjectCache<KubernetesObject> & { watch: RelistingWatch } {
  const watch = new RelistingWatch(kc);
  const informer = new ListWatch<KubernetesObject>(path, watch, listFn, false, labelSelector);
  return Object.assign(informer, { watch });
}

export function errorMessage(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; statusCode?: unknown; message?: unknown; body?: unknown };
    const code =
      typeof e.statusCode === 'number' || typeof e.statusCode === 'string'
        ? e.statusCode
        : typeof e.code === 'number'
          ? e.code
          : undefined;
    // An object with no message: its fields say more than "[object Object]".
    let msg = typeof e.message === 'string' ? e.message : inspect(err, { breakLength: Infinity });
    if (typeof e.body === 'string') {
      try {
        const status = JSON.parse(e.body) as { message?: string };
        if (status.message) msg = status.message;
      } catch {
        /* not a Status */
      }
    }
    return code ? `${msg} (HTTP ${code})` : msg;
  }
  return String(err);
}

export class InformerCache {
  private readonly tracked: Tracked[] = [];
  private readonly listeners = new Set<(e: KubeObjectEvent) => void>();
  private readonly settledWaiters = new Set<() => void>();
  private stopped = false;

  constructor(
    readonly cluster: string,
    kc: KubeConfig,
    private readonly opts: InformerCacheOptions = {},
  ) {
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const autoscaling = kc.makeApiClient(AutoscalingV2Api);
    const labelSelector = WATCH_SELECTOR;
    this.track(
      'Deployment',
      makeInformer(
        kc,
        '/apis/apps/v1/deployments',
        () => apps.listDeploymentForAllNamespaces({ labelSelector }),
        labelSelector,
      ),
    );
    this.track(
      'Pod',
      makeInformer(
        kc,
        '/api/v1/pods',
        () => core.listPodForAllNamespaces({ labelSelector }),
        labelSelector,
      ),
    );
    this.track(
      'HorizontalPodAutoscaler',
      makeInformer(
        kc,
        '/apis/autoscaling/v2/horizontalpodautoscalers',
        () => autoscaling.listHorizontalPodAutoscalerForAllNamespaces({ labelSelector }),
        labelSelector,
      ),
    );
    // Events carry no labels: all of them, filtered per workload when read.
    this.track(
      'Event',
      makeInformer(kc, '/api/v1/events', () => core.listEventForAllNamespaces()),
    );
    // ReplicaSets (their labels come from the pod template): only to tell which RS events are a workload's.
    this.track(
      'ReplicaSet',
      makeInformer(
        kc,
        '/apis/apps/v1/replicasets',
        () => apps.listReplicaSetForAllNamespaces({ labelSelector }),
        labelSelector,
      ),
      false,
    );
  }

  private track(kind: CachedKind, informer: Tracked['informer'], published = true): void {
    const t: Tracked = {
      kind,
      published,
      informer,
      synced: false,
      settled: false,
      error: null,
      failures: 0,
      restarts: 0,
      relists: 0,
    };
    informer.watch.onRelist = () => t.relists++;
    if (published) {
      for (const verb of ['add', 'update', 'delete'] as const) {
        informer.on(verb, (obj) => this.emit(TYPE_OF[verb], kind as WatchedKind, obj));
      }
    }
    informer.on('error', (err) => {
      // stop() aborts the watch, which client-node reports as an "aborted" error: not a failure.
      if (this.stopped) return;
      t.error = errorMessage(err);
      t.failures++;
      this.settle(t);
      this.opts.onError?.(kind, err);
      // client-node's informer stops on any error but a 410: restart it, backing off.
      const base = this.opts.restartDelayMs ?? 500;
      const delay = Math.min(
        base * 2 ** Math.min(t.failures - 1, 10),
        this.opts.maxRestartDelayMs ?? 2_000,
      );
      clearTimeout(t.timer);
      t.timer = setTimeout(() => {
        t.restarts++;
        void this.run(t);
      }, delay);
    });
    this.tracked.push(t);
  }

  private async run(t: Tracked): Promise<void> {
    if (this.stopped) return;
    const before = t.failures;
    await t.informer.start().catch(() => undefined);
    if (this.stopped || t.failures !== before) return;
    t.synced = true;
    t.error = null;
    t.failures = 0;
    this.settle(t);
  }

  private settle(t: Tracked): void {
    t.settled = true;
    if (this.tracked.every((x) => x.settled)) for (const w of [...this.settledWaiters]) w();
  }

  /** Starts every informer; does not wait (see {@link whenSynced}). */
  start(): void {
    for (const t of this.tracked) void this.run(t);
  }

  /** Resolves when every informer has listed once or failed, or after `timeoutMs` (default 5000). */
  whenSynced(timeoutMs = 5000): Promise<void> {
    if (this.tracked.every((t) => t.settled)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.settledWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.settledWaiters.add(done);
    });
  }

  /** `null` when every informer is synced and watching; else why not. */
  health(): string | null {
    const bad = this.tracked.find((t) => t.error || !t.synced);
    if (!bad) return null;
    return bad.error
      ? `cluster ${this.cluster} is unreachable: ${bad.error}`
      : `cluster ${this.cluster}: cache not synced yet`;
  }

  /** Each informer's state (metrics). */
  stats(): InformerStats[] {
    return this.tracked.map((t) => ({
      cluster: this.cluster,
      kind: t.kind,
      synced: t.synced,
      failing: t.error !== null,
      restarts: t.restarts,
      relists: t.relists,
    }));
  }

  /** Whether anything was ever listed (a stale cache is better than none, with an error). */
  get everSynced(): boolean {
    return this.tracked.every((t) => t.synced);
  }

  /** The cached objects of `kind` in `namespace` (every namespace when omitted). */
  list<K extends CachedKind>(kind: K, namespace?: string): CachedObjects[K][] {
    const t = this.tracked.find((x) => x.kind === kind)!;
    // The informer of a kind is built from that kind's list call and watch path: it holds only that kind.
    return t.informer.list(namespace) as CachedObjects[K][];
  }

  get<K extends CachedKind>(
    kind: K,
    namespace: string,
    name: string,
  ): CachedObjects[K] | undefined {
    const t = this.tracked.find((x) => x.kind === kind)!;
    return t.informer.get(name, namespace);
  }

  onEvent(listener: (e: KubeObjectEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every cached object as a MODIFIED event marked `resync`. */
  snapshot(): KubeObjectEvent[] {
    const out: KubeObjectEvent[] = [];
    for (const t of this.tracked) {
      if (!t.published) continue;
      for (const obj of t.informer.list())
        out.push({
          ...this.normalize('MODIFIED', t.kind as WatchedKind, obj),
          resync: true,
        });
    }
    return out;
  }

  private emit(type: KubeObjectEvent['type'], kind: WatchedKind, obj: KubernetesObject): void {
    if (this.stopped || !this.listeners.size) return;
    const e = this.normalize(type, kind, obj);
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        /* a listener's failure must not stop the informer */
      }
    }
  }

  normalize(
    type: KubeObjectEvent['type'],
    kind: WatchedKind,
    obj: KubernetesObject,
  ): KubeObjectEvent {
    const m: V1ObjectMeta = obj.metadata ?? {};
    const rv = String(m.resourceVersion ?? '');
    const uid = String(m.uid ?? `${m.namespace}/${m.name}`);
    const e: KubeObjectEvent = {
      id: `${this.cluster}/${uid}/${rv}${type === 'DELETED' ? '/deleted' : ''}`,
      type,
      kind,
      cluster: this.cluster,
      namespace: m.namespace ?? '',
      name: m.name ?? '',
      uid,
      resourceVersion: rv,
      ...appLabelsOf(obj),
      observedAt: new Date().toISOString(),
    };
    // `kind` is the informer's, and each informer holds only its kind (see `list`).
    if (kind === 'Pod') e.pod = podState(obj);
    if (kind === 'Event') e.event = eventState(obj);
    return e;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of [...this.settledWaiters]) w();
    await Promise.all(
      this.tracked.map(async (t) => {
        clearTimeout(t.timer);
        await t.informer.stop().catch(() => undefined);
      }),
    );
  }
}
