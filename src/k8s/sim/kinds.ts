/**
 * Shapes of the built-in kinds, one per kind, for both sides of the simulator: the apiserver side
 * (defaulting, validation, tables, selectors, conversions, the registry) and the controllers and
 * kubelet. The store holds plain JSON (`Obj`); code narrows it at its boundary (`o as Pod`).
 *
 * A shape says what the store may hold, and stored objects come from clients, so nearly every
 * field is optional, even those the apiserver always sets: the same shapes describe request
 * bodies before defaulting and validation. Code that relies on what the registry guarantees
 * narrows where it reads: to {@link Stored} for the name and uid, and locally for what defaulting
 * and validation guarantee (a pod's spec and status in the kubelet, a deployment's strategy,
 * selector and template in the deployment controller). Timestamps are RFC 3339 strings (JSON),
 * not Dates, which is why client-node's model classes are not used. Fields read only defensively
 * (user input that validation does not check) are `unknown`.
 */
import type { Condition, JsonObject, KObject, LabelSelector, ObjectMeta } from './types.js';

export type Labels = Record<string, string>;

// ---- pods -----------------------------------------------------------------------------------------------

export interface ContainerPort {
  name?: string;
  containerPort?: number;
  protocol?: string;
}

export interface Container {
  name?: string;
  image?: string;
  imagePullPolicy?: string;
  ports?: ContainerPort[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  terminationMessagePath?: string;
  terminationMessagePolicy?: string;
}

export interface ContainerStateWaiting {
  reason?: string;
  message?: string;
}

export interface ContainerStateRunning {
  startedAt?: string;
}

export interface ContainerStateTerminated {
  exitCode?: number;
  signal?: number;
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
  name?: string;
  image?: string;
  imageID?: string;
  containerID?: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  state?: ContainerState;
  lastState?: ContainerState;
}

export interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  nodeName?: string;
  restartPolicy?: string;
  schedulerName?: string;
  serviceAccountName?: string;
  hostNetwork?: boolean;
  readinessGates?: { conditionType: string }[];
  terminationGracePeriodSeconds?: number;
  dnsPolicy?: string;
  securityContext?: JsonObject;
  enableServiceLinks?: boolean;
  preemptionPolicy?: string;
  priority?: number;
}

export interface PodIP {
  ip: string;
}

export interface PodStatus {
  phase?: string;
  reason?: string;
  hostIP?: string;
  hostIPs?: PodIP[];
  podIP?: string;
  podIPs?: PodIP[];
  nominatedNodeName?: string;
  qosClass?: string;
  startTime?: string;
  conditions?: Condition[];
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
}

/** A pod (the apiserver defaults `spec` and `status` on every write). */
export interface Pod extends KObject {
  spec?: PodSpec;
  status?: PodStatus;
}

export interface PodTemplateSpec {
  metadata?: ObjectMeta;
  spec?: PodSpec;
}

// ---- workloads ------------------------------------------------------------------------------------------

