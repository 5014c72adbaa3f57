/** The resource types the simulator serves: names, kinds, verbs, scopes (one table drives discovery, routing and storage). */
import type {
  CoreEvent,
  EventV1,
  HorizontalPodAutoscaler,
  HorizontalPodAutoscalerSpec,
  HorizontalPodAutoscalerStatus,
  MetricSpec,
  MetricStatus,
} from './kinds.js';
import type { Obj } from './types.js';

export interface ResourceDef {
  group: string;
  version: string;
  /** Plural resource name, e.g. `deployments`. */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Subresources served (`status`, `scale`). */
  subresources: string[];
  /** Storage bucket; two resources may share one (core and events.k8s.io events). */
  storeKey: string;
  /** Storage form → this API version's form. */
  toExternal?: (o: Obj) => Obj;
  /** This API version's form → storage form. */
  toInternal?: (o: Obj) => Obj;
  /** Create-only, never stored: the answer is computed from the request (access reviews). */
  virtual?: true;
}

const ALL_VERBS = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

export function apiVersionOf(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** Core Event (storage form) → events.k8s.io/v1 Event. */
export function coreEventToEventsV1(obj: Obj): Obj {
  const e = obj as CoreEvent;
  const out: EventV1 = {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: e.metadata,
    eventTime: e.eventTime ?? null,
    reportingController: e.reportingComponent || e.source?.component || '',
    reportingInstance: e.reportingInstance || e.source?.host || '',
    action: e.action ?? '',
    reason: e.reason,
    regarding: e.involvedObject,
    note: e.message,
    type: e.type,
    deprecatedSource: e.source ?? {},
    deprecatedFirstTimestamp: e.firstTimestamp ?? null,
    deprecatedLastTimestamp: e.lastTimestamp ?? null,
    deprecatedCount: e.count ?? 0,
  };
  if (e.related) out.related = e.related;
  if (e.series) out.series = e.series;
  return out;
}

/** events.k8s.io/v1 Event → core Event (storage form). */
export function eventsV1ToCoreEvent(obj: Obj): Obj {
  const e = obj as EventV1;
  const out: CoreEvent = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: e.metadata ?? {},
    involvedObject: e.regarding ?? {},
    reason: e.reason,
    message: e.note,
    type: e.type,
    source: e.deprecatedSource ?? { component: e.reportingController },
    firstTimestamp: e.deprecatedFirstTimestamp ?? null,
    lastTimestamp: e.deprecatedLastTimestamp ?? null,
    count: e.deprecatedCount ?? 1,
    eventTime: e.eventTime ?? null,
    reportingComponent: e.reportingController ?? '',
    reportingInstance: e.reportingInstance ?? '',
    action: e.action,
  };
  if (e.related) out.related = e.related;
  if (e.series) out.series = e.series;
  return out;
}

const CPU_UTILIZATION = (m: MetricSpec | undefined): boolean =>
  m?.type === 'Resource' &&
  m.resource?.name === 'cpu' &&
  m.resource?.target?.type === 'Utilization';

/**
 * autoscaling/v2 HPA (storage form) → autoscaling/v1: only the CPU utilization target and
 * status survive (upstream keeps the other metrics in alpha annotations; the simulator does not).
 */
export function hpaV2ToV1(obj: Obj): Obj {
  const h = obj as HorizontalPodAutoscaler;
  const spec: HorizontalPodAutoscalerSpec = h.spec ?? {};
  const status: HorizontalPodAutoscalerStatus = h.status ?? {};
  const cpu = (spec.metrics ?? []).find(CPU_UTILIZATION);
  const current = (status.currentMetrics ?? []).find(
    (m: MetricStatus | undefined) => m?.type === 'Resource' && m.resource?.name === 'cpu',
  );
  const v1Spec: HorizontalPodAutoscalerSpec = {
    scaleTargetRef: spec.scaleTargetRef,
    minReplicas: spec.minReplicas,
    maxReplicas: spec.maxReplicas,
  };
  if (cpu) v1Spec.targetCPUUtilizationPercentage = cpu.resource?.target?.averageUtilization;
  const v1Status: HorizontalPodAutoscalerStatus = {
    currentReplicas: status.currentReplicas ?? 0,
    desiredReplicas: status.desiredReplicas ?? 0,
  };
  if (status.observedGeneration !== undefined)
    v1Status.observedGeneration = status.observedGeneration;
  if (status.lastScaleTime) v1Status.lastScaleTime = status.lastScaleTime;
  if (current?.resource?.current?.averageUtilization !== undefined)
    v1Status.currentCPUUtilizationPercentage = current.resource.current.averageUtilization;
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: h.metadata,
    spec: v1Spec,
    status: v1Status,
  };
}

