/** meta.k8s.io/v1 Tables with the columns of the real apiserver printers (pkg/printers/internalversion). */
import { labelSelectorString } from './selectors.js';
import type {
  ConfigMap,
  ContainerStatus,
  CoreEvent,
  Deployment,
  Endpoints,
  EndpointSlice,
  HorizontalPodAutoscaler,
  Job,
  Namespace,
  Node,
  Pod,
  PodSpec,
  ReplicaSet,
  Secret,
  Service,
} from './kinds.js';
import type { Condition, KObject, Obj } from './types.js';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

function col(name: string, priority = 0, type = 'string', format = '', description = ''): Column {
  return { name, type, format, description, priority };
}

const NAME_COL = col(
  'Name',
  0,
  'string',
  'name',
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
);
const AGE_COL = col(
  'Age',
  0,
  'string',
  '',
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
);

/** apimachinery duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function since(ts: string | undefined | null): string {
  if (!ts) return '<unknown>';
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(Date.now() - t);
}

function age(o: KObject): string {
  return since(o.metadata?.creationTimestamp);
}

function containersAndImages(spec: PodSpec | undefined): [string, string] {
  const cs = spec?.containers ?? [];
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image).join(',')];
}

function orNone(s: string | undefined | null): string {
  return s ? s : '<none>';
}

function podStatus(pod: Pod): {
  reason: string;
  ready: number;
  total: number;
  restarts: number;
  lastRestart?: string;
} {
  let reason: string = pod.status?.reason || pod.status?.phase || '';
  const statuses: ContainerStatus[] = pod.status?.containerStatuses ?? [];
  const total = (pod.spec?.containers ?? []).length;
  let ready = 0;
  let restarts = 0;
  let lastRestart: string | undefined;
  let hasRunning = false;
  for (let i = statuses.length - 1; i >= 0; i--) {
    const c = statuses[i];
    restarts += c.restartCount ?? 0;
    const fin: string | undefined = c.lastState?.terminated?.finishedAt;
    if (fin && (!lastRestart || Date.parse(fin) > Date.parse(lastRestart))) lastRestart = fin;
    if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
    else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
    else if (c.state?.terminated)
      reason = c.state.terminated.signal
        ? `Signal:${c.state.terminated.signal}`
        : `ExitCode:${c.state.terminated.exitCode}`;
    else if (c.ready && c.state?.running) {
      hasRunning = true;
      ready++;
    }
  }
  if (reason === 'Completed' && hasRunning) {
    const readyCond = (pod.status?.conditions ?? []).some(
      (x) => x.type === 'Ready' && x.status === 'True',
    );
    reason = readyCond ? 'Running' : 'NotReady';
  }
  if (pod.metadata?.deletionTimestamp)
    reason = pod.status?.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return { reason, ready, total, restarts, lastRestart };
}

function servicePorts(s: Service): string {
  const ports = s.spec?.ports ?? [];
  if (!ports.length) return '<none>';
  return ports
    .map((p) =>
      p.nodePort
        ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}`
        : `${p.port}/${p.protocol ?? 'TCP'}`,
    )
    .join(',');
}

function externalIp(s: Service): string {
  const type = s.spec?.type ?? 'ClusterIP';
  if (type === 'ExternalName') return s.spec?.externalName ?? '<none>';
  const ext: string[] = [...(s.spec?.externalIPs ?? [])];
  if (type === 'LoadBalancer') {
    const ing = s.status?.loadBalancer?.ingress ?? [];
    const lb = ing.map((i) => i.ip || i.hostname).filter(Boolean);
    const all = [...lb, ...ext];
    return all.length ? all.join(',') : '<pending>';
  }
  return ext.length ? ext.join(',') : '<none>';
}

function hpaTargets(h: HorizontalPodAutoscaler): string {
  const metrics = h.spec?.metrics ?? [];
  if (!metrics.length) return '<none>';
  const current = h.status?.currentMetrics ?? [];
  return metrics
    .map((m, i) => {
      if (m.type === 'Resource') {
        const t = m.resource?.target ?? {};
        const cur = current[i]?.resource?.current;
        if (t.type === 'Utilization') {
          const c =
            cur?.averageUtilization !== undefined ? `${cur.averageUtilization}%` : '<unknown>';
          return `${m.resource?.name}: ${c}/${t.averageUtilization}%`;
        }
        const c = cur?.averageValue ?? '<unknown>';
        return `${m.resource?.name}: ${c}/${t.averageValue ?? t.value}`;
      }
      return '<unknown>/<unknown>';
    })
    .join(', ');
}

interface Printer {
  columns: Column[];
  /**
   * The row's cells. A kind's printer declares its parameter as that kind's shape (a method's
   * parameter is bivariant): the stored object is narrowed here, at the boundary.
   */
  cells(o: Obj): unknown[];
}

