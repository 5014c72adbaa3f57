/** Defaulting like the apiserver's (kubectl describe and clients dereference defaulted fields). */
import { defaultJobSpec } from './jobs.js';
import type {
  Container,
  Deployment,
  HorizontalPodAutoscaler,
  Job,
  Namespace,
  Pod,
  PodSpec,
  PodTemplateSpec,
  ReplicaSet,
  Secret,
  Service,
} from './kinds.js';
import type { KObject } from './types.js';

function imageTag(image: string): string | undefined {
  const noDigest = image.split('@')[0] ?? image;
  const lastSlash = noDigest.lastIndexOf('/');
  const lastColon = noDigest.lastIndexOf(':');
  return lastColon > lastSlash ? noDigest.slice(lastColon + 1) : undefined;
}

function defaultContainer(c: Container): void {
  if (!c || typeof c !== 'object') return;
  if (!c.imagePullPolicy) {
    const tag = typeof c.image === 'string' ? imageTag(c.image) : undefined;
    const digest = typeof c.image === 'string' && c.image.includes('@');
    c.imagePullPolicy =
      !digest && (tag === undefined || tag === 'latest') ? 'Always' : 'IfNotPresent';
  }
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  if (Array.isArray(c.ports))
    for (const p of c.ports) if (p && typeof p === 'object') p.protocol ??= 'TCP';
}

export function defaultPodSpec(spec: PodSpec): void {
  if (!spec || typeof spec !== 'object') return;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  if (Array.isArray(spec.containers)) spec.containers.forEach(defaultContainer);
  if (Array.isArray(spec.initContainers)) spec.initContainers.forEach(defaultContainer);
}

function defaultTemplate(t: PodTemplateSpec | undefined): void {
  if (!t || typeof t !== 'object') return;
  t.metadata ??= {};
  t.metadata.creationTimestamp ??= null;
  t.spec ??= {};
  defaultPodSpec(t.spec);
}

function qosClass(spec: PodSpec): string {
  const containers = Array.isArray(spec?.containers) ? spec.containers : [];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    if (!lim.cpu || !lim.memory) guaranteed = false;
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** Kinds without a `spec`. */
const NO_SPEC = new Set(['Event', 'ConfigMap', 'Secret', 'Endpoints', 'EndpointSlice']);

export function applyDefaults(kind: string, obj: KObject): void {
  obj.spec ??= NO_SPEC.has(kind) ? undefined : {};
  if (obj.spec === undefined) delete obj.spec;
  // Each kind's object is read as its shape; the kinds with a spec have one from here on.
  switch (kind) {
    case 'Deployment': {
      const o = obj as Deployment;
      const s = o.spec!;
      s.replicas ??= 1;
      s.strategy ??= {};
      s.strategy.type ??= 'RollingUpdate';
      if (s.strategy.type === 'RollingUpdate') {
        s.strategy.rollingUpdate ??= {};
        s.strategy.rollingUpdate.maxUnavailable ??= '25%';
        s.strategy.rollingUpdate.maxSurge ??= '25%';
      }
      s.revisionHistoryLimit ??= 10;
      s.progressDeadlineSeconds ??= 600;
      defaultTemplate(s.template);
      o.status ??= {};
      break;
    }
    case 'ReplicaSet': {
      const o = obj as ReplicaSet & { spec: object };
      o.spec.replicas ??= 1;
      defaultTemplate(o.spec.template);
      o.status ??= { replicas: 0 };
      break;
    }
    case 'Pod': {
      const o = obj as Pod & { spec: PodSpec };
      defaultPodSpec(o.spec);
      o.spec.enableServiceLinks ??= true;
      o.spec.preemptionPolicy ??= 'PreemptLowerPriority';
      o.spec.priority ??= 0;
      o.status ??= {};
      o.status.phase ??= 'Pending';
      o.status.qosClass ??= qosClass(o.spec);
      break;
    }
    case 'Service': {
      const o = obj as Service;
      const s = o.spec!;
      s.type ??= 'ClusterIP';
      s.sessionAffinity ??= 'None';
      s.ipFamilies ??= ['IPv4'];
      s.ipFamilyPolicy ??= 'SingleStack';
      s.internalTrafficPolicy ??= 'Cluster';
      if (Array.isArray(s.ports))
        for (const p of s.ports) {
          if (!p || typeof p !== 'object') continue;
          p.protocol ??= 'TCP';
          p.targetPort ??= p.port;
        }
      o.status ??= { loadBalancer: {} };
      break;
    }
    case 'HorizontalPodAutoscaler': {
      const o = obj as HorizontalPodAutoscaler;
      const s = o.spec!;
      s.minReplicas ??= 1;
      s.metrics ??= [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
        },
      ];
      s.behavior ??= {};
      s.behavior.scaleUp ??= {
        stabilizationWindowSeconds: 0,
        selectPolicy: 'Max',
        policies: [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ],
      };
      s.behavior.scaleDown ??= {
        stabilizationWindowSeconds: 300,
        selectPolicy: 'Max',
        policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
      };
      o.status ??= {};
      break;
    }
    case 'Secret': {
      const o = obj as Secret;
      o.type ??= 'Opaque';
      // As the v1 → internal conversion: stringData is write-only, merged into data (it wins).
      if (o.stringData && typeof o.stringData === 'object') {
        o.data = { ...(o.data ?? {}) };
        for (const [k, v] of Object.entries(o.stringData))
          o.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      }
      delete o.stringData;
      // Stored decoded, answered re-encoded: line breaks in the base64 a client sent are gone.
      if (o.data && typeof o.data === 'object') {
        for (const [k, v] of Object.entries(o.data as Record<string, unknown>))
          if (typeof v === 'string') o.data[k] = v.replace(/[\r\n]/g, '');
      }
      break;
    }
    case 'Job': {
      const o = obj as Job & { spec: object };
      defaultJobSpec(o.spec);
      defaultTemplate(o.spec.template);
      o.status ??= {};
      break;
    }
    case 'Namespace': {
      const o = obj as Namespace & { spec: object };
      o.spec.finalizers ??= ['kubernetes'];
      o.status ??= {};
      o.status.phase ??= 'Active';
      o.metadata.labels ??= {};
      o.metadata.labels['kubernetes.io/metadata.name'] = o.metadata.name as string; // set by the registry
      break;
    }
    default:
      break;
  }
}
