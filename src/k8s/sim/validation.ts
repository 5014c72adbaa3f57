/** The subset of apiserver validation the simulator enforces (422 Invalid). */
import { StatusError, badRequest, invalid, required, type Cause } from './errors.js';
import { validateJob } from './jobs.js';
import type { ResourceDef } from './resources.js';
import { labelSelectorMatcher } from './selectors.js';
import type {
  ConfigMap,
  HorizontalPodAutoscaler,
  PodSpec,
  PodTemplateSpec,
  Service,
} from './kinds.js';
import type { JsonObject, KObject, LabelSelector, Obj } from './types.js';

/** A Deployment/ReplicaSet spec as sent: the counts are whatever the client wrote. */
interface WorkloadSpecInput {
  selector?: LabelSelector;
  template?: PodTemplateSpec;
  replicas?: unknown;
  minReadySeconds?: unknown;
  revisionHistoryLimit?: unknown;
  progressDeadlineSeconds?: unknown;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function goMap(m: Record<string, string> | undefined): string {
  const entries = Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return `map[string]string{${entries.map(([k, v]) => `"${k}":"${String(v)}"`).join(', ')}}`;
}

function validateTemplate(causes: Cause[], spec: WorkloadSpecInput, prefix: string): void {
  if (!spec.selector) {
    causes.push(required(`${prefix}.selector`));
  } else if (!spec.selector.matchLabels && !spec.selector.matchExpressions) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: 'Invalid value: "null": empty selector is invalid for deployment',
      field: `${prefix}.selector`,
    });
  }
  const t = spec.template;
  if (!t) {
    causes.push(required(`${prefix}.template`));
    return;
  }
  if (spec.selector && (spec.selector.matchLabels || spec.selector.matchExpressions)) {
    let matches: boolean;
    try {
      matches = labelSelectorMatcher(spec.selector)(t.metadata?.labels ?? {});
    } catch {
      matches = false;
    }
    if (!matches)
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${goMap(t.metadata?.labels)}: \`selector\` does not match template \`labels\``,
        field: `${prefix}.template.metadata.labels`,
      });
  }
  validatePodSpec(causes, t.spec, `${prefix}.template.spec`);
  for (const f of [
    'replicas',
    'minReadySeconds',
    'revisionHistoryLimit',
    'progressDeadlineSeconds',
  ] as const) {
    const v = spec[f];
    if (typeof v === 'number' && v < 0)
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${v}: must be greater than or equal to 0`,
        field: `${prefix}.${f}`,
      });
  }
  if (
    typeof spec.progressDeadlineSeconds === 'number' &&
    spec.progressDeadlineSeconds >= 0 &&
    spec.progressDeadlineSeconds <= ((spec.minReadySeconds as number | undefined) ?? 0)
  )
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${spec.progressDeadlineSeconds}: must be greater than minReadySeconds`,
      field: `${prefix}.progressDeadlineSeconds`,
    });
}

function validatePodSpec(causes: Cause[], spec: PodSpec | undefined, prefix: string): void {
  const cs = spec?.containers;
  if (!Array.isArray(cs) || cs.length === 0) {
    causes.push(required(`${prefix}.containers`));
    return;
  }
  cs.forEach((c, i) => {
    if (!c?.name) causes.push(required(`${prefix}.containers[${i}].name`));
    if (!c?.image) causes.push(required(`${prefix}.containers[${i}].image`));
  });
}

const CONFIG_KEY_RE = /^[-._a-zA-Z0-9]+$/;

