/**
 * Decodes the Kubernetes protobuf envelope (`k8s\0` + runtime.Unknown) for the kinds typed clients create
 * (kubectl create deployment|namespace|service|configmap|secret|job, kubectl autoscale). Field numbers follow k8s.io/api
 * generated.proto; fields not listed here are skipped. Unsupported kinds → undefined (the caller answers 415).
 */
import type { JsonObject, Obj } from './types.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/**
 * A field's type: a scalar (`string`, `int`, `bool`), `map` / `bmap` / `qmap` (map<string,
 * string|bytes|Quantity>), `intorstr`, `quantity`, or the name of a message in `S`.
 */
type FieldType = string;
/** Field spec: [jsonName, type, repeated?, keepZero?]. `keepZero` marks Go pointer fields (present = set). */
type FieldSpec = [string, FieldType, boolean?, boolean?];
type MessageSpec = Record<number, FieldSpec>;

const S: Record<string, MessageSpec> = {
  ObjectMeta: {
    1: ['name', 'string'],
    2: ['generateName', 'string'],
    3: ['namespace', 'string'],
    5: ['uid', 'string'],
    6: ['resourceVersion', 'string'],
    11: ['labels', 'map'],
    12: ['annotations', 'map'],
    13: ['ownerReferences', 'OwnerReference', true],
    14: ['finalizers', 'string', true],
  },
  OwnerReference: {
    1: ['kind', 'string'],
    3: ['name', 'string'],
    4: ['uid', 'string'],
    5: ['apiVersion', 'string'],
    6: ['controller', 'bool', false, true],
    7: ['blockOwnerDeletion', 'bool', false, true],
  },
  LabelSelector: {
    1: ['matchLabels', 'map'],
    2: ['matchExpressions', 'LabelSelectorRequirement', true],
  },
  LabelSelectorRequirement: {
    1: ['key', 'string'],
    2: ['operator', 'string'],
    3: ['values', 'string', true],
  },
  Deployment: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'DeploymentSpec'] },
  DeploymentSpec: {
    1: ['replicas', 'int', false, true],
    2: ['selector', 'LabelSelector'],
    3: ['template', 'PodTemplateSpec'],
    4: ['strategy', 'DeploymentStrategy'],
    5: ['minReadySeconds', 'int'],
    6: ['revisionHistoryLimit', 'int', false, true],
    7: ['paused', 'bool'],
    9: ['progressDeadlineSeconds', 'int', false, true],
  },
  DeploymentStrategy: { 1: ['type', 'string'], 2: ['rollingUpdate', 'RollingUpdateDeployment'] },
  RollingUpdateDeployment: { 1: ['maxUnavailable', 'intorstr'], 2: ['maxSurge', 'intorstr'] },
  PodTemplateSpec: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'PodSpec'] },
  PodSpec: {
    2: ['containers', 'Container', true],
    3: ['restartPolicy', 'string'],
    4: ['terminationGracePeriodSeconds', 'int', false, true],
    6: ['dnsPolicy', 'string'],
    7: ['nodeSelector', 'map'],
    8: ['serviceAccountName', 'string'],
    10: ['nodeName', 'string'],
    15: ['imagePullSecrets', 'LocalObjectReference', true],
    19: ['schedulerName', 'string'],
    20: ['initContainers', 'Container', true],
    30: ['enableServiceLinks', 'bool', false, true],
  },
  LocalObjectReference: { 1: ['name', 'string'] },
  Container: {
    1: ['name', 'string'],
    2: ['image', 'string'],
    3: ['command', 'string', true],
    4: ['args', 'string', true],
    5: ['workingDir', 'string'],
    6: ['ports', 'ContainerPort', true],
    7: ['env', 'EnvVar', true],
    8: ['resources', 'ResourceRequirements'],
    13: ['terminationMessagePath', 'string'],
    14: ['imagePullPolicy', 'string'],
    20: ['terminationMessagePolicy', 'string'],
  },
  ContainerPort: {
    1: ['name', 'string'],
    2: ['hostPort', 'int'],
    3: ['containerPort', 'int'],
    4: ['protocol', 'string'],
    5: ['hostIP', 'string'],
  },
  EnvVar: { 1: ['name', 'string'], 2: ['value', 'string'] },
  ResourceRequirements: { 1: ['limits', 'qmap'], 2: ['requests', 'qmap'] },
  Namespace: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'NamespaceSpec'] },
  NamespaceSpec: { 1: ['finalizers', 'string', true] },
  Service: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'ServiceSpec'] },
  ServiceSpec: {
    1: ['ports', 'ServicePort', true],
    2: ['selector', 'map'],
    3: ['clusterIP', 'string'],
    4: ['type', 'string'],
    5: ['externalIPs', 'string', true],
    7: ['sessionAffinity', 'string'],
    10: ['externalName', 'string'],
    11: ['externalTrafficPolicy', 'string'],
    17: ['ipFamilyPolicy', 'string'],
    18: ['clusterIPs', 'string', true],
    19: ['ipFamilies', 'string', true],
    22: ['internalTrafficPolicy', 'string'],
  },
  ServicePort: {
    1: ['name', 'string'],
    2: ['protocol', 'string'],
    3: ['port', 'int'],
    4: ['targetPort', 'intorstr'],
    5: ['nodePort', 'int'],
    6: ['appProtocol', 'string'],
  },
  Job: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'JobSpec'] },
  JobSpec: {
    1: ['parallelism', 'int', false, true],
    2: ['completions', 'int', false, true],
    3: ['activeDeadlineSeconds', 'int', false, true],
    4: ['selector', 'LabelSelector'],
    5: ['manualSelector', 'bool', false, true],
    6: ['template', 'PodTemplateSpec'],
    7: ['backoffLimit', 'int', false, true],
    8: ['ttlSecondsAfterFinished', 'int', false, true],
    9: ['completionMode', 'string'],
    10: ['suspend', 'bool', false, true],
  },
  ConfigMap: {
    1: ['metadata', 'ObjectMeta'],
    2: ['data', 'map'],
    3: ['binaryData', 'bmap'],
    4: ['immutable', 'bool', false, true],
  },
  Secret: {
    1: ['metadata', 'ObjectMeta'],
    2: ['data', 'bmap'],
    3: ['type', 'string'],
    4: ['stringData', 'map'],
    5: ['immutable', 'bool', false, true],
  },
  SelfSubjectAccessReview: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'SelfSubjectAccessReviewSpec'],
  },
  SelfSubjectAccessReviewSpec: {
    1: ['resourceAttributes', 'ResourceAttributes'],
    2: ['nonResourceAttributes', 'NonResourceAttributes'],
  },
  ResourceAttributes: {
    1: ['namespace', 'string'],
    2: ['verb', 'string'],
    3: ['group', 'string'],
    4: ['version', 'string'],
    5: ['resource', 'string'],
    6: ['subresource', 'string'],
    7: ['name', 'string'],
  },
  NonResourceAttributes: { 1: ['path', 'string'], 2: ['verb', 'string'] },
  SelfSubjectRulesReview: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'SelfSubjectRulesReviewSpec'],
  },
  SelfSubjectRulesReviewSpec: { 1: ['namespace', 'string'] },
  SelfSubjectReview: { 1: ['metadata', 'ObjectMeta'] },
  HorizontalPodAutoscaler: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'HorizontalPodAutoscalerSpec'],
  },
  HorizontalPodAutoscalerV1: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'HorizontalPodAutoscalerSpecV1'],
  },
  HorizontalPodAutoscalerSpecV1: {
    1: ['scaleTargetRef', 'CrossVersionObjectReference'],
    2: ['minReplicas', 'int', false, true],
    3: ['maxReplicas', 'int'],
    4: ['targetCPUUtilizationPercentage', 'int', false, true],
  },
  HorizontalPodAutoscalerSpec: {
    1: ['scaleTargetRef', 'CrossVersionObjectReference'],
    2: ['minReplicas', 'int', false, true],
    3: ['maxReplicas', 'int'],
    4: ['metrics', 'MetricSpec', true],
  },
  CrossVersionObjectReference: {
    1: ['kind', 'string'],
    2: ['name', 'string'],
    3: ['apiVersion', 'string'],
  },
  MetricSpec: { 1: ['type', 'string'], 4: ['resource', 'ResourceMetricSource'] },
  ResourceMetricSource: { 1: ['name', 'string'], 2: ['target', 'MetricTarget'] },
  MetricTarget: {
    1: ['type', 'string'],
    2: ['value', 'quantity'],
    3: ['averageValue', 'quantity'],
    4: ['averageUtilization', 'int', false, true],
  },
};

