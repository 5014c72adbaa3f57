/** Shared types of the simulated Kubernetes API server. */

/** A Kubernetes object as JSON (the simulator works on plain JSON, like unstructured in client-go). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

/** Untyped JSON object (request bodies, patches, user-supplied fields): read through guards. */
export type JsonObject = Record<string, unknown>;

/** A non-null, non-array object. */
export function isRecord(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: JsonObject;
  subresource?: string;
}

/** metav1.ObjectMeta, as far as the simulator reads it. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | null;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
}

/** A Kubernetes object with typed metadata; everything else is unknown until narrowed. */
export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** metav1.LabelSelector. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** A status condition (metav1.Condition-like; the union of the fields the built-in kinds use). */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string | null;
}

/** Delays (ms) of the simulated controllers and kubelet. */
export interface SimTiming {
  /** Pod created → scheduled onto the node (ContainerCreating). */
  scheduleMs: number;
  /** Scheduled → image pulled. */
  pullMs: number;
  /** Pulled → container started (Running, not ready). */
  startMs: number;
  /** Started → Ready. */
  readyMs: number;
  /** For `crashloop` images: how long a container runs before it exits with code 1. */
  crashAfterMs: number;
  /** Crash-loop / image-pull back-off base (real kubelet: 10 s, doubling). */
  backoffBaseMs: number;
  /** Back-off cap (real kubelet: 300 s). */
  backoffMaxMs: number;
  /** Pod deletionTimestamp set → pod object removed. */
  terminateMs: number;
  /** Periodic controller resync (progress deadlines, GC). */
  resyncMs: number;
  /** Interval of BOOKMARK events on watches that ask for them (real apiserver: ~60 s). */
  bookmarkMs: number;
  /** Events are deleted this long after they were last seen (real apiserver: 1 h). */
  eventTtlMs: number;
  /** How long a Job's container runs before it exits, unless its `sim.phantom.dev/run-duration` annotation says otherwise. */
  jobRunMs: number;
  /** Job back-off before a replacement pod after a failure, doubling per failure (real controller: 10 s, capped at 6 min). */
  jobBackoffMs: number;
  /** A deleted namespace's contents are deleted this long after the DELETE (the namespace controller's first pass). */
  namespaceDeleteDelayMs: number;
}

export const DEFAULT_TIMING: SimTiming = {
  scheduleMs: 20,
  pullMs: 60,
  startMs: 40,
  readyMs: 80,
  crashAfterMs: 200,
  backoffBaseMs: 10_000,
  backoffMaxMs: 300_000,
  terminateMs: 100,
  resyncMs: 1000,
  bookmarkMs: 60_000,
  eventTtlMs: 3_600_000,
  jobRunMs: 2000,
  jobBackoffMs: 500,
  namespaceDeleteDelayMs: 1000,
};

export interface WatchEventRecord {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** Store bucket, e.g. `pods`, `deployments.apps`. */
  storeKey: string;
  rv: number;
  object: Obj;
  /** The object before a MODIFIED/DELETED. */
  prev?: Obj;
  time: number;
}

/**
 * A user-supplied value as text: `String(v)` for a JSON scalar (and null/undefined), the JSON
 * otherwise (where `String` would say `[object Object]`).
 */
export function jsonText(v: unknown): string {
  return v === null || typeof v !== 'object' ? String(v) : JSON.stringify(v);
}

/**
 * `String(x)` of a value of any JSON type, for messages about user input: the apiserver echoes
 * invalid values whatever their type (an object shows as `[object Object]`, unlike {@link jsonText}).
 */
export function show(x: unknown): string {
  return String(x);
}
