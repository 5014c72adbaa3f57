/** Runs the simulated controllers: a debounced reconcile pass after every write plus a periodic resync. */
import { DeploymentController } from './deployment-controller.js';
import type { EventRecorder } from './event-recorder.js';
import { GarbageCollector } from './garbage-collector.js';
import { HpaController } from './hpa-controller.js';
import { JobController, JOBS } from './jobs.js';
import { NamespaceController } from './namespaces.js';
import { EndpointsController } from './endpoints.js';
import type { Registry } from './registry.js';
import { ReplicaSetController } from './replicaset-controller.js';
import { findResource, type ResourceDef } from './resources.js';
import type { SimTiming } from './types.js';
import type {
  Deployment,
  HorizontalPodAutoscaler,
  Job,
  Namespace,
  ReplicaSet,
  Stored,
} from './kinds.js';

const DEPLOY = findResource('apps', 'v1', 'deployments') as ResourceDef;
const RS = findResource('apps', 'v1', 'replicasets') as ResourceDef;
const NAMESPACES = findResource('', 'v1', 'namespaces') as ResourceDef;
const HPA = findResource('autoscaling', 'v2', 'horizontalpodautoscalers') as ResourceDef;

export class ControllerManager {
  private readonly deployments: DeploymentController;
  private readonly replicaSets: ReplicaSetController;
  private readonly hpas: HpaController;
  private readonly gc: GarbageCollector;
  private readonly jobs: JobController;
  private readonly namespaces: NamespaceController;
  private readonly endpoints: EndpointsController;
  private pending?: NodeJS.Timeout;
  private readonly resync: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private closed = false;
  private passes = 0;
  private lastEventExpiry = 0;
  /** Errors thrown by controllers (kept for debugging; never rethrown). */
  readonly errors: unknown[] = [];

  constructor(
    private readonly registry: Registry,
    recorder: EventRecorder,
    private readonly timing: SimTiming,
  ) {
    this.deployments = new DeploymentController(registry, recorder);
    this.replicaSets = new ReplicaSetController(registry, recorder);
    this.hpas = new HpaController(registry, recorder);
    this.gc = new GarbageCollector(registry);
    this.jobs = new JobController(registry, recorder, timing);
    this.namespaces = new NamespaceController(registry, timing);
    this.endpoints = new EndpointsController(registry);
    this.unsubscribe = registry.store.subscribe((e) => {
      if (e.storeKey !== 'events') this.kick();
    });
    this.resync = setInterval(() => this.kick(), Math.max(10, timing.resyncMs));
    this.resync.unref?.();
  }

  /** Schedules a reconcile pass soon (coalesces bursts of writes). */
  kick(): void {
    if (this.closed || this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.run();
    }, 1);
    this.pending.unref?.();
  }

  get reconcilePasses(): number {
    return this.passes;
  }

  private run(): void {
    if (this.closed) return;
    this.passes++;
    const step = (fn: () => void): void => {
      try {
        fn();
      } catch (err) {
        if (this.errors.length < 100) this.errors.push(err);
      }
    };
    for (const ns of this.registry.listWhere(
      NAMESPACES,
      undefined,
      (n) => !!(n as Namespace).metadata?.deletionTimestamp,
    ))
      step(() => this.namespaces.sync(ns as Stored<Namespace>));
    step(() => this.gc.sweep());
    const now = Date.now();
    if (now - this.lastEventExpiry >= Math.min(60_000, this.timing.eventTtlMs)) {
      this.lastEventExpiry = now;
      step(() => this.gc.expireEvents(this.timing.eventTtlMs, now));
    }
    for (const d of this.registry.list(DEPLOY, undefined))
      step(() => this.deployments.sync(d as Stored<Deployment>));
    for (const rs of this.registry.list(RS, undefined))
      step(() => this.replicaSets.sync(rs as Stored<ReplicaSet>));
    for (const h of this.registry.list(HPA, undefined))
      step(() => this.hpas.sync(h as Stored<HorizontalPodAutoscaler>));
    for (const j of this.registry.list(JOBS, undefined))
      step(() => this.jobs.sync(j as Stored<Job>));
    step(() => this.endpoints.syncAll());
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    if (this.pending) clearTimeout(this.pending);
    clearInterval(this.resync);
  }
}
