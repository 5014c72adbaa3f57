/**
 * Shapes of the built-in kinds, as far as the API-server side of the simulator (tables, defaulting,
 * selectors, registry, conversions) reads them. Every field is optional: stored objects come from
 * clients, and code that reads them narrows an `Obj` at its boundary (`const p = o as Pod`).
 */
import type { Condition, JsonObject, KObject, LabelSelector, ObjectMeta } from './types.js';

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

export interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: {
    reason?: string;
    exitCode?: number;
    signal?: number;
    startedAt?: string;
    finishedAt?: string;
  };
}

export interface ContainerStatus {
  name?: string;
  ready?: boolean;
  restartCount?: number;
  state?: ContainerState;
  lastState?: ContainerState;
}

export interface PodStatus {
  phase?: string;
  reason?: string;
  podIP?: string;
  nominatedNodeName?: string;
  qosClass?: string;
  conditions?: Condition[];
  containerStatuses?: ContainerStatus[];
}

export interface Pod extends KObject {
  spec?: PodSpec;
  status?: PodStatus;
}

export interface PodTemplateSpec {
  metadata?: ObjectMeta;
  spec?: PodSpec;
}

export interface WorkloadStatus {
  replicas?: number;
  readyReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
}

export interface DeploymentSpec {
  replicas?: number;
  selector?: LabelSelector;
  template?: PodTemplateSpec;
  strategy?: {
    type?: string;
    rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string };
  };
  revisionHistoryLimit?: number;
  progressDeadlineSeconds?: number;
}

export interface Deployment extends KObject {
  spec?: DeploymentSpec;
  status?: WorkloadStatus;
}

export interface ReplicaSet extends KObject {
  spec?: { replicas?: number; selector?: LabelSelector; template?: PodTemplateSpec };
  status?: WorkloadStatus;
}

export interface ServicePort {
  name?: string;
  port?: number;
  targetPort?: number | string;
  nodePort?: number;
  protocol?: string;
}

export interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  externalName?: string;
  externalIPs?: string[];
  ports?: ServicePort[];
  selector?: Record<string, string>;
  sessionAffinity?: string;
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  internalTrafficPolicy?: string;
}

export interface Service extends KObject {
  spec?: ServiceSpec;
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
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

export interface HpaSpec {
  scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string };
  minReplicas?: number;
  maxReplicas?: number;
  metrics?: MetricSpec[];
  behavior?: { scaleUp?: JsonObject; scaleDown?: JsonObject };
  /** autoscaling/v1 only. */
  targetCPUUtilizationPercentage?: number;
}

export interface HpaStatus {
  currentReplicas?: number;
  desiredReplicas?: number;
  currentMetrics?: MetricStatus[];
  lastScaleTime?: string;
  observedGeneration?: number;
  /** autoscaling/v1 only. */
  currentCPUUtilizationPercentage?: number;
}

export interface HorizontalPodAutoscaler extends KObject {
  spec?: HpaSpec;
  status?: HpaStatus;
}

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

export interface JobSpec {
  completions?: number | null;
  parallelism?: number;
  selector?: LabelSelector;
  template?: PodTemplateSpec;
}

export interface Job extends KObject {
  spec?: JobSpec;
  status?: {
    succeeded?: number;
    startTime?: string;
    completionTime?: string;
    conditions?: Condition[];
  };
}

export interface Endpoints extends KObject {
  subsets?: { addresses?: { ip: string }[]; ports?: { port?: number }[] }[];
}

export interface EndpointSlice extends KObject {
  addressType?: string;
  ports?: { port?: number | null }[];
  endpoints?: { addresses?: unknown[] }[];
}

export interface Namespace extends KObject {
  spec?: { finalizers?: string[] };
  status?: { phase?: string };
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