/** autoscaling/v1 HPA → autoscaling/v2 (storage form): the CPU target becomes a Resource metric. */
export function hpaV1ToV2(obj: Obj): Obj {
  const h = obj as HorizontalPodAutoscaler;
  const spec: HorizontalPodAutoscalerSpec = h.spec ?? {};
  const v2Spec: HorizontalPodAutoscalerSpec = {
    scaleTargetRef: spec.scaleTargetRef,
    maxReplicas: spec.maxReplicas,
  };
  if (spec.minReplicas !== undefined) v2Spec.minReplicas = spec.minReplicas;
  if (spec.targetCPUUtilizationPercentage !== undefined)
    v2Spec.metrics = [
      {
        type: 'Resource',
        resource: {
          name: 'cpu',
          target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage },
        },
      },
    ];
  const out: HorizontalPodAutoscaler = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: h.metadata ?? {},
    spec: v2Spec,
  };
  if (h.status) {
    out.status = {
      currentReplicas: h.status.currentReplicas,
      desiredReplicas: h.status.desiredReplicas,
    };
    if (h.status.lastScaleTime) out.status.lastScaleTime = h.status.lastScaleTime;
    if (h.status.observedGeneration !== undefined)
      out.status.observedGeneration = h.status.observedGeneration;
  }
  return out;
}