export interface ReplicaSetSpec {
  replicas?: number;
  minReadySeconds?: number;
  selector?: LabelSelector;
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

export interface ReplicaSet extends KObject {
  spec?: ReplicaSetSpec;
  status?: ReplicaSetStatus;
}

export interface RollingUpdate {
  maxSurge?: number | string;
  maxUnavailable?: number | string;
}

export interface DeploymentStrategy {
  type?: string;
  /** Only for the RollingUpdate type. */
  rollingUpdate?: RollingUpdate;
}

export interface DeploymentSpec {
  replicas?: number;
  selector?: LabelSelector;
  template?: PodTemplateSpec;
  /** Always set once defaulted. */
  strategy?: DeploymentStrategy;
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

export interface Deployment extends KObject {
  spec?: DeploymentSpec;
  status?: DeploymentStatus;
}

/**
 * batch/v1 JobSpec. The int32 counts are numbers or null once stored (a write with anything else
 * is refused before defaulting and validation, see `checkInt32Body`); the other fields the
 * controller reads are whatever the client wrote.
 */
export interface JobSpec {
  parallelism?: number | null;
  completions?: number | null;
  backoffLimit?: number | null;
  ttlSecondsAfterFinished?: number | null;
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

export interface Job extends KObject {
  spec?: JobSpec;
  status?: JobStatus;
}

// ---- autoscaling ----------------------------------------------------------------------------------------

export interface CrossVersionObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
}

export interface MetricTarget {
  type?: string;
  averageUtilization?: number;
  averageValue?: string;
  value?: string;
}

export interface MetricSpec {
  type?: string;
  resource?: { name?: string; target?: MetricTarget };
}

export interface MetricStatus {
  type?: string;
  resource?: { name?: string; current?: { averageUtilization?: number; averageValue?: string } };
}

export interface HorizontalPodAutoscalerSpec {
  scaleTargetRef?: CrossVersionObjectReference;
  minReplicas?: number;
  maxReplicas?: number;
  metrics?: MetricSpec[];
  behavior?: { scaleUp?: JsonObject; scaleDown?: JsonObject };
  /** autoscaling/v1 only. */
  targetCPUUtilizationPercentage?: number;
}

export interface HorizontalPodAutoscalerStatus {
  currentReplicas?: number;
  desiredReplicas?: number;
  currentMetrics?: MetricStatus[] | null;
  lastScaleTime?: string;
  observedGeneration?: number;
  conditions?: Condition[];
  /** autoscaling/v1 only. */
  currentCPUUtilizationPercentage?: number;
}

export interface HorizontalPodAutoscaler extends KObject {
  spec?: HorizontalPodAutoscalerSpec;
  status?: HorizontalPodAutoscalerStatus;
}

// ---- services and endpoints -----------------------------------------------------------------------------

export interface ServicePort {
  name?: string;
  protocol?: string;
  port?: number;
  targetPort?: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  externalName?: string;
  externalIPs?: string[];
  ports?: ServicePort[];
  selector?: Labels;
  sessionAffinity?: string;
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  internalTrafficPolicy?: string;
}

export interface Service extends KObject {
  spec?: ServiceSpec;
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
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
  port?: number;
  protocol?: string;
  appProtocol?: string;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

export interface Endpoints extends KObject {
  subsets?: EndpointSubset[];
}

export interface EndpointSliceEndpoint {
  addresses?: unknown[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  nodeName?: string;
  targetRef?: ObjectReference;
}

export interface EndpointSlicePort {
  name?: string;
  protocol?: string;
  port?: number | null;
  appProtocol?: string;
}

export interface EndpointSlice extends KObject {
  addressType?: string;
  endpoints?: EndpointSliceEndpoint[];
  ports?: EndpointSlicePort[];
}

// ---- nodes, config, namespaces --------------------------------------------------------------------------

export interface Node extends KObject {
  spec?: { unschedulable?: boolean };
  status?: {
    conditions?: Condition[];
    addresses?: { type: string; address: string }[];
    nodeInfo?: {
      kubeletVersion?: string;
      osImage?: string;
      kernelVersion?: string;
      containerRuntimeVersion?: string;
    };
  };
}

export interface ConfigMap extends KObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

export interface Secret extends KObject {
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, unknown>;
}

export interface Namespace extends KObject {
  spec?: { finalizers?: string[] };
  status?: { phase?: string; conditions?: Condition[] };
}

// ---- events ---------------------------------------------------------------------------------------------

/** core/v1 Event (the storage form of both event APIs). */
export interface CoreEvent extends KObject {
  involvedObject?: ObjectReference;
  reason?: string;
  message?: string;
  type?: string;
  source?: { component?: string; host?: string };
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  count?: number;
  series?: { count?: number; lastObservedTime?: string };
  related?: ObjectReference;
  reportingComponent?: string;
  reportingInstance?: string;
  action?: string;
}

/** events.k8s.io/v1 Event. */
export interface EventV1 extends KObject {
  regarding?: ObjectReference;
  related?: ObjectReference;
  reason?: string;
  note?: string;
  type?: string;
  action?: string;
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string };
  reportingController?: string;
  reportingInstance?: string;
  deprecatedSource?: { component?: string; host?: string };
  deprecatedFirstTimestamp?: string | null;
  deprecatedLastTimestamp?: string | null;
  deprecatedCount?: number;
}

// ---- stored objects -------------------------------------------------------------------------------------

/**
 * An object as the store holds it: the registry gives every object it creates a name and a uid.
 * The kind shapes leave them optional (the apiserver side reads the same shapes in request
 * bodies); the controllers and the kubelet, which only see stored objects, narrow what they read
 * from the store to this (`o as Stored<Pod>`).
 */
export type Stored<T extends KObject = KObject> = T & { metadata: { name: string; uid: string } };