/** Throws 422 when the object is invalid. `old` is set for updates (immutable fields). */
export function validateObject(def: ResourceDef, obj: Obj, old?: Obj): void {
  const causes: Cause[] = [];
  const o = obj as KObject;
  const name: string = o.metadata?.name ?? '';
  if (!name) causes.push(required('metadata.name'));
  else if (def.kind !== 'Event' && (name.length > 253 || !NAME_RE.test(name)))
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      field: 'metadata.name',
    });
  switch (def.kind) {
    case 'Deployment':
    case 'ReplicaSet': {
      const spec = o.spec as WorkloadSpecInput | undefined;
      const oldSpec = old?.spec as WorkloadSpecInput | undefined;
      validateTemplate(causes, spec ?? {}, 'spec');
      if (old && JSON.stringify(oldSpec?.selector) !== JSON.stringify(spec?.selector))
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(spec?.selector)}: field is immutable`,
          field: 'spec.selector',
        });
      break;
    }
    case 'Pod':
      validatePodSpec(causes, o.spec as PodSpec | undefined, 'spec');
      break;
    case 'Job':
      validateJob(causes, o, old);
      break;
    case 'Service': {
      const spec = (o as Service).spec;
      const type: unknown = spec?.type;
      if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(type as string))
        causes.push({
          reason: 'FieldValueNotSupported',
          message: `Unsupported value: "${spec?.type}"`,
          field: 'spec.type',
        });
      if (spec?.type !== 'ExternalName' && (!Array.isArray(spec?.ports) || spec.ports.length === 0))
        causes.push(required('spec.ports'));
      break;
    }
    case 'ConfigMap':
    case 'Secret':
      for (const field of ['data', 'binaryData'] as const)
        for (const key of Object.keys((o as ConfigMap)[field] ?? {}))
          if (key.length > 253 || !CONFIG_KEY_RE.test(key))
            causes.push({
              reason: 'FieldValueInvalid',
              message: `Invalid value: "${key}": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
              field: `${field}[${key}]`,
            });
      break;
    case 'HorizontalPodAutoscaler': {
      const spec = (o as HorizontalPodAutoscaler).spec;
      if (!spec?.scaleTargetRef?.name) causes.push(required('spec.scaleTargetRef.name'));
      if (!(typeof spec?.maxReplicas === 'number' && spec.maxReplicas >= 1))
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(spec?.maxReplicas ?? 0)}: must be greater than or equal to 1`,
          field: 'spec.maxReplicas',
        });
      else if (typeof spec?.minReplicas === 'number' && spec.minReplicas > spec.maxReplicas)
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${spec.maxReplicas}: must be greater than or equal to \`minReplicas\``,
          field: 'spec.maxReplicas',
        });
      if (typeof spec?.minReplicas === 'number' && spec.minReplicas < 1)
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${spec.minReplicas}: must be greater than or equal to 1`,
          field: 'spec.minReplicas',
        });
      break;
    }
    default:
      break;
  }
  if (causes.length) throw invalid(def, name, causes);
}

/**
 * int32 fields per stored kind, as dotted paths (`[]` walks a list), with the Go struct the
 * apiserver names in its decode error. A value the Go decoder would refuse (a string, 1.5,
 * 2^31) must never reach the store: the controllers do arithmetic on these fields, and a
 * string `replicas` once made them concatenate strings and loop, growing the resourceVersion
 * and memory without bound.
 */
const INT32_FIELDS: Record<string, [path: string, goStruct: string][]> = {
  Deployment: [
    ['spec.replicas', 'DeploymentSpec'],
    ['spec.minReadySeconds', 'DeploymentSpec'],
    ['spec.revisionHistoryLimit', 'DeploymentSpec'],
    ['spec.progressDeadlineSeconds', 'DeploymentSpec'],
    ['spec.template.spec.containers[].ports[].containerPort', 'ContainerPort'],
  ],
  ReplicaSet: [
    ['spec.replicas', 'ReplicaSetSpec'],
    ['spec.minReadySeconds', 'ReplicaSetSpec'],
    ['spec.template.spec.containers[].ports[].containerPort', 'ContainerPort'],
  ],
  Pod: [['spec.containers[].ports[].containerPort', 'ContainerPort']],
  Job: [
    ['spec.parallelism', 'JobSpec'],
    ['spec.completions', 'JobSpec'],
    ['spec.backoffLimit', 'JobSpec'],
    ['spec.ttlSecondsAfterFinished', 'JobSpec'],
    ['spec.template.spec.containers[].ports[].containerPort', 'ContainerPort'],
  ],
  Service: [
    ['spec.ports[].port', 'ServicePort'],
    ['spec.ports[].nodePort', 'ServicePort'],
  ],
  HorizontalPodAutoscaler: [
    ['spec.minReplicas', 'HorizontalPodAutoscalerSpec'],
    ['spec.maxReplicas', 'HorizontalPodAutoscalerSpec'],
    ['spec.metrics[].resource.target.averageUtilization', 'MetricTarget'],
    ['spec.behavior.scaleUp.stabilizationWindowSeconds', 'HPAScalingRules'],
    ['spec.behavior.scaleDown.stabilizationWindowSeconds', 'HPAScalingRules'],
  ],
  Scale: [['spec.replicas', 'ScaleSpec']],
};

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function* valuesAt(o: unknown, parts: string[]): Generator<unknown> {
  if (!parts.length) {
    yield o;
    return;
  }
  if (!o || typeof o !== 'object') return;
  const [head, ...rest] = parts as [string, ...string[]];
  const list = head.endsWith('[]');
  const v = (o as JsonObject)[list ? head.slice(0, -2) : head];
  if (list) {
    if (Array.isArray(v)) for (const item of v) yield* valuesAt(item, rest);
  } else yield* valuesAt(v, rest);
}

const goTypeOf = (v: unknown): string =>
  typeof v === 'string'
    ? 'string'
    : typeof v === 'boolean'
      ? 'bool'
      : Array.isArray(v)
        ? 'array'
        : typeof v === 'object'
          ? 'object'
          : `number ${v as number}`; // JSON: nothing else is left

/**
 * The Go decoder's complaint about the first int32 field of `o` that is not a whole number
 * in int32 range (null/absent are fine: they mean "default"), or null.
 */
export function int32FieldError(kind: string, o: Obj): string | null {
  for (const [path, goStruct] of INT32_FIELDS[kind] ?? []) {
    for (const v of valuesAt(o, path.split('.'))) {
      if (v === undefined || v === null) continue;
      if (typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX)
        continue;
      return `json: cannot unmarshal ${goTypeOf(v)} into Go struct field ${goStruct}.${path.replace(/\[\]/g, '')} of type int32`;
    }
  }
  return null;
}

/** POST/PUT bodies: the apiserver fails to decode them, 400 BadRequest. */
/**
 * Byte fields (Secret `data`, ConfigMap `binaryData`) are base64 in JSON: Go's decoder refuses
 * anything else before validation, so the apiserver answers 400, not 422.
 */
function base64FieldError(kind: string, o: Obj): string | null {
  const field = kind === 'Secret' ? 'data' : kind === 'ConfigMap' ? 'binaryData' : undefined;
  if (!field || !o[field] || typeof o[field] !== 'object') return null;
  for (const v of Object.values(o[field] as Record<string, unknown>)) {
    if (typeof v !== 'string')
      return `json: cannot unmarshal ${typeof v} into Go struct field ${kind}.${field} of type []uint8`;
    // Go's decoder skips line breaks (kustomize and `base64` wrap long values).
    const bad = /[^A-Za-z0-9+/=\r\n]/.exec(v);
    if (bad) return `illegal base64 data at input byte ${bad.index}`;
    const flat = v.replace(/[\r\n]/g, '');
    if (flat.length % 4 !== 0)
      return `illegal base64 data at input byte ${flat.length - (flat.length % 4)}`;
  }
  return null;
}

export function checkInt32Body(kind: string, apiVersion: string, o: Obj): void {
  const err = int32FieldError(kind, o) ?? base64FieldError(kind, o);
  if (err)
    throw badRequest(
      `${kind} in version "${apiVersion.split('/').pop()}" cannot be handled as a ${kind}: ${err}`,
    );
}

/** A patch whose result does not decode: 422 Invalid on the field `patch` (apiserver handlers/patch.go). */
export function checkInt32Patched(kind: string, patched: Obj): void {
  const err = int32FieldError(kind, patched);
  if (!err) return;
  const value = JSON.stringify(patched);
  const cause: Cause = {
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${JSON.stringify(value)}: ${err}`,
    field: 'patch',
  };
  throw new StatusError(422, 'Invalid', ` "" is invalid: patch: ${cause.message}`, {
    causes: [cause],
  });
}

/**
 * `v` when it is a non-negative whole number, else `fallback`. Controllers read counts through
 * this so that nothing stored (validation is the first line; this is the second) can turn
 * their arithmetic into string concatenation.
 */
export function countOr(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : fallback;
}