export const RESOURCES: ResourceDef[] = [
  {
    group: '',
    version: 'v1',
    resource: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    categories: [],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['status'],
    storeKey: 'namespaces',
  },
  {
    group: '',
    version: 'v1',
    resource: 'nodes',
    singular: 'node',
    kind: 'Node',
    namespaced: false,
    shortNames: ['no'],
    categories: [],
    verbs: ALL_VERBS,
    subresources: ['status'],
    storeKey: 'nodes',
  },
  {
    group: '',
    version: 'v1',
    resource: 'pods',
    singular: 'pod',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    verbs: ALL_VERBS,
    subresources: ['status', 'log'],
    storeKey: 'pods',
  },
  {
    group: '',
    version: 'v1',
    resource: 'services',
    singular: 'service',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    verbs: ALL_VERBS,
    subresources: ['status'],
    storeKey: 'services',
  },
  {
    group: '',
    version: 'v1',
    resource: 'endpoints',
    singular: 'endpoints',
    kind: 'Endpoints',
    namespaced: true,
    shortNames: ['ep'],
    categories: [],
    verbs: ALL_VERBS,
    subresources: [],
    storeKey: 'endpoints',
  },
  {
    group: '',
    version: 'v1',
    resource: 'configmaps',
    singular: 'configmap',
    kind: 'ConfigMap',
    namespaced: true,
    shortNames: ['cm'],
    categories: [],
    verbs: ALL_VERBS,
    subresources: [],
    storeKey: 'configmaps',
  },
  {
    group: '',
    version: 'v1',
    resource: 'secrets',
    singular: 'secret',
    kind: 'Secret',
    namespaced: true,
    shortNames: [],
    categories: [],
    verbs: ALL_VERBS,
    subresources: [],
    storeKey: 'secrets',
  },
  {
    group: '',
    version: 'v1',
    resource: 'events',
    singular: 'event',
    kind: 'Event',
    namespaced: true,
    shortNames: ['ev'],
    categories: [],
    verbs: ALL_VERBS,
    subresources: [],
    storeKey: 'events',
  },
  {
    group: 'apps',
    version: 'v1',
    resource: 'deployments',
    singular: 'deployment',
    kind: 'Deployment',
    namespaced: true,
    shortNames: ['deploy'],
    categories: ['all'],
    verbs: ALL_VERBS,
    subresources: ['status', 'scale'],
    storeKey: 'deployments.apps',
  },
  {
    group: 'apps',
    version: 'v1',
    resource: 'replicasets',
    singular: 'replicaset',
    kind: 'ReplicaSet',
    namespaced: true,
    shortNames: ['rs'],
    categories: ['all'],
    verbs: ALL_VERBS,
    subresources: ['status', 'scale'],
    storeKey: 'replicasets.apps',
  },
  {
    group: 'batch',
    version: 'v1',
    resource: 'jobs',
    singular: 'job',
    kind: 'Job',
    namespaced: true,
    shortNames: [],
    categories: ['all'],
    verbs: ALL_VERBS,
    subresources: ['status'],
    storeKey: 'jobs.batch',
  },
  {
    group: 'discovery.k8s.io',
    version: 'v1',
    resource: 'endpointslices',
    singular: 'endpointslice',
    kind: 'EndpointSlice',
    namespaced: true,
    shortNames: [],
    categories: [],
    verbs: ALL_VERBS,
    subresources: [],
    storeKey: 'endpointslices.discovery.k8s.io',
  },
  {
    group: 'autoscaling',
    version: 'v2',
    resource: 'horizontalpodautoscalers',
    singular: 'horizontalpodautoscaler',
    kind: 'HorizontalPodAutoscaler',
    namespaced: true,
    shortNames: ['hpa'],
    categories: ['all'],
    verbs: ALL_VERBS,
    subresources: ['status'],
    storeKey: 'horizontalpodautoscalers.autoscaling',
  },
  {
    group: 'autoscaling',
    version: 'v1',
    resource: 'horizontalpodautoscalers',
    singular: 'horizontalpodautoscaler',
    kind: 'HorizontalPodAutoscaler',
    namespaced: true,
    shortNames: ['hpa'],
    categories: ['all'],
    verbs: ALL_VERBS,
    subresources: ['status'],
    storeKey: 'horizontalpodautoscalers.autoscaling',
    toExternal: hpaV2ToV1,
    toInternal: hpaV1ToV2,
  },
  {
    group: 'events.k8s.io',
    version: 'v1',
    resource: 'events',
    singular: 'event',
    kind: 'Event',
    namespaced: true,
    shortNames: ['ev'],
    categories: [],
    verbs: ALL_VERBS,
    subresources: [],
    storeKey: 'events',
    toExternal: coreEventToEventsV1,
    toInternal: eventsV1ToCoreEvent,
  },
  // Reviews: what `kubectl auth can-i` and `kubectl auth whoami` post.
  {
    group: 'authorization.k8s.io',
    version: 'v1',
    resource: 'selfsubjectaccessreviews',
    singular: 'selfsubjectaccessreview',
    kind: 'SelfSubjectAccessReview',
    namespaced: false,
    shortNames: [],
    categories: [],
    verbs: ['create'],
    subresources: [],
    storeKey: 'selfsubjectaccessreviews.authorization.k8s.io',
    virtual: true,
  },
  {
    group: 'authorization.k8s.io',
    version: 'v1',
    resource: 'selfsubjectrulesreviews',
    singular: 'selfsubjectrulesreview',
    kind: 'SelfSubjectRulesReview',
    namespaced: false,
    shortNames: [],
    categories: [],
    verbs: ['create'],
    subresources: [],
    storeKey: 'selfsubjectrulesreviews.authorization.k8s.io',
    virtual: true,
  },
  {
    group: 'authentication.k8s.io',
    version: 'v1',
    resource: 'selfsubjectreviews',
    singular: 'selfsubjectreview',
    kind: 'SelfSubjectReview',
    namespaced: false,
    shortNames: [],
    categories: [],
    verbs: ['create'],
    subresources: [],
    storeKey: 'selfsubjectreviews.authentication.k8s.io',
    virtual: true,
  },
];

/** Group versions served, in discovery order; the first version of a group is preferred. */
export const GROUP_VERSIONS: { group: string; version: string }[] = [
  { group: 'apps', version: 'v1' },
  { group: 'autoscaling', version: 'v2' },
  { group: 'autoscaling', version: 'v1' },
  { group: 'batch', version: 'v1' },
  { group: 'discovery.k8s.io', version: 'v1' },
  { group: 'events.k8s.io', version: 'v1' },
  { group: 'authorization.k8s.io', version: 'v1' },
  { group: 'authentication.k8s.io', version: 'v1' },
];

export function findResource(
  group: string,
  version: string,
  resource: string,
): ResourceDef | undefined {
  return RESOURCES.find(
    (r) => r.group === group && r.version === version && r.resource === resource,
  );
}

/** The storage-form resource (the one without conversion) for a store bucket. */
export function resourceForStoreKey(storeKey: string): ResourceDef {
  const r = RESOURCES.find((x) => x.storeKey === storeKey && !x.toExternal);
  if (!r) throw new Error(`no resource for store key ${storeKey}`);
  return r;
}

export function resourceByKind(apiVersion: string, kind: string): ResourceDef | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}
