/**
 * The endpoints and endpointslice controllers: for every Service with a selector, an Endpoints
 * object (core v1, named like the service) and one EndpointSlice (discovery.k8s.io/v1, owned by
 * the service) listing the matching pods that have an IP — ready ones as addresses, the others
 * as not-ready — with the service's ports resolved against the pods' container ports.
 */
import { deepEqual } from './equality.js';
import { rfc3339 } from './names.js';
import type { Registry } from './registry.js';
import { findResource, type ResourceDef } from './resources.js';
import { isPodReady } from './replicaset-controller.js';
import type {
  EndpointAddress,
  EndpointPort,
  Endpoints,
  EndpointSlice,
  EndpointSliceEndpoint,
  EndpointSlicePort,
  EndpointSubset,
  Labels,
  Namespace,
  Pod,
  Service,
  ServicePort,
  Stored,
} from './kinds.js';

const PODS = findResource('', 'v1', 'pods') as ResourceDef;
const SERVICES = findResource('', 'v1', 'services') as ResourceDef;
export const ENDPOINTS = findResource('', 'v1', 'endpoints') as ResourceDef;
export const ENDPOINT_SLICES = findResource(
  'discovery.k8s.io',
  'v1',
  'endpointslices',
) as ResourceDef;

const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
const SLICE_CONTROLLER = 'endpointslice-controller.k8s.io';
const SERVICE_NAME = 'kubernetes.io/service-name';

function selects(selector: Labels, labels: Labels | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** The container port a service port's targetPort names (a number, or a named container port), or undefined. */
function resolvePort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (typeof target === 'string' && /^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec?.containers ?? [])
    for (const p of c.ports ?? [])
      if (p.name === target && (p.protocol ?? 'TCP') === (sp.protocol ?? 'TCP'))
        return p.containerPort;
  return undefined;
}

interface Member {
  pod: Stored<Pod>;
  ready: boolean;
  terminating: boolean;
}

export class EndpointsController {
  constructor(private readonly registry: Registry) {}

