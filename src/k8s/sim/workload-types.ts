/**
 * Typed views of the objects the simulated controllers and kubelet read and write. The store hands
 * out plain JSON (`Obj`); the controllers narrow it here at the boundary (`x as Pod`) and pass typed
 * objects back (they are assignable to `Obj`). Fields are typed as the simulator sees them once the
 * apiserver side has defaulted and validated an object: timestamps are RFC 3339 strings (JSON), not
 * Dates, which is why client-node's model classes are not used. Fields the controllers only read
 * defensively (user input the validation does not check) are `unknown`.
 */

import type { LabelSelector } from './types.js';

/** A JSON object whose fields are not known. */
export type JsonObject = Record<string, unknown>;

export function isRecord(x: unknown): x is JsonObject {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** `x` if it is a string, else undefined. */
export function str(x: unknown): string | undefined {
  return typeof x === 'string' ? x : undefined;
}

/**
 * `String(x)` of a value of any JSON type, for messages about user input: the apiserver echoes
 * invalid values whatever their type (an object shows as `[object Object]`, as before typing).
 */
export function show(x: unknown): string {
  return String(x);
}

export type Labels = Record<string, string>;

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** metav1.ObjectMeta of a stored object (name and uid are always set there). */
export interface ObjectMeta {
  name: string;
  generateName?: string;
  namespace?: string;
  uid: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Labels;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
}

/** The metadata of a stored namespaced object. */
export interface NamespacedMeta extends ObjectMeta {
  namespace: string;
}

/** Any stored object. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/** The body of an object about to be created: no uid yet, maybe only a generateName, no status. */
export type Draft<T extends KubeObject> = Omit<T, 'metadata' | 'status'> & {
  metadata: Partial<T['metadata']>;
  status?: T extends { status?: infer S } ? S : never;
};

/** A status condition (the union of the fields the workload kinds use). */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string | null;
}

export type { LabelSelector };

// ---- pods -----------------------------------------------------------------------------------------------

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
}

export interface ContainerStateWaiting {
  reason?: string;
  message?: string;
}

export interface ContainerStateRunning {
  startedAt?: string;
}

export interface ContainerStateTerminated {
  exitCode: number;
  reason?: string;
  startedAt?: string;
  finishedAt?: string;
  containerID?: string;
}

export interface ContainerState {
  waiting?: ContainerStateWaiting;
  running?: ContainerStateRunning;
  terminated?: ContainerStateTerminated;
}

export interface ContainerStatus {
  name: string;
  image?: string;
  imageID?: string;
  containerID?: string;
  ready: boolean;
  started?: boolean;
  restartCount?: number;
  lastState?: ContainerState;
  state?: ContainerState;
}

export interface PodSpec {
  containers?: Container[];
  nodeName?: string;
  restartPolicy?: string;
}

export interface PodIP {
  ip: string;
}

export interface PodStatus {
  phase?: string;
  hostIP?: string;
  hostIPs?: PodIP[];
  podIP?: string;
  podIPs?: PodIP[];
  startTime?: string;
  conditions?: Condition[];
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
}

/** A stored pod (the apiserver defaults `spec` and `status`). */
export interface Pod extends KubeObject {
  metadata: NamespacedMeta;
  spec: PodSpec;
  status: PodStatus;
}

export interface PodTemplateSpec {
  metadata?: { labels?: Labels; annotations?: Record<string, string> };
  spec?: PodSpec;
}

// ---- workloads ------------------------------------------------------------------------------------------

export interface ReplicaSetSpec {
  replicas?: number;
  minReadySeconds?: number;
  selector: LabelSelector;
  template?: PodTemplateSpec;
}

export interface ReplicaSetStatus {
  replicas?: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: Condition[];
}

export interface ReplicaSet extends KubeObject {
  metadata: NamespacedMeta;
  spec: ReplicaSetSpec;
  status?: ReplicaSetStatus;
}