/** Kinds this decoder understands, by `apiVersion/kind`. */
const ROOTS: Record<string, string> = {
  'apps/v1/Deployment': 'Deployment',
  'batch/v1/Job': 'Job',
  'v1/Namespace': 'Namespace',
  'v1/Service': 'Service',
  'v1/ConfigMap': 'ConfigMap',
  'v1/Secret': 'Secret',
  'authorization.k8s.io/v1/SelfSubjectAccessReview': 'SelfSubjectAccessReview',
  'authorization.k8s.io/v1/SelfSubjectRulesReview': 'SelfSubjectRulesReview',
  'authentication.k8s.io/v1/SelfSubjectReview': 'SelfSubjectReview',
  'autoscaling/v2/HorizontalPodAutoscaler': 'HorizontalPodAutoscaler',
  'autoscaling/v1/HorizontalPodAutoscaler': 'HorizontalPodAutoscalerV1',
};

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
      if (shift > 70n) throw new Error('varint too long');
    }
  }

  bytes(): Buffer {
    const len = Number(this.varint());
    if (this.pos + len > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

function fields(buf: Buffer): { no: number; wire: number; value: bigint | Buffer }[] {
  const r = new Reader(buf);
  const out: { no: number; wire: number; value: bigint | Buffer }[] = [];
  while (!r.done) {
    const tag = Number(r.varint());
    const no = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) out.push({ no, wire, value: r.varint() });
    else if (wire === 2) out.push({ no, wire, value: r.bytes() });
    else r.skip(wire);
  }
  return out;
}

function str(v: bigint | Buffer): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

function int(v: bigint | Buffer): number {
  return typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : 0;
}

function mapEntry(v: bigint | Buffer): [string, Buffer | undefined] {
  let key = '';
  let val: Buffer | undefined;
  for (const f of fields(v as Buffer)) {
    if (f.no === 1) key = str(f.value);
    if (f.no === 2 && Buffer.isBuffer(f.value)) val = f.value;
  }
  return [key, val];
}

function quantity(b: Buffer | undefined): string {
  if (!b) return '0';
  for (const f of fields(b)) if (f.no === 1) return str(f.value);
  return '0';
}

function decodeMessage(buf: Buffer, type: string): JsonObject {
  const spec = S[type];
  const out: JsonObject = {};
  /** The entries so far of map field `name`. */
  const mapOf = (name: string): Record<string, string> =>
    (out[name] ?? {}) as Record<string, string>;
  for (const f of fields(buf)) {
    const fs = spec[f.no];
    if (!fs) continue;
    const [name, t, repeated, keepZero] = fs;
    let value: unknown;
    switch (t) {
      case 'string':
        value = str(f.value);
        if (value === '' && !repeated) continue;
        break;
      case 'int':
        value = int(f.value);
        if (value === 0 && !keepZero) continue;
        break;
      case 'bool':
        value = typeof f.value === 'bigint' && f.value !== 0n;
        if (value === false && !keepZero) continue;
        break;
      case 'map': {
        const [k, v] = mapEntry(f.value);
        out[name] = { ...mapOf(name), [k]: v ? v.toString('utf8') : '' };
        continue;
      }
      case 'bmap': {
        // map<string, bytes>: base64 in JSON.
        const [k, v] = mapEntry(f.value);
        out[name] = { ...mapOf(name), [k]: (v ?? Buffer.alloc(0)).toString('base64') };
        continue;
      }
      case 'qmap': {
        const [k, v] = mapEntry(f.value);
        out[name] = { ...mapOf(name), [k]: quantity(v) };
        continue;
      }
      case 'quantity':
        value = quantity(f.value as Buffer);
        break;
      case 'intorstr': {
        const m = Object.fromEntries(fields(f.value as Buffer).map((x) => [x.no, x.value]));
        value =
          m[1] !== undefined && int(m[1]) === 1 ? str(m[3] ?? Buffer.alloc(0)) : int(m[2] ?? 0n);
        break;
      }
      default: {
        if (!Buffer.isBuffer(f.value)) continue;
        const message = decodeMessage(f.value, t);
        if (!repeated && Object.keys(message).length === 0) continue;
        value = message;
      }
    }
    if (repeated) ((out[name] ??= []) as unknown[]).push(value);
    else out[name] = value;
  }
  return out;
}

export function isProtobufBody(buf: Buffer): boolean {
  return buf.length >= 4 && buf.subarray(0, 4).equals(MAGIC);
}

/** The JSON form of a protobuf-encoded object, or undefined when its kind is not supported / it is malformed. */
export function decodeProtobufObject(buf: Buffer): Obj | undefined {
  if (!isProtobufBody(buf)) return undefined;
  try {
    let apiVersion = '';
    let kind = '';
    let raw: Buffer | undefined;
    for (const f of fields(buf.subarray(4))) {
      if (f.no === 1 && Buffer.isBuffer(f.value))
        for (const t of fields(f.value)) {
          if (t.no === 1) apiVersion = str(t.value);
          if (t.no === 2) kind = str(t.value);
        }
      if (f.no === 2 && Buffer.isBuffer(f.value)) raw = f.value;
    }
    const root = ROOTS[`${apiVersion}/${kind}`];
    if (!root || !raw) return undefined;
    return { apiVersion, kind, ...decodeMessage(raw, root) };
  } catch {
    return undefined;
  }
}