  /** One pass over every service, and removal of Endpoints whose service is gone. */
  syncAll(): void {
    const services = this.registry.list(SERVICES, undefined) as Stored<Service>[];
    const byKey = new Set(services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`));
    for (const s of services) this.sync(s);
    for (const ep of this.registry.list(ENDPOINTS, undefined) as Stored<Endpoints>[]) {
      if (byKey.has(`${ep.metadata.namespace}/${ep.metadata.name}`)) continue;
      // Only the controller's own Endpoints (those of a service with a selector) go with the service.
      if (
        ep.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'] === undefined
      )
        continue;
      try {
        this.registry.store.remove(ENDPOINTS.storeKey, ep.metadata.namespace, ep.metadata.name);
      } catch {
        // gone already
      }
    }
  }

  sync(svc: Stored<Service>): void {
    const selector = svc.spec?.selector;
    if (
      !selector ||
      !Object.keys(selector).length ||
      svc.spec?.type === 'ExternalName' ||
      svc.metadata.deletionTimestamp
    )
      return;
    const ns = svc.metadata.namespace as string; // services are namespaced
    // A terminating namespace takes no new objects; its services go soon anyway.
    const namespace = this.registry.store.get('namespaces', undefined, ns) as Namespace | undefined;
    if (namespace?.metadata?.deletionTimestamp) return;
    const pods = this.registry.listWhere(PODS, ns, (o) => {
      const p = o as Pod;
      return (
        selects(selector, p.metadata?.labels) &&
        !!p.status?.podIP &&
        p.status?.phase !== 'Succeeded' &&
        p.status?.phase !== 'Failed'
      );
    }) as Stored<Pod>[];
    const members: Member[] = pods
      .map((pod) => ({
        pod,
        ready: isPodReady(pod) && !pod.metadata.deletionTimestamp,
        terminating: !!pod.metadata.deletionTimestamp,
      }))
      .sort((a, b) => (a.pod.metadata.name < b.pod.metadata.name ? -1 : 1));
    this.writeEndpoints(svc, members);
    this.writeSlice(svc, members);
  }

  private writeEndpoints(svc: Stored<Service>, members: Member[]): void {
    const ns = svc.metadata.namespace;
    const name = svc.metadata.name;
    // Pods are grouped by the ports they resolve to, as the endpoints controller's subsets.
    const subsets = new Map<
      string,
      { addresses: EndpointAddress[]; notReadyAddresses: EndpointAddress[]; ports: EndpointPort[] }
    >();
    for (const m of members) {
      if (m.terminating) continue;
      const ports: EndpointPort[] = [];
      for (const sp of svc.spec?.ports ?? []) {
        const port = resolvePort(m.pod, sp);
        if (port === undefined) continue;
        const p: EndpointPort = { port, protocol: sp.protocol ?? 'TCP' };
        if (sp.name) p.name = sp.name;
        if (sp.appProtocol) p.appProtocol = sp.appProtocol;
        ports.push(p);
      }
      if ((svc.spec?.ports ?? []).length && !ports.length) continue;
      const key = JSON.stringify(ports);
      const subset = subsets.get(key) ?? { addresses: [], notReadyAddresses: [], ports };
      const addr: EndpointAddress = {
        ip: m.pod.status!.podIP, // members have a podIP
        nodeName: m.pod.spec?.nodeName,
        targetRef: {
          kind: 'Pod',
          namespace: ns,
          name: m.pod.metadata.name,
          uid: m.pod.metadata.uid,
        },
      };
      (m.ready ? subset.addresses : subset.notReadyAddresses).push(addr);
      subsets.set(key, subset);
    }
    const out: EndpointSubset[] = [...subsets.values()].map((s) => {
      const o: EndpointSubset = {};
      if (s.addresses.length) o.addresses = s.addresses;
      if (s.notReadyAddresses.length) o.notReadyAddresses = s.notReadyAddresses;
      if (s.ports.length) o.ports = s.ports;
      return o;
    });
    const existing = this.registry.tryGet(ENDPOINTS, ns, name) as Endpoints | undefined;
    const labels: Labels = { ...(svc.metadata.labels ?? {}) };
    if (svc.spec?.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
    if (
      existing &&
      deepEqual(existing.subsets ?? [], out) &&
      deepEqual(existing.metadata.labels ?? {}, labels)
    )
      return;
    const body: Endpoints = existing
      ? structuredClone(existing)
      : { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: ns } };
    body.metadata.labels = labels;
    if (!Object.keys(labels).length) delete body.metadata.labels;
    body.metadata.annotations = {
      ...(body.metadata.annotations ?? {}),
      'endpoints.kubernetes.io/last-change-trigger-time': rfc3339(),
    };
    if (out.length) body.subsets = out;
    else delete body.subsets;
    if (existing) {
      delete body.metadata.resourceVersion;
      this.registry.update(ENDPOINTS, ns, name, body);
    } else this.registry.create(ENDPOINTS, ns, body);
  }

  private writeSlice(svc: Stored<Service>, members: Member[]): void {
    const ns = svc.metadata.namespace;
    const ports: EndpointSlicePort[] = [];
    const first = members[0]?.pod;
    for (const sp of svc.spec?.ports ?? []) {
      const port = first ? resolvePort(first, sp) : undefined;
      const p: EndpointSlicePort = { name: sp.name ?? '', protocol: sp.protocol ?? 'TCP' };
      if (port !== undefined) p.port = port;
      if (sp.appProtocol) p.appProtocol = sp.appProtocol;
      ports.push(p);
    }
    const endpoints: EndpointSliceEndpoint[] = members.map((m) => ({
      addresses: [m.pod.status!.podIP],
      conditions: { ready: m.ready, serving: isPodReady(m.pod), terminating: m.terminating },
      nodeName: m.pod.spec?.nodeName,
      targetRef: { kind: 'Pod', namespace: ns, name: m.pod.metadata.name, uid: m.pod.metadata.uid },
    }));
    const owned = this.registry.listWhere(ENDPOINT_SLICES, ns, (o) => {
      const s = o as EndpointSlice;
      return (
        s.metadata?.labels?.[SERVICE_NAME] === svc.metadata.name &&
        s.metadata?.labels?.[MANAGED_BY] === SLICE_CONTROLLER
      );
    }) as Stored<EndpointSlice>[];
    const labels: Labels = {
      ...(svc.metadata.labels ?? {}),
      [SERVICE_NAME]: svc.metadata.name,
      [MANAGED_BY]: SLICE_CONTROLLER,
    };
    if (svc.spec?.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
    const [slice, ...extra] = owned;
    for (const x of extra)
      this.registry.store.remove(ENDPOINT_SLICES.storeKey, ns, x.metadata.name);
    if (
      slice &&
      deepEqual(slice.endpoints ?? [], endpoints) &&
      deepEqual(slice.ports ?? [], ports) &&
      deepEqual(slice.metadata.labels, labels)
    )
      return;
    const body: EndpointSlice = slice
      ? structuredClone(slice)
      : {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            generateName: `${svc.metadata.name}-`,
            namespace: ns,
            ownerReferences: [
              {
                apiVersion: 'v1',
                kind: 'Service',
                name: svc.metadata.name,
                uid: svc.metadata.uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          addressType: 'IPv4',
        };
    body.metadata.labels = labels;
    body.metadata.annotations = {
      ...(body.metadata.annotations ?? {}),
      'endpoints.kubernetes.io/last-change-trigger-time': rfc3339(),
    };
    body.endpoints = endpoints;
    body.ports = ports;
    if (!endpoints.length) body.endpoints = [];
    if (slice) {
      delete body.metadata.resourceVersion;
      this.registry.update(ENDPOINT_SLICES, ns, slice.metadata.name, body);
    } else this.registry.create(ENDPOINT_SLICES, ns, body);
  }
}
