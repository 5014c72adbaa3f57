/**
 * The simulated Kubernetes API server: node:http serving the Kubernetes REST API (JSON) on 127.0.0.1, with the
 * simulated controllers and kubelet behind it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { ControllerManager } from './controller-manager.js';
import {
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  openApiV3Doc,
  openApiV3Index,
  versionInfo,
} from './discovery.js';
import {
  badRequest,
  internalError,
  invalid,
  methodNotAllowed,
  pathNotFound,
  StatusError,
  tooLargeResourceVersion,
  unsupportedMediaType,
} from './errors.js';
import { EventRecorder } from './event-recorder.js';
import { Kubelet } from './kubelet.js';
import { kubeconfigFor } from './kubeconfig.js';
import { OPENAPI_V2_PROTOBUF, openApiV2Doc, openApiV2Protobuf } from './openapi-v2.js';
import { partialList, partialObject, wantsPartial } from './partial-metadata.js';
import { decodeProtobufObject, isProtobufBody } from './protobuf.js';
import { page } from './paging.js';
import { modelOf, pruneFields, unknownFields } from './schemas.js';
import { logContainer, podLog, stopLine } from './pod-logs.js';
import { answerReview, requestUser } from './reviews.js';
import { ClusterDataDir } from './persistence.js';
import { PATCH_TYPES, Registry, type Subresource } from './registry.js';
import { apiVersionOf, findResource, type ResourceDef } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { Store } from './store.js';
import { toTable, wantsTable, type IncludeObject } from './tables.js';
import {
  DEFAULT_TIMING,
  isRecord,
  jsonText,
  type KObject,
  type Obj,
  type SimTiming,
} from './types.js';

/** A DeleteOptions body as sent: read through checks. */
interface DeleteOptionsBody {
  gracePeriodSeconds?: unknown;
  propagationPolicy?: unknown;
  orphanDependents?: unknown;
  dryRun?: unknown;
  preconditions?: { uid?: string; resourceVersion?: string };
}

const PROPAGATION_POLICIES = ['Orphan', 'Background', 'Foreground'];
import { WatchHub } from './watch.js';

export interface SimClusterOptions {
  /** Cluster name (kubeconfig cluster/context/user, node name prefix). Default `sim`. */
  name?: string;
  /** Port on 127.0.0.1; 0 (default) picks an ephemeral port. */
  port?: number;
  /** Controller/kubelet delays in ms. */
  timing?: Partial<SimTiming>;
  /** How long watch history is kept (default 5 minutes). */
  historyWindowMs?: number;
  /** Max events kept in the watch history (default 10 000). */
  historyMaxEvents?: number;
  /**
   * Keeps the objects in this directory (see persistence.ts): read back at start with their
   * resourceVersions continuing, written as they change. The port it last listened on is
   * tried first when `port` is 0 or unset. Default: in memory only.
   */
  dataDir?: string;
  /** Address to bind. Default `127.0.0.1` (no authentication: bind wider only inside a private network, e.g. compose). */
  host?: string;
  /** The URL clients reach it at, written into its kubeconfig. Default `http://127.0.0.1:<port>`. */
  advertiseUrl?: string;
}

export interface InjectedFailure {
  /** HTTP method to match (any when unset). */
  method?: string;
  /** Substring or pattern of the request path (any when unset). */
  path?: string | RegExp;
  /** HTTP status to answer (e.g. 500, 503, 429). */
  code: number;
  /** How many matching requests fail (default 1). */
  count?: number;
  /** Status reason (default InternalError / ServiceUnavailable / TooManyRequests by code). */
  reason?: string;
  message?: string;
}