const PRINTERS: Record<string, Printer> = {
  Deployment: {
    columns: [
      NAME_COL,
      col('Ready', 0, 'string', '', 'Number of the pod with ready state'),
      col(
        'Up-to-date',
        0,
        'string',
        '',
        'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
      ),
      col(
        'Available',
        0,
        'string',
        '',
        'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
      ),
      AGE_COL,
      col('Containers', 1, 'string', '', 'Names of each container in the template.'),
      col('Images', 1, 'string', '', 'Images referenced by each container in the template.'),
      col(
        'Selector',
        1,
        'string',
        '',
        'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
      ),
    ],
    cells: (d: Deployment) => {
      const [cs, imgs] = containersAndImages(d.spec?.template?.spec);
      return [
        d.metadata.name,
        `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`,
        d.status?.updatedReplicas ?? 0,
        d.status?.availableReplicas ?? 0,
        age(d),
        cs,
        imgs,
        labelSelectorString(d.spec?.selector),
      ];
    },
  },
  ReplicaSet: {
    columns: [
      NAME_COL,
      col('Desired', 0, 'integer', '', 'Replicas is the number of desired pods.'),
      col(
        'Current',
        0,
        'integer',
        '',
        'Replicas is the most recently observed number of replicas.',
      ),
      col('Ready', 0, 'integer', '', 'The number of ready replicas for this replica set.'),
      AGE_COL,
      col('Containers', 1, 'string', '', 'Names of each container in the template.'),
      col('Images', 1, 'string', '', 'Images referenced by each container in the template.'),
      col(
        'Selector',
        1,
        'string',
        '',
        'Selector is a label query over pods that should match the replica count.',
      ),
    ],
    cells: (rs: ReplicaSet) => {
      const [cs, imgs] = containersAndImages(rs.spec?.template?.spec);
      return [
        rs.metadata.name,
        rs.spec?.replicas ?? 0,
        rs.status?.replicas ?? 0,
        rs.status?.readyReplicas ?? 0,
        age(rs),
        cs,
        imgs,
        labelSelectorString(rs.spec?.selector),
      ];
    },
  },
  Pod: {
    columns: [
      NAME_COL,
      col(
        'Ready',
        0,
        'string',
        '',
        'The aggregate readiness state of this pod for accepting traffic.',
      ),
      col('Status', 0, 'string', '', 'The aggregate status of the containers in this pod.'),
      col(
        'Restarts',
        0,
        'string',
        '',
        'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
      ),
      AGE_COL,
      col(
        'IP',
        1,
        'string',
        '',
        'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
      ),
      col(
        'Node',
        1,
        'string',
        '',
        'NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements.',
      ),
      col(
        'Nominated Node',
        1,
        'string',
        '',
        'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.',
      ),
      col(
        'Readiness Gates',
        1,
        'string',
        '',
        'If specified, all readiness gates will be evaluated for pod readiness.',
      ),
    ],
    cells: (p: Pod) => {
      const s = podStatus(p);
      const restarts =
        s.restarts > 0 && s.lastRestart
          ? `${s.restarts} (${since(s.lastRestart)} ago)`
          : String(s.restarts);
      const gates = p.spec?.readinessGates ?? [];
      const gateStr = gates.length
        ? `${gates.filter((g) => (p.status?.conditions ?? []).some((c: Condition) => c.type === g.conditionType && c.status === 'True')).length}/${gates.length}`
        : '<none>';
      return [
        p.metadata.name,
        `${s.ready}/${s.total}`,
        s.reason,
        restarts,
        age(p),
        orNone(p.status?.podIP),
        orNone(p.spec?.nodeName),
        orNone(p.status?.nominatedNodeName),
        gateStr,
      ];
    },
  },
  Service: {
    columns: [
      NAME_COL,
      col('Type', 0, 'string', '', 'type determines how the Service is exposed.'),
      col(
        'Cluster-IP',
        0,
        'string',
        '',
        'clusterIP is the IP address of the service and is usually assigned randomly.',
      ),
      col(
        'External-IP',
        0,
        'string',
        '',
        'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.',
      ),
      col('Port(s)', 0, 'string', '', 'The list of ports that are exposed by this service.'),
      AGE_COL,
      col(
        'Selector',
        1,
        'string',
        '',
        'Route service traffic to pods with label keys and values matching this selector.',
      ),
    ],
    cells: (s: Service) => {
      const sel = Object.entries(s.spec?.selector ?? {})
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(',');
      return [
        s.metadata.name,
        s.spec?.type ?? 'ClusterIP',
        orNone(s.spec?.clusterIP),
        externalIp(s),
        servicePorts(s),
        age(s),
        orNone(sel),
      ];
    },
  },
  HorizontalPodAutoscaler: {
    columns: [
      NAME_COL,
      col(
        'Reference',
        0,
        'string',
        '',
        'scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.',
      ),
      col(
        'Targets',
        0,
        'string',
        '',
        'metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).',
      ),
      col(
        'MinPods',
        0,
        'string',
        '',
        'minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.',
      ),
      col(
        'MaxPods',
        0,
        'integer',
        '',
        'maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.',
      ),
      col(
        'Replicas',
        0,
        'integer',
        '',
        'currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.',
      ),
      AGE_COL,
    ],
    cells: (h: HorizontalPodAutoscaler) => [
      h.metadata.name,
      `${h.spec?.scaleTargetRef?.kind}/${h.spec?.scaleTargetRef?.name}`,
      hpaTargets(h),
      String(h.spec?.minReplicas ?? 1),
      h.spec?.maxReplicas ?? 0,
      h.status?.currentReplicas ?? 0,
      age(h),
    ],
  },
  Node: {
    columns: [
      NAME_COL,
      col('Status', 0, 'string', '', 'The status of the node'),
      col('Roles', 0, 'string', '', 'The roles of the node'),
      AGE_COL,
      col('Version', 0, 'string', '', 'Kubelet Version reported by the node.'),
      col(
        'Internal-IP',
        1,
        'string',
        '',
        'List of addresses reachable to the node. Queried from cloud provider, if available.',
      ),
      col(
        'External-IP',
        1,
        'string',
        '',
        'List of addresses reachable to the node. Queried from cloud provider, if available.',
      ),
      col(
        'OS-Image',
        1,
        'string',
        '',
        'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).',
      ),
      col(
        'Kernel-Version',
        1,
        'string',
        '',
        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
      ),
      col(
        'Container-Runtime',
        1,
        'string',
        '',
        'Container runtime version reported by the node through runtime remote API (e.g. containerd://1.4.2).',
      ),
    ],
    cells: (n: Node) => {
      const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
      let status = ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown';
      if (n.spec?.unschedulable) status += ',SchedulingDisabled';
      const roles = Object.keys(n.metadata?.labels ?? {})
        .filter((k) => k.startsWith('node-role.kubernetes.io/'))
        .map((k) => k.slice('node-role.kubernetes.io/'.length))
        .sort();
      const addr = (t: string): string =>
        (n.status?.addresses ?? []).find((a) => a.type === t)?.address ?? '<none>';
      const info = n.status?.nodeInfo ?? {};
      return [
        n.metadata.name,
        status,
        roles.length ? roles.join(',') : '<none>',
        age(n),
        info.kubeletVersion ?? '',
        addr('InternalIP'),
        addr('ExternalIP'),
        info.osImage ?? '<unknown>',
        info.kernelVersion ?? '<unknown>',
        info.containerRuntimeVersion ?? '<unknown>',
      ];
    },
  },
  ConfigMap: {
    columns: [
      NAME_COL,
      col('Data', 0, 'integer', '', 'Data contains the configuration data.'),
      AGE_COL,
    ],
    cells: (c: ConfigMap) => [
      c.metadata.name,
      Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length,
      age(c),
    ],
  },
  Secret: {
    columns: [
      NAME_COL,
      col('Type', 0, 'string', '', 'The type of the secret'),
      col('Data', 0, 'integer', '', 'Data contains the secret data.'),
      AGE_COL,
    ],
    // The values never reach a Table (only their count), as in the apiserver's printer.
    cells: (s: Secret) => [
      s.metadata.name,
      s.type ?? 'Opaque',
      Object.keys(s.data ?? {}).length,
      age(s),
    ],
  },
  Job: {
    columns: [
      NAME_COL,
      col('Status', 0, 'string', '', 'Status of the job.'),
      col(
        'Completions',
        0,
        'string',
        '',
        'The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.',
      ),
      col('Duration', 0, 'string', '', 'Time required to complete the job.'),
      AGE_COL,
      col('Containers', 1, 'string', '', 'Names of each container in the template.'),
      col('Images', 1, 'string', '', 'Images referenced by each container in the template.'),
      col(
        'Selector',
        1,
        'string',
        '',
        'A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
      ),
    ],
    // kubernetes pkg/printers/internalversion printJob (1.31+: with Status).
    cells: (j: Job) => {
      const succeeded = j.status?.succeeded ?? 0;
      let completions: string;
      if (j.spec?.completions !== undefined && j.spec?.completions !== null)
        completions = `${succeeded}/${j.spec.completions}`;
      else
        completions =
          (j.spec?.parallelism ?? 0) > 1
            ? `${succeeded}/1 of ${j.spec?.parallelism}`
            : `${succeeded}/1`;
      const start = Date.parse(j.status?.startTime ?? '');
      const end = Date.parse(j.status?.completionTime ?? '');
      const duration = !Number.isFinite(start)
        ? ''
        : humanDuration((Number.isFinite(end) ? end : Date.now()) - start);
      const cond = (t: string): boolean =>
        (j.status?.conditions ?? []).some((c) => c.type === t && c.status === 'True');
      let status = 'Running';
      if (cond('Complete')) status = 'Complete';
      else if (cond('Failed')) status = 'Failed';
      else if (j.metadata?.deletionTimestamp) status = 'Terminating';
      else if (cond('Suspended')) status = 'Suspended';
      else if (cond('FailureTarget')) status = 'FailureTarget';
      const [cs, imgs] = containersAndImages(j.spec?.template?.spec);
      return [
        j.metadata.name,
        status,
        completions,
        duration,
        age(j),
        cs,
        imgs,
        labelSelectorString(j.spec?.selector),
      ];
    },
  },
  Endpoints: {
    columns: [NAME_COL, col('Endpoints', 0, 'string', '', 'Endpoints of the service'), AGE_COL],
    // printers.go formatEndpoints: ip:port per address and port, at most 3, then "+ N more...".
    cells: (e: Endpoints) => {
      const subsets = e.subsets ?? [];
      if (!subsets.length) return [e.metadata.name, '<none>', age(e)];
      const list: (string | undefined)[] = []; // an address without an ip shows as ''
      let count = 0;
      let more = false;
      for (const ss of subsets) {
        const addrs = ss.addresses ?? [];
        const ports = ss.ports ?? [];
        if (!ports.length) {
          count += addrs.length;
          for (const a of addrs) {
            if (list.length === 3) {
              more = true;
              break;
            }
            list.push(a.ip);
          }
          continue;
        }
        for (const p of ports) {
          count += addrs.length;
          for (const a of addrs) {
            if (list.length === 3) {
              more = true;
              break;
            }
            list.push(String(a.ip).includes(':') ? `[${a.ip}]:${p.port}` : `${a.ip}:${p.port}`);
          }
        }
      }
      const cell = more ? `${list.join(',')} + ${count - 3} more...` : list.join(',');
      return [e.metadata.name, cell, age(e)];
    },
  },
  EndpointSlice: {
    columns: [
      NAME_COL,
      col(
        'AddressType',
        0,
        'string',
        '',
        'addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.',
      ),
      col(
        'Ports',
        0,
        'string',
        '',
        'ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates "all ports". Each slice may include a maximum of 100 ports.',
      ),
      col(
        'Endpoints',
        0,
        'string',
        '',
        'endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.',
      ),
      AGE_COL,
    ],
    // printers.go formatDiscoveryPorts / formatDiscoveryEndpoints.
    cells: (s: EndpointSlice) => {
      const cap = (items: string[]): string => {
        if (!items.length) return '<unset>';
        return items.length > 3
          ? `${items.slice(0, 3).join(',')} + ${items.length - 3} more...`
          : items.join(',');
      };
      const ports = (s.ports ?? []).map((p) =>
        p.port === undefined || p.port === null ? '<unset>' : String(p.port),
      );
      const addrs = (s.endpoints ?? []).flatMap((e) => e.addresses ?? []).map(String);
      return [s.metadata.name, s.addressType ?? '', cap(ports), cap(addrs), age(s)];
    },
  },
  Namespace: {
    columns: [NAME_COL, col('Status', 0, 'string', '', 'The status of the namespace'), AGE_COL],
    cells: (n: Namespace) => [n.metadata.name, n.status?.phase ?? 'Active', age(n)],
  },
  Event: {
    columns: [
      col('Last Seen', 0, 'string', '', 'Time when last Event occurred'),
      col('Type', 0, 'string', '', 'Type of this event.'),
      col('Reason', 0, 'string', '', 'Reason why this event was generated.'),
      col('Object', 0, 'string', '', 'Object this event is about.'),
      col('Subobject', 1, 'string', '', 'Subobject this event is about.'),
      col('Source', 1, 'string', '', 'Source of this event.'),
      col('Message', 0, 'string', '', 'Message of this event.'),
      col('First Seen', 1, 'string', '', 'Time when first Event occurred.'),
      col('Count', 1, 'string', '', 'Number of times this event has occurred.'),
      { ...NAME_COL, priority: 1 },
    ],
    cells: (e: CoreEvent) => {
      const last =
        e.series?.lastObservedTime ??
        e.lastTimestamp ??
        e.eventTime ??
        e.metadata.creationTimestamp;
      const first = e.firstTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
      const io = e.involvedObject ?? {};
      const src = e.source?.component
        ? e.source.host
          ? `${e.source.component}, ${e.source.host}`
          : e.source.component
        : (e.reportingComponent ?? '');
      return [
        since(last),
        e.type ?? '',
        e.reason ?? '',
        `${String(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`,
        io.fieldPath ?? '',
        src,
        String(e.message ?? '').trim(),
        since(first),
        String(e.count ?? 1),
        e.metadata.name,
      ];
    },
  },
};

const DEFAULT_PRINTER: Printer = {
  columns: [NAME_COL, AGE_COL],
  cells: (o: KObject) => [o.metadata.name, age(o)],
};

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(o: Obj, include: IncludeObject): Obj | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return {
    kind: 'PartialObjectMetadata',
    apiVersion: 'meta.k8s.io/v1',
    metadata: (o as KObject).metadata,
  };
}

/**
 * A Table of storage-form objects. `external` converts a row's object to the requested API version
 * (events.k8s.io); `kind` picks the printer.
 */
export function toTable(
  kind: string,
  objects: Obj[],
  resourceVersion: string,
  include: IncludeObject,
  external: (o: Obj) => Obj = (o) => o,
  withColumns = true,
): Obj {
  const p = PRINTERS[kind] ?? DEFAULT_PRINTER;
  const t: Obj = {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: withColumns ? p.columns : [],
    rows: objects.map((o) => {
      const row: Obj = { cells: p.cells(o) };
      const ro = rowObject(external(o), include);
      if (ro) row.object = ro;
      return row;
    }),
  };
  return t;
}

export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept
    .split(',')
    .some((part) => /(^|;)\s*as=Table\s*(;|$)/.test(part) && /application\/json/.test(part));
}