export interface RollingUpdate {
  maxSurge?: number | string;
  maxUnavailable?: number | string;
}

export interface DeploymentSpec {
  replicas?: number;
  selector: LabelSelector;
  template: PodTemplateSpec;
  /** Always set once defaulted; `rollingUpdate` only for the RollingUpdate type. */
  strategy: { type?: string; rollingUpdate?: RollingUpdate };
  minReadySeconds?: number;
  revisionHistoryLimit?: number | null;
  progressDeadlineSeconds?: number;
  paused?: boolean;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  collisionCount?: number;
  conditions?: Condition[];
}

export interface Deployment extends KubeObject {
  metadata: NamespacedMeta;
  spec: DeploymentSpec;
  status?: DeploymentStatus;
}

/** batch/v1 JobSpec; the counts are `unknown` as validation reads them before they are checked. */
export interface JobSpec {
  parallelism?: unknown;
  completions?: unknown;
  backoffLimit?: unknown;
  ttlSecondsAfterFinished?: unknown;
  activeDeadlineSeconds?: unknown;
  completionMode?: unknown;
  suspend?: boolean;
  manualSelector?: boolean;
  podFailurePolicy?: unknown;
  podReplacementPolicy?: string;
  selector?: LabelSelector;
  template?: PodTemplateSpec;
}

export interface JobStatus {
  startTime?: string;
  completionTime?: string;
  active?: number;
  ready?: number;
  terminating?: number;
  succeeded?: number;
  failed?: number;
  conditions?: Condition[];
  uncountedTerminatedPods?: { succeeded?: string[]; failed?: string[] };
}

export interface Job extends KubeObject {
  metadata: NamespacedMeta;
  spec: JobSpec;
  status?: JobStatus;
}

export interface CrossVersionObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
}

export interface HorizontalPodAutoscalerStatus {
  currentReplicas?: number;
  desiredReplicas?: number;
  lastScaleTime?: string;
  currentMetrics?: unknown[] | null;
  conditions?: Condition[];
}

export interface HorizontalPodAutoscaler extends KubeObject {
  metadata: NamespacedMeta;
  spec: {
    scaleTargetRef?: CrossVersionObjectReference;
    minReplicas?: number;
    maxReplicas?: number;
  };
  status?: HorizontalPodAutoscalerStatus;
}

// ---- services and endpoints -----------------------------------------------------------------------------

export interface ServicePort {
  name?: string;
  protocol?: string;
  port?: number;
  targetPort?: number | string;
  appProtocol?: string;
}

export interface Service extends KubeObject {
  metadata: NamespacedMeta;
  spec?: {
    selector?: Labels;
    type?: string;
    clusterIP?: string;
    ports?: ServicePort[];
  };
}

export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface EndpointAddress {
  ip?: string;
  nodeName?: string;
  targetRef?: ObjectReference;
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

export interface Endpoints extends KubeObject {
  metadata: NamespacedMeta;
  subsets?: EndpointSubset[];
}

export interface EndpointSliceEndpoint {
  addresses: (string | undefined)[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  nodeName?: string;
  targetRef: ObjectReference;
}

export interface EndpointSlicePort {
  name: string;
  protocol: string;
  port?: number;
  appProtocol?: string;
}

export interface EndpointSlice extends KubeObject {
  metadata: NamespacedMeta;
  addressType?: string;
  endpoints?: EndpointSliceEndpoint[];
  ports?: EndpointSlicePort[];
}

// ---- events and namespaces ------------------------------------------------------------------------------

/** A core v1 Event. */
export interface CoreEvent extends KubeObject {
  metadata: NamespacedMeta;
  involvedObject: ObjectReference;
  reason?: string;
  message?: string;
  source?: { component: string; host?: string };
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  count?: number;
  type?: string;
  eventTime?: string | null;
  reportingComponent?: string;
  reportingInstance?: string;
}

export interface Namespace extends KubeObject {
  status?: { phase?: string; conditions?: Condition[] };
}