export interface SimulatedCluster {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  /** Stops timers, ends open watches, closes the server. */
  close(): Promise<void>;
  /** A kubeconfig with one cluster/context/user named after `name`, no auth. */
  kubeconfigYaml(): string;
  /** Number of HTTP requests served so far. */
  readonly requestCount: number;
  /** Current global resourceVersion. */
  readonly resourceVersion: number;
  /** Open watch streams. */
  readonly openWatches: number;
  /** Makes the next matching request(s) fail with the given status. */
  injectFailure(f: InjectedFailure): void;
  /** Drops the whole watch history: any older resourceVersion now gets 410 Expired. */
  compactWatchHistory(): void;
  /** Resets requestCount to 0. */
  resetRequestCount(): void;
  /** Errors swallowed by the simulated controllers (should stay empty). */
  readonly controllerErrors: readonly unknown[];
  /** Where its objects are kept, or undefined when in memory only. */
  readonly dataDir: string | undefined;
}

const MAX_BODY = 10 * 1024 * 1024;
const NAMESPACES = findResource('', 'v1', 'namespaces') as ResourceDef;
const NODES = findResource('', 'v1', 'nodes') as ResourceDef;

/** The one node the simulated kubelet runs pods on. */
function simNode(name: string): Obj {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const cond = (type: string, status: string, reason: string, message: string): Obj => ({
    type,
    status,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
    reason,
    message,
  });
  const resources = { cpu: '8', 'ephemeral-storage': '102350Mi', memory: '16Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
      },
    },
    spec: { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'] },
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: [
        cond(
          'MemoryPressure',
          'False',
          'KubeletHasSufficientMemory',
          'kubelet has sufficient memory available',
        ),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond(
          'PIDPressure',
          'False',
          'KubeletHasSufficientPID',
          'kubelet has sufficient PID available',
        ),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: '172.18.0.2' },
        { type: 'Hostname', address: name },
      ],
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: '6.1.0-sim',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        containerRuntimeVersion: 'containerd://1.7.24',
        kubeletVersion: 'v1.33.0',
        kubeProxyVersion: 'v1.33.0',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(data),
    'Cache-Control': 'no-cache, private',
  });
  res.end(data);
}

function sendStatus(res: ServerResponse, err: StatusError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, err.code, err.toStatus());
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(
          new StatusError(
            413,
            'RequestEntityTooLarge',
            'Request entity too large: limit is 10485760',
            {},
          ),
        );
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function mediaType(ct: string | undefined): string {
  return (ct ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function parseBody(buf: Buffer, contentType: string, allowed: string[]): unknown {
  const mt = mediaType(contentType);
  if (mt.includes('protobuf') || isProtobufBody(buf)) {
    // Typed clients (kubectl create deployment|namespace|service, autoscale) send protobuf; decode the kinds we know.
    const decoded = allowed.includes('application/json') ? decodeProtobufObject(buf) : undefined;
    if (!decoded) throw unsupportedMediaType(mt || 'application/vnd.kubernetes.protobuf');
    return decoded;
  }
  if (mt && !allowed.includes(mt)) throw unsupportedMediaType(mt);
  const text = buf.toString('utf8');
  if (!text.trim()) throw badRequest('the body of the request was empty');
  try {
    if (mt === 'application/yaml' || mt === PATCH_TYPES.apply) return parseYaml(text);
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(
      `the body of the request could not be decoded: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

function boolParam(v: string | null): boolean {
  return v === 'true' || v === '1';
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw badRequest(`invalid value for ${name}: ${v}`);
  return n;
}

function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

interface ResourcePath {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** Parses `/api/v1/...` or `/apis/g/v/...` into a resource path, or undefined. */
function parseResourcePath(
  group: string,
  version: string,
  segs: string[],
): ResourcePath | { watch: true; inner: ResourcePath } | undefined {
  let watch = false;
  if (segs[0] === 'watch') {
    watch = true;
    segs = segs.slice(1);
  }
  let out: ResourcePath | undefined;
  if (segs[0] === 'namespaces' && segs.length >= 3) {
    const def = findResource(group, version, segs[2]);
    if (def && def.namespaced)
      out = { def, namespace: segs[1], name: segs[3], subresource: segs[4] };
    if (segs.length > 5) return undefined;
  }
  if (!out) {
    const def = findResource(group, version, segs[0] ?? '');
    if (!def || segs.length > 3) return undefined;
    out = { def, name: segs[1], subresource: segs[2] };
  }
  if (out.subresource && !out.def.subresources.includes(out.subresource)) return undefined;
  return watch ? { watch: true, inner: out } : out;
}

const FIELD_VALIDATION = ['Strict', 'Warn', 'Ignore'];

/**
 * `fieldValidation` as the apiserver: fields the kind does not declare are always dropped
 * (never stored); Strict refuses them (400, each with its path), Warn (the default) sends one
 * `Warning` header per field, Ignore says nothing.
 */
function checkFields(
  def: ResourceDef,
  body: Obj,
  q: URLSearchParams,
  res: ServerResponse,
  patch = false,
): void {
  const mode = q.get('fieldValidation') || 'Warn';
  if (!FIELD_VALIDATION.includes(mode))
    throw badRequest(
      `fieldValidation: Unsupported value: "${mode}": supported values: "Ignore", "Strict", "Warn"`,
    );
  const model = modelOf(def);
  if (!model) return;
  const unknown = unknownFields(model, body, '', patch);
  if (!unknown.length) return;
  if (mode === 'Strict') {
    const list = unknown.map((f) => `unknown field "${f}"`).join(', ');
    throw badRequest(
      `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: strict decoding error: ${list}`,
    );
  }
  if (mode === 'Warn')
    res.setHeader(
      'Warning',
      unknown.map((f) => `299 - ${JSON.stringify(`unknown field "${f}"`)}`),
    );
  pruneFields(body, unknown);
}

/**
 * The field manager of a write: `fieldManager`, else the User-Agent up to its first `/`
 * (the apiserver's default), else `unknown`.
 */
function fieldManager(req: IncomingMessage, q: URLSearchParams): string {
  const explicit = q.get('fieldManager');
  if (explicit) {
    if (explicit.length > 128)
      throw badRequest(`fieldManager: Too long: may not be more than 128 bytes`);
    return explicit;
  }
  const ua = req.headers['user-agent'];
  return (typeof ua === 'string' && ua.split('/')[0]?.trim()) || 'unknown';
}

function deleteStatus(def: ResourceDef, obj: Obj): Obj {
  const o = obj as KObject;
  const details: Obj = { name: o.metadata.name };
  if (def.group) details.group = def.group;
  details.kind = def.resource;
  details.uid = o.metadata.uid;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}

/**
 * batch/v1 Jobs orphan their pods when a delete names no propagationPolicy (the job strategy's
 * default garbage-collection policy), with the apiserver's warning. kubectl sends Background.
 */
function jobDeleteDefault<T extends { propagationPolicy?: string }>(
  def: ResourceDef,
  opts: T,
  res: ServerResponse,
): T {
  if (def.group !== 'batch' || def.kind !== 'Job' || opts.propagationPolicy) return opts;
  res.setHeader(
    'Warning',
    `299 - ${JSON.stringify('child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning')}`,
  );
  return { ...opts, propagationPolicy: 'Orphan' };
}

class Cluster implements SimulatedCluster {
  private readonly bind: { host?: string; advertiseUrl?: string };
  readonly store: Store;
  readonly registry: Registry;
  private readonly recorder: EventRecorder;
  private readonly kubelet: Kubelet;
  private readonly controllers: ControllerManager;
  private readonly watches: WatchHub;
  private readonly server: Server;
  private readonly timing: SimTiming;
  private failures: (InjectedFailure & { remaining: number })[] = [];
  private requests = 0;
  private closing?: Promise<void>;
  private readonly data?: ClusterDataDir;
  private readonly preferredPort?: number;
  port = 0;
  url = '';

  constructor(
    readonly name: string,
    opts: SimClusterOptions,
  ) {
    this.bind = { host: opts.host, advertiseUrl: opts.advertiseUrl };
    this.timing = { ...DEFAULT_TIMING, ...(opts.timing ?? {}) };
    this.store = new Store({
      historyWindowMs: opts.historyWindowMs ?? 5 * 60_000,
      historyMaxEvents: opts.historyMaxEvents ?? 10_000,
    });
    this.registry = new Registry(this.store);
    if (opts.dataDir) {
      const { data, state } = ClusterDataDir.open(opts.dataDir);
      this.data = data;
      this.preferredPort = state.port;
      this.store.restore(state, data);
    }
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease'])
      if (!this.store.has(NAMESPACES.storeKey, undefined, ns))
        this.registry.create(NAMESPACES, undefined, {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: ns },
        });
    if (!this.store.has(NODES.storeKey, undefined, `${name}-worker`))
      this.registry.create(NODES, undefined, simNode(`${name}-worker`));
    this.recorder = new EventRecorder(this.store);
    this.kubelet = new Kubelet(this.store, this.recorder, this.timing, `${name}-worker`);
    this.kubelet.adopt(this.store.list('pods'));
    this.controllers = new ControllerManager(this.registry, this.recorder, this.timing);
    this.watches = new WatchHub(this.store, () => this.timing.bookmarkMs);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        try {
          sendStatus(res, err instanceof StatusError ? err : internalError(err));
        } catch {
          res.destroy();
        }
      });
    });
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    this.server.keepAliveTimeout = 30_000;
    this.server.requestTimeout = 0;
  }

  get dataDir(): string | undefined {
    return this.data?.dir;
  }

  /** Listens on `port`; with port 0 and a port remembered in the data directory, on that one if it is free. */
  async listen(port: number): Promise<void> {
    if (!port && this.preferredPort) {
      try {
        await this.listenOn(this.preferredPort);
      } catch {
        await this.listenOn(0); // taken meanwhile: kubeconfigs must be rewritten
      }
    } else await this.listenOn(port);
    this.data?.savePort(this.port);
  }

  private listenOn(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.bind.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        this.url = this.bind.advertiseUrl?.replace(/\/+$/, '') ?? `http://127.0.0.1:${this.port}`;
        resolve();
      });
    });
  }

  get requestCount(): number {
    return this.requests;
  }

  get resourceVersion(): number {
    return this.store.resourceVersion;
  }

  get openWatches(): number {
    return this.watches.openWatches;
  }

  get controllerErrors(): readonly unknown[] {
    return this.controllers.errors;
  }

  resetRequestCount(): void {
    this.requests = 0;
  }

  injectFailure(f: InjectedFailure): void {
    this.failures.push({ ...f, remaining: f.count ?? 1 });
  }

  compactWatchHistory(): void {
    this.store.compact();
  }

  kubeconfigYaml(): string {
    return kubeconfigFor([{ name: this.name, url: this.url }]);
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.controllers.close();
      this.kubelet.close();
      this.watches.closeAll();
      this.server.close(() => {
        this.data?.close();
        resolve();
      });
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  private injected(method: string, path: string): StatusError | undefined {
    const f = this.failures.find(
      (x) =>
        x.remaining > 0 &&
        (!x.method || x.method.toUpperCase() === method) &&
        (!x.path || (typeof x.path === 'string' ? path.includes(x.path) : x.path.test(path))),
    );
    if (!f) return undefined;
    f.remaining--;
    this.failures = this.failures.filter((x) => x.remaining > 0);
    const reason =
      f.reason ??
      (f.code === 503
        ? 'ServiceUnavailable'
        : f.code === 429
          ? 'TooManyRequests'
          : f.code === 504
            ? 'Timeout'
            : 'InternalError');
    return new StatusError(f.code, reason, f.message ?? `injected failure (${f.code})`, {});
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    const method = (req.method ?? 'GET').toUpperCase();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      throw badRequest('malformed request URL');
    }
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const failure = this.injected(method, path);
    if (failure) {
      req.resume();
      sendStatus(res, failure);
      return;
    }
    let segs: string[];
    try {
      segs = path
        .split('/')
        .slice(1)
        .map((s) => decodeURIComponent(s));
    } catch {
      throw badRequest('malformed request path');
    }
    if (segs.some((s) => s === '') && path !== '/') throw pathNotFound();
    const accept = req.headers.accept;
    const q = url.searchParams;

    // Health and discovery.
    if (['/healthz', '/livez', '/readyz'].includes(path)) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    if (method === 'GET') {
      if (path === '/version') return sendJson(res, 200, versionInfo());
      if (path === '/api') return sendJson(res, 200, apiVersions(`127.0.0.1:${this.port}`));
      if (path === '/apis') return sendJson(res, 200, apiGroupList());
      if (path === '/openapi/v3') return sendJson(res, 200, openApiV3Index());
      if (path === '/openapi/v2') {
        // kubectl asks for the gnostic protobuf form (validation of `kind: List` files); others get JSON.
        if (!(accept ?? '').includes('protobuf')) return sendJson(res, 200, openApiV2Doc());
        const pb = openApiV2Protobuf();
        res.writeHead(200, {
          'Content-Type': OPENAPI_V2_PROTOBUF,
          'Content-Length': pb.length,
          'Cache-Control': 'no-cache, private',
        });
        res.end(pb);
        return;
      }
      if (segs[0] === 'openapi') {
        if (segs[1] === 'v3') {
          const doc = openApiV3Doc(segs.slice(2).join('/'));
          if (doc) return sendJson(res, 200, doc);
        }
        throw pathNotFound();
      }
      if (segs[0] === 'api' && segs.length === 2) {
        const l = apiResourceList('', segs[1]);
        if (l) return sendJson(res, 200, l);
        throw pathNotFound();
      }
      if (segs[0] === 'apis' && segs.length === 2) {
        const g = apiGroup(segs[1]);
        if (g) return sendJson(res, 200, g);
        throw pathNotFound();
      }
      if (segs[0] === 'apis' && segs.length === 3) {
        const l = apiResourceList(segs[1], segs[2]);
        if (l) return sendJson(res, 200, l);
        throw pathNotFound();
      }
    }

    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 3)
      [group, version, rest] = ['', segs[1], segs.slice(2)];
    else if (segs[0] === 'apis' && segs.length >= 4)
      [group, version, rest] = [segs[1], segs[2], segs.slice(3)];
    else throw pathNotFound();
    const parsed = parseResourcePath(group, version, rest);
    if (!parsed) throw pathNotFound();
    let rp: ResourcePath;
    let watch = boolParam(q.get('watch'));
    if ('watch' in parsed) {
      rp = parsed.inner;
      watch = true;
    } else rp = parsed;
    const { def } = rp;
    const ns = def.namespaced ? rp.namespace : undefined;
    const sub = rp.subresource as Subresource | 'log';
    const dryRun = q.getAll('dryRun').includes('All');
    const table = wantsTable(accept) ? includeObject(q) : undefined;
    const out = (o: Obj): Obj => this.registry.external(def, o);
    const kindKey = def.kind === 'Event' && def.group === 'events.k8s.io' ? 'EventV1' : def.kind;

    if (def.virtual) {
      // Reviews: create-only, computed, never stored.
      if (method !== 'POST' || rp.name) throw methodNotAllowed();
      const body = parseBody(await readBody(req), req.headers['content-type'] ?? '', [
        'application/json',
        'application/yaml',
      ]) as Obj;
      if (!body || typeof body !== 'object' || Array.isArray(body))
        throw badRequest('the body of the request must be a JSON object');
      return sendJson(
        res,
        201,
        answerReview(def.kind, apiVersionOf(def), body, requestUser(req.headers)),
      );
    }

    if (!rp.name) {
      // Collection.
      if (method === 'GET') {
        const labels = parseLabelSelector(q.get('labelSelector'));
        const fields = parseFieldSelector(q.get('fieldSelector'), kindKey);
        if (watch) {
          const sendInitialEvents = q.has('sendInitialEvents')
            ? boolParam(q.get('sendInitialEvents'))
            : false;
          if (sendInitialEvents && q.get('resourceVersionMatch') !== 'NotOlderThan')
            throw invalid(
              { group: 'meta.k8s.io', resource: 'listoptions', kind: 'ListOptions' },
              '',
              [
                {
                  reason: 'FieldValueForbidden',
                  message:
                    'Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled and resourceVersionMatch is NotOlderThan',
                  field: 'sendInitialEvents',
                },
              ],
            );
          const rv = q.get('resourceVersion') ?? undefined;
          if (rv && rv !== '0' && !/^\d+$/.test(rv))
            throw badRequest(`invalid resource version: ${rv}`);
          const timeoutSeconds = intParam(q, 'timeoutSeconds');
          this.watches.serve(res, {
            def,
            namespace: ns,
            labels,
            fields,
            resourceVersion: rv,
            allowBookmarks: boolParam(q.get('allowWatchBookmarks')),
            timeoutSeconds,
            sendInitialEvents,
            table,
            external:
              !table && wantsPartial(accept, false) ? (o: Obj) => partialObject(out(o)) : out,
          });
          return;
        }
        const rv = String(this.store.resourceVersion);
        // A list "not older than" a resourceVersion this server has not reached fails like the apiserver's.
        const minRv = q.get('resourceVersion');
        if (minRv && /^\d+$/.test(minRv) && Number(minRv) > this.store.resourceVersion)
          throw tooLargeResourceVersion(Number(minRv), this.store.resourceVersion);
        const all = this.registry
          .list(def, ns)
          .filter((o) => labels((o as KObject).metadata.labels ?? {}) && fields(o));
        const p = page(all, {
          limit: intParam(q, 'limit'),
          continueToken: q.get('continue'),
          currentRv: Number(rv),
          oldestRv: this.store.oldestWatchableRv,
          selectors: !!(q.get('labelSelector') || q.get('fieldSelector')),
        });
        const items = p.items;
        const listMeta: Obj = { resourceVersion: p.resourceVersion };
        if (p.continue) listMeta.continue = p.continue;
        if (p.remainingItemCount !== undefined) listMeta.remainingItemCount = p.remainingItemCount;
        if (table)
          return sendJson(res, 200, {
            ...toTable(def.kind, items, p.resourceVersion, table, out),
            metadata: listMeta,
          });
        if (wantsPartial(accept, true))
          return sendJson(res, 200, {
            ...partialList(items.map(out), p.resourceVersion),
            metadata: listMeta,
          });
        return sendJson(res, 200, {
          apiVersion: apiVersionOf(def),
          kind: `${def.kind}List`,
          metadata: listMeta,
          items: items.map(out),
        });
      }
      if (method === 'POST') {
        const body = parseBody(await readBody(req), req.headers['content-type'] ?? '', [
          'application/json',
          'application/yaml',
        ]) as Obj;
        if (!body || typeof body !== 'object' || Array.isArray(body))
          throw badRequest('the body of the request must be a JSON object');
        if (body.kind && body.kind !== def.kind)
          throw badRequest(
            `the kind in the data (${String(body.kind)}) does not match the expected kind (${def.kind})`,
          );
        checkFields(def, body, q, res);
        const created = this.registry.create(def, ns, body, {
          dryRun,
          manager: fieldManager(req, q),
        });
        return sendJson(res, 201, out(created));
      }
      if (method === 'DELETE') {
        if (!def.verbs.includes('deletecollection')) throw methodNotAllowed();
        const opts = jobDeleteDefault(def, await this.deleteOptions(req, q), res);
        const labels = parseLabelSelector(q.get('labelSelector'));
        const fields = parseFieldSelector(q.get('fieldSelector'), kindKey);
        const items = (this.registry.list(def, ns) as KObject[]).filter(
          (o) => labels(o.metadata.labels ?? {}) && fields(o),
        );
        const deleted: Obj[] = [];
        for (const o of items) {
          try {
            deleted.push(
              out(
                this.registry.delete(def, o.metadata.namespace, o.metadata.name ?? '', opts).object,
              ),
            );
          } catch (err) {
            if (!(err instanceof StatusError && err.code === 404)) throw err;
          }
        }
        return sendJson(res, 200, {
          apiVersion: apiVersionOf(def),
          kind: `${def.kind}List`,
          metadata: { resourceVersion: String(this.store.resourceVersion) },
          items: deleted,
        });
      }
      throw methodNotAllowed();
    }

    // Single object.
    const name = rp.name;
    if (method === 'GET') {
      const o = this.registry.get(def, ns, name);
      if (sub === 'scale') return sendJson(res, 200, this.registry.toScale(def, o));
      if (sub === 'log' && boolParam(q.get('follow'))) return this.followLog(res, o, q);
      if (sub === 'log') {
        const text = podLog(o, q);
        res.writeHead(200, {
          'Content-Type': 'text/plain',
          'Content-Length': Buffer.byteLength(text),
        });
        res.end(text);
        return;
      }
      if (wantsPartial(accept, false)) return sendJson(res, 200, partialObject(out(o)));
      if (table)
        return sendJson(
          res,
          200,
          toTable(def.kind, [o], String((o as KObject).metadata.resourceVersion), table, out),
        );
      return sendJson(res, 200, out(o));
    }
    if (sub === 'log') throw methodNotAllowed();
    if (method === 'PUT') {
      const body = parseBody(await readBody(req), req.headers['content-type'] ?? '', [
        'application/json',
        'application/yaml',
      ]) as Obj;
      if (!body || typeof body !== 'object' || Array.isArray(body))
        throw badRequest('the body of the request must be a JSON object');
      const expectKind = sub === 'scale' ? 'Scale' : def.kind;
      if (body.kind && body.kind !== expectKind)
        throw badRequest(
          `the kind in the data (${String(body.kind)}) does not match the expected kind (${expectKind})`,
        );
      if (!sub) checkFields(def, body, q, res);
      const updated = this.registry.update(def, ns, name, body, {
        dryRun,
        subresource: sub,
        manager: fieldManager(req, q),
      });
      return sendJson(res, 200, sub === 'scale' ? updated : out(updated));
    }
    if (method === 'PATCH') {
      const ct = mediaType(req.headers['content-type']);
      const allowed = Object.values(PATCH_TYPES) as string[];
      if (!allowed.includes(ct)) {
        req.resume();
        throw unsupportedMediaType(ct || '(none)');
      }
      const body = parseBody(await readBody(req), ct, allowed);
      // A merge or strategic patch mirrors the object's structure; an apply patch is an object. JSON patches are not checked.
      if (
        !sub &&
        ct !== PATCH_TYPES.json &&
        body &&
        typeof body === 'object' &&
        !Array.isArray(body)
      )
        checkFields(def, body, q, res, ct !== PATCH_TYPES.apply);
      const force = q.get('force');
      if (force !== null && ct !== PATCH_TYPES.apply)
        throw invalid(
          { group: 'meta.k8s.io', resource: 'patchoptions', kind: 'PatchOptions' },
          '',
          [
            {
              reason: 'FieldValueForbidden',
              message: 'Forbidden: may not be specified for non-apply patch',
              field: 'force',
            },
          ],
        );
      const { object, created } = this.registry.patch(def, ns, name, ct, body, {
        dryRun,
        subresource: sub,
        fieldManager: q.get('fieldManager') ?? undefined,
        manager: fieldManager(req, q),
        force: boolParam(force),
      });
      return sendJson(res, created ? 201 : 200, sub === 'scale' ? object : out(object));
    }
    if (method === 'DELETE') {
      if (sub) throw methodNotAllowed();
      const opts = jobDeleteDefault(def, await this.deleteOptions(req, q), res);
      const { object, removed } = this.registry.delete(def, ns, name, opts);
      if (def.kind === 'Pod' || !removed) return sendJson(res, 200, out(object));
      return sendJson(res, 200, deleteStatus(def, object));
    }
    throw methodNotAllowed();
  }

  /**
   * `logs -f`: the lines so far, then the stream stays open until the container exits (its exit
   * line) or the pod is deleted, as the kubelet's follow ends with the container.
   */
  private followLog(res: ServerResponse, pod: Obj, q: URLSearchParams): void {
    const text = podLog(pod, q);
    const container = logContainer(pod, q);
    res.writeHead(200, {
      'Content-Type': 'text/plain',
      'Transfer-Encoding': 'chunked',
      'Cache-Control': 'no-cache, private',
    });
    res.write(text);
    if (stopLine(pod, container, q) || q.get('previous') === 'true') {
      res.end();
      return;
    }
    const uid = (pod as KObject).metadata.uid;
    const unsubscribe = this.store.subscribe((e) => {
      if (e.storeKey !== 'pods' || (e.object as KObject).metadata?.uid !== uid) return;
      if (e.type === 'DELETED') return finish();
      const line = stopLine(e.object, container, q);
      if (line) finish(line);
    });
    const finish = (line?: string): void => {
      unsubscribe();
      if (res.writableEnded) return;
      if (line) res.write(line);
      res.end();
    };
    res.on('close', () => unsubscribe());
  }

  private async deleteOptions(
    req: IncomingMessage,
    q: URLSearchParams,
  ): Promise<{
    dryRun?: boolean;
    propagationPolicy?: string;
    gracePeriodSeconds?: number;
    preconditions?: { uid?: string; resourceVersion?: string };
  }> {
    const buf = await readBody(req);
    let body: DeleteOptionsBody = {};
    if (buf.length && buf.toString('utf8').trim()) {
      const mt = mediaType(req.headers['content-type']);
      if (mt.includes('protobuf')) throw unsupportedMediaType(mt);
      let parsed: unknown;
      try {
        parsed = JSON.parse(buf.toString('utf8'));
      } catch {
        throw badRequest('the body of the request could not be decoded as DeleteOptions');
      }
      if (isRecord(parsed)) body = parsed;
    }
    const grace =
      intParam(q, 'gracePeriodSeconds') ??
      (typeof body.gracePeriodSeconds === 'number' ? body.gracePeriodSeconds : undefined);
    const policy: unknown =
      q.get('propagationPolicy') ??
      body.propagationPolicy ??
      (body.orphanDependents === true ? 'Orphan' : undefined);
    const propagationPolicy =
      typeof policy === 'string' && PROPAGATION_POLICIES.includes(policy) ? policy : undefined;
    if (policy && !propagationPolicy)
      throw badRequest(`DeleteOptions.propagationPolicy: Unsupported value: "${jsonText(policy)}"`);
    const dryRun =
      q.getAll('dryRun').includes('All') ||
      (Array.isArray(body.dryRun) && body.dryRun.includes('All'));
    return {
      dryRun,
      propagationPolicy,
      gracePeriodSeconds: grace,
      preconditions: body.preconditions,
    };
  }
}

/** Starts a simulated cluster (on 127.0.0.1 unless `host` says otherwise). */
export async function startSimulatedCluster(
  opts: SimClusterOptions = {},
): Promise<SimulatedCluster> {
  const c = new Cluster(opts.name ?? 'sim', opts);
  try {
    await c.listen(opts.port ?? 0);
  } catch (err) {
    await c.close().catch(() => undefined);
    throw err;
  }
  return c;
}
