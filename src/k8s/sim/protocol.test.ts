/** The wire protocol over raw HTTP: discovery, Tables, watch options, errors, semantics, controllers, failures. */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedCluster, type SimulatedCluster } from './index.js';
import { eventually, FAST_TIMING } from './test-support.js';

type Json = Record<string, any>;

interface Reply {
  status: number;
  contentType: string;
  body: Json;
}

const TABLE_ACCEPT =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

describe('simulated API server protocol', () => {
  let cluster: SimulatedCluster;
  let lateWatch: { ended: Promise<void> } | undefined;

  const call = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body =
        typeof body === 'string' || body instanceof Uint8Array
          ? (body as string)
          : JSON.stringify(body);
      (init.headers as Record<string, string>)['Content-Type'] ??= 'application/json';
    }
    const r = await fetch(cluster.url + path, init);
    const text = await r.text();
    return {
      status: r.status,
      contentType: r.headers.get('content-type') ?? '',
      body: text ? (JSON.parse(text) as Json) : {},
    };
  };

  /** Opens a watch; collects parsed lines until the server ends the stream or close() is called. */
  const watch = (
    path: string,
    headers: Record<string, string> = {},
  ): { events: Json[]; ended: Promise<void>; close: () => void; status: Promise<number> } => {
    const events: Json[] = [];
    let close = (): void => undefined;
    let resolveStatus: (n: number) => void = () => undefined;
    const status = new Promise<number>((r) => (resolveStatus = r));
    const ended = new Promise<void>((resolve) => {
      const req = request(cluster.url + path, { headers }, (res) => {
        resolveStatus(res.statusCode ?? 0);
        let buf = '';
        res.on('data', (d: Buffer) => {
          buf += d.toString();
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            events.push(JSON.parse(buf.slice(0, i)) as Json);
            buf = buf.slice(i + 1);
          }
        });
        res.on('end', () => resolve());
        res.on('close', () => resolve());
      });
      req.on('error', () => resolve());
      req.end();
      close = () => req.destroy();
    });
    return { events, ended, close, status };
  };

  const deployment = (name: string, extra: Json = {}): Json => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
      },
      ...extra,
    },
  });

  const D = '/apis/apps/v1/namespaces/default/deployments';
  const PODS = '/api/v1/namespaces/default/pods';

  beforeAll(async () => {
    cluster = await startSimulatedCluster({
      name: 'proto',
      timing: { ...FAST_TIMING, bookmarkMs: 100 },
      historyWindowMs: 60_000,
    });
  });

  afterAll(async () => {
    lateWatch = watch(`${PODS}?watch=true`);
    await eventually(() => cluster.openWatches > 0);
    await cluster.close();
    await lateWatch.ended; // close() ends open watches
    expect(cluster.openWatches).toBe(0);
    expect(cluster.controllerErrors).toEqual([]);
  });

  it('serves discovery, version and openapi', async () => {
    const api = await call('GET', '/api');
    expect(api.contentType).toBe('application/json');
    expect(api.body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    expect(api.body.serverAddressByClientCIDRs[0].serverAddress).toBe(`127.0.0.1:${cluster.port}`);
    const apis = await call('GET', '/apis', undefined, {
      Accept:
        'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
    });
    expect(apis.contentType).toBe('application/json');
    expect(apis.body.groups.map((g: Json) => g.preferredVersion.groupVersion)).toEqual([
      'apps/v1',
      'autoscaling/v2',
      'batch/v1',
      'discovery.k8s.io/v1',
      'events.k8s.io/v1',
      'authorization.k8s.io/v1',
      'authentication.k8s.io/v1',
    ]);
    const core = await call('GET', '/api/v1');
    const byName = new Map<string, Json>(core.body.resources.map((r: Json) => [r.name, r]));
    expect(byName.get('pods')).toMatchObject({
      kind: 'Pod',
      namespaced: true,
      shortNames: ['po'],
      categories: ['all'],
    });
    expect(byName.get('namespaces')).toMatchObject({ namespaced: false, shortNames: ['ns'] });
    expect(byName.has('pods/status')).toBe(true);
    const appsList = await call('GET', '/apis/apps/v1');
    const scale = appsList.body.resources.find((r: Json) => r.name === 'deployments/scale');
    expect(scale).toMatchObject({ group: 'autoscaling', version: 'v1', kind: 'Scale' });
    expect(appsList.body.resources.find((r: Json) => r.name === 'replicasets/scale')).toMatchObject(
      { kind: 'Scale' },
    );
    for (const gv of ['/apis/autoscaling/v2', '/apis/events.k8s.io/v1'])
      expect((await call('GET', gv)).status).toBe(200);
    expect((await call('GET', '/version')).body).toMatchObject({
      major: '1',
      minor: '33',
      gitVersion: 'v1.33.0',
      platform: 'linux/amd64',
    });
    expect((await call('GET', '/openapi/v2')).body.swagger).toBe('2.0');
    const idx = await call('GET', '/openapi/v3');
    expect(idx.body.paths['apis/apps/v1'].serverRelativeURL).toMatch(
      /^\/openapi\/v3\/apis\/apps\/v1\?hash=/,
    );
    const doc = await call('GET', idx.body.paths['apis/apps/v1'].serverRelativeURL);
    const patch = doc.body.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
    });
    expect(patch.parameters.map((p: Json) => p.name)).toContain('fieldValidation');
    const unknown = await call('GET', '/apis/batch/v1/cronjobs');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      message: 'the server could not find the requested resource',
    });
  });

  it('malformed requests get Status errors and the server keeps serving', async () => {
    const bad = await call('POST', D, '{not json');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'BadRequest',
      code: 400,
    });
    const proto = await call('POST', D, new Uint8Array([0x6b, 0x38, 0x73, 0x00, 1, 2, 3]), {
      'Content-Type': 'application/vnd.kubernetes.protobuf',
    });
    expect(proto.status).toBe(415);
    expect(proto.body).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType', code: 415 });
    const patchType = await call('PATCH', `${D}/x`, '{}', { 'Content-Type': 'text/plain' });
    expect(patchType.status).toBe(415);
    expect(
      (await call('GET', `${PODS}?labelSelector=${encodeURIComponent('a in (')}`)).status,
    ).toBe(400);
    expect((await call('GET', `${PODS}?watch=true&resourceVersion=abc`)).status).toBe(400);
    expect((await call('POST', D, [1, 2])).status).toBe(400);
    expect((await call('POST', D, { kind: 'Service', metadata: { name: 'x' } })).status).toBe(400);
    expect((await call('PUT', `${D}`, {})).status).toBe(405);
    const noNs = await call('POST', '/apis/apps/v1/namespaces/nope/deployments', deployment('x'));
    expect(noNs.status).toBe(404);
    expect(noNs.body.message).toBe('namespaces "nope" not found');
    const raw = await fetch(`${cluster.url}/api/v1/namespaces/%E0%A4%A/pods`);
    expect(raw.status).toBe(400);
    expect((await call('GET', '/api/v1/namespaces//pods')).status).toBe(404);
    expect(
      (
        await call(
          'PATCH',
          `${D}/x`,
          { op: 'add' },
          { 'Content-Type': 'application/json-patch+json' },
        )
      ).status,
    ).toBe(404);
    expect((await call('GET', '/version')).status).toBe(200);
  });

  it('create fills metadata and defaults; generateName; dryRun does not persist', async () => {
    const c = await call('POST', D, deployment('meta'));
    expect(c.status).toBe(201);
    const m = c.body.metadata;
    expect(m.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(m.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(m.namespace).toBe('default');
    expect(m.generation).toBe(1);
    expect(c.body.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
    });
    expect(c.body.spec.progressDeadlineSeconds).toBe(600);
    expect(c.body.spec.template.spec).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      terminationGracePeriodSeconds: 30,
    });
    expect(c.body.spec.template.spec.containers[0]).toMatchObject({
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: 'IfNotPresent',
    });

    const g = await call('POST', PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { generateName: 'gen-' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    expect(g.status).toBe(201);
    expect(g.body.metadata.name).toMatch(/^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(g.body.spec.containers[0].imagePullPolicy).toBe('Always');
    expect(g.body.status).toMatchObject({ phase: 'Pending', qosClass: 'BestEffort' });

    const dry = await call('POST', `${D}?dryRun=All`, deployment('dry'));
    expect(dry.status).toBe(201);
    expect((await call('GET', `${D}/dry`)).status).toBe(404);
  });

  it('generation bumps on spec changes only; main writes ignore status and /status writes ignore the rest', async () => {
    const cur = (await call('GET', `${D}/meta`)).body;
    const rv0 = Number(cur.metadata.resourceVersion);
    const labelled = await call(
      'PATCH',
      `${D}/meta`,
      { metadata: { labels: { x: '1' } }, status: { replicas: 99 } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    expect(labelled.body.metadata.generation).toBe(1);
    expect(labelled.body.status.replicas).not.toBe(99);
    expect(Number(labelled.body.metadata.resourceVersion)).toBeGreaterThan(rv0);
    const spec = await call(
      'PATCH',
      `${D}/meta`,
      { spec: { replicas: 3 } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    expect(spec.body.metadata.generation).toBe(2);
    const st = await call(
      'PATCH',
      `${D}/meta/status`,
      { spec: { replicas: 7 }, status: { observedGeneration: 42 } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    expect(st.status).toBe(200);
    expect(st.body.spec.replicas).toBe(3);
    expect(st.body.status.observedGeneration).toBe(42);
    const sel = await call(
      'PATCH',
      `${D}/meta`,
      {
        spec: {
          selector: { matchLabels: { app: 'other' } },
          template: { metadata: { labels: { app: 'other' } } },
        },
      },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    expect(sel.status).toBe(422);
    expect(sel.body.message).toMatch(
      /^Deployment\.apps "meta" is invalid: spec\.selector: Invalid value: .*field is immutable$/,
    );
    const noRv = { ...(await call('GET', `${D}/meta`)).body };
    delete noRv.metadata.resourceVersion;
    expect((await call('PUT', `${D}/meta`, noRv)).status).toBe(200);
    const scale = await call('PUT', `${D}/meta/scale`, {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: 'meta', resourceVersion: '1' },
      spec: { replicas: 1 },
    });
    expect(scale.status).toBe(409);
    expect(scale.body.reason).toBe('Conflict');
  });

  it('lists and single GETs as Tables, with the list resourceVersion', async () => {
    const t = await call('GET', D, undefined, { Accept: TABLE_ACCEPT });
    expect(t.body).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
    const listRv = Number(t.body.metadata.resourceVersion);
    expect(listRv).toBeLessThanOrEqual(cluster.resourceVersion);
    for (const r of t.body.rows)
      expect(Number(r.object.metadata.resourceVersion)).toBeLessThanOrEqual(listRv);
    expect(t.body.columnDefinitions.map((c: Json) => [c.name, c.priority])).toEqual([
      ['Name', 0],
      ['Ready', 0],
      ['Up-to-date', 0],
      ['Available', 0],
      ['Age', 0],
      ['Containers', 1],
      ['Images', 1],
      ['Selector', 1],
    ]);
    expect(t.body.columnDefinitions[0].format).toBe('name');
    const row = t.body.rows.find((r: Json) => r.cells[0] === 'meta');
    expect(row.object).toMatchObject({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { name: 'meta' },
    });
    expect(row.cells.slice(5)).toEqual(['app', 'nginx:1.25', 'app=meta']);
    const one = await call('GET', `${D}/meta?includeObject=Object`, undefined, {
      Accept: TABLE_ACCEPT,
    });
    expect(one.body.rows).toHaveLength(1);
    expect(one.body.rows[0].object.kind).toBe('Deployment');
    const hpa = await call(
      'GET',
      '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers',
      undefined,
      { Accept: TABLE_ACCEPT },
    );
    expect(hpa.body.columnDefinitions.map((c: Json) => c.name)).toEqual([
      'Name',
      'Reference',
      'Targets',
      'MinPods',
      'MaxPods',
      'Replicas',
      'Age',
    ]);
  });

  it('watch: synthetic ADDED, replay, selectors, Table events, bookmarks, timeoutSeconds', async () => {
    await call('POST', D, deployment('w1'));
    const fromZero = watch(
      `${D}?watch=true&resourceVersion=0&fieldSelector=metadata.name%3Dw1&timeoutSeconds=1`,
    );
    expect(await fromZero.status).toBe(200);
    const t0 = Date.now();
    await fromZero.ended;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(fromZero.events[0]).toMatchObject({
      type: 'ADDED',
      object: { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { name: 'w1' } },
    });
    expect(fromZero.events.every((e) => e.object.metadata.name === 'w1')).toBe(true);

    const rv = cluster.resourceVersion;
    await call(
      'PATCH',
      `${D}/w1`,
      { metadata: { labels: { phase: 'a' } } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    await call(
      'PATCH',
      `${D}/w1`,
      { metadata: { labels: { phase: 'b' } } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    const sel = watch(`${D}?watch=true&resourceVersion=${rv}&labelSelector=phase%3Da`);
    await eventually(() => sel.events.length >= 2);
    sel.close();
    expect(sel.events.slice(0, 2).map((e) => e.type)).toEqual(['ADDED', 'DELETED']);

    const bm = watch(
      `${D}?watch=true&allowWatchBookmarks=true&resourceVersion=${cluster.resourceVersion}`,
    );
    await eventually(() => bm.events.some((e) => e.type === 'BOOKMARK'));
    bm.close();
    const b = bm.events.find((e) => e.type === 'BOOKMARK') as Json;
    expect(b.object).toEqual({
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      metadata: { resourceVersion: expect.stringMatching(/^\d+$/) },
    });

    const tbl = watch(`${PODS}?watch=true&resourceVersion=${cluster.resourceVersion}`, {
      Accept: TABLE_ACCEPT,
    });
    await call('POST', PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'tbl' },
      spec: { containers: [{ name: 'c', image: 'nginx:1' }] },
    });
    await eventually(() => tbl.events.some((e) => e.object.rows?.[0]?.cells?.[2] === 'Running'));
    tbl.close();
    expect(tbl.events[0]).toMatchObject({
      type: 'ADDED',
      object: {
        kind: 'Table',
        rows: [
          {
            cells: [
              'tbl',
              '0/1',
              'Pending',
              '0',
              expect.any(String),
              '<none>',
              '<none>',
              '<none>',
              '<none>',
            ],
          },
        ],
      },
    });
  });

  it('metadata-only responses for PartialObjectMetadata clients', async () => {
    const accept =
      'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
    const l = await call('GET', D, undefined, { Accept: accept });
    expect(l.body.kind).toBe('PartialObjectMetadataList');
    expect(l.body.items.find((i: Json) => i.metadata.name === 'meta')).toEqual({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: expect.objectContaining({ name: 'meta', namespace: 'default' }),
    });
    const one = await call('GET', `${D}/meta`, undefined, {
      Accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
    });
    expect(one.body.kind).toBe('PartialObjectMetadata');
    expect(one.body.spec).toBeUndefined();
  });

  it('watch: sendInitialEvents ends the initial list with the initial-events-end bookmark', async () => {
    const w = watch(
      `${D}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&fieldSelector=metadata.name%3Dmeta`,
    );
    await eventually(() => w.events.some((e) => e.type === 'BOOKMARK'));
    w.close();
    expect(w.events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'meta' } } });
    expect(w.events[1]).toMatchObject({
      type: 'BOOKMARK',
      object: { metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } },
    });
    const bad = await call('GET', `${D}?watch=true&sendInitialEvents=true`);
    expect(bad.status).toBe(422);
  });

  it('a resourceVersion from the future: watch ERROR 504 ResourceVersionTooLarge, list 504, as the apiserver answers', async () => {
    const future = cluster.resourceVersion + 1000;
    const w = watch(`${D}?watch=true&resourceVersion=${future}`);
    await w.ended; // the server ends the stream after the error
    expect(await w.status).toBe(200);
    expect(w.events).toEqual([
      {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          reason: 'Timeout',
          code: 504,
          message: `Timeout: Too large resource version: ${future}, current: ${cluster.resourceVersion}`,
          details: {
            causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
            retryAfterSeconds: 1,
          },
        },
      },
    ]);
    const list = await call('GET', `${D}?resourceVersion=${future}`);
    expect([list.status, list.body.reason, list.body.details.causes[0].reason]).toEqual([
      504,
      'Timeout',
      'ResourceVersionTooLarge',
    ]);
    expect((await call('GET', `${D}?resourceVersion=${cluster.resourceVersion}`)).status).toBe(200);
  });

  it('rolling update honours maxSurge/maxUnavailable', async () => {
    const name = 'roll';
    const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
    await call('POST', D, deployment(name, { replicas: 4, strategy }));
    await eventually(
      async () => (await call('GET', `${D}/${name}`)).body.status?.availableReplicas === 4,
    );
    const specs = new Map<string, number>();
    const avail = new Map<string, number>();
    let maxTotal = 0;
    let minAvail = Infinity;
    const w = watch(
      `/apis/apps/v1/namespaces/default/replicasets?watch=true&labelSelector=app%3D${name}`,
    );
    await eventually(() => w.events.length >= 1);
    const seen = w.events;
    const timer = setInterval(() => {
      for (const e of seen.splice(0)) {
        specs.set(e.object.metadata.name, e.type === 'DELETED' ? 0 : e.object.spec.replicas);
        avail.set(
          e.object.metadata.name,
          e.type === 'DELETED' ? 0 : (e.object.status.availableReplicas ?? 0),
        );
      }
      maxTotal = Math.max(
        maxTotal,
        [...specs.values()].reduce((a, b) => a + b, 0),
      );
      if (specs.size > 1)
        minAvail = Math.min(
          minAvail,
          [...avail.values()].reduce((a, b) => a + b, 0),
        );
    }, 1);
    await call(
      'PATCH',
      `${D}/${name}`,
      { spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:1.26' }] } } } },
      { 'Content-Type': 'application/strategic-merge-patch+json' },
    );
    await eventually(async () => {
      const d = (await call('GET', `${D}/${name}`)).body;
      return (
        d.status.updatedReplicas === 4 &&
        d.status.availableReplicas === 4 &&
        d.status.replicas === 4 &&
        d.status.observedGeneration === 2
      );
    });
    await new Promise((r) => setTimeout(r, 50));
    clearInterval(timer);
    w.close();
    expect(specs.size).toBe(2);
    expect(maxTotal).toBe(5);
    expect(minAvail).toBeGreaterThanOrEqual(4);
    const d = (await call('GET', `${D}/${name}`)).body;
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('2');
    const rsList = (
      await call('GET', `/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3D${name}`)
    ).body.items;
    const newRs = rsList.find((r: Json) => r.spec.replicas === 4);
    expect(newRs.metadata.annotations).toMatchObject({
      'deployment.kubernetes.io/revision': '2',
      'deployment.kubernetes.io/desired-replicas': '4',
      'deployment.kubernetes.io/max-replicas': '5',
    });
    expect(newRs.metadata.name).toBe(`${name}-${newRs.metadata.labels['pod-template-hash']}`);
    expect(newRs.spec.selector.matchLabels['pod-template-hash']).toBe(
      newRs.metadata.labels['pod-template-hash'],
    );
  });

  it('Recreate stops old pods before new ones start; revisionHistoryLimit prunes old replica sets', async () => {
    const name = 'rec';
    await call(
      'POST',
      D,
      deployment(name, { replicas: 2, strategy: { type: 'Recreate' }, revisionHistoryLimit: 1 }),
    );
    await eventually(
      async () => (await call('GET', `${D}/${name}`)).body.status?.availableReplicas === 2,
    );
    const w = watch(
      `${PODS}?watch=true&resourceVersion=${cluster.resourceVersion}&labelSelector=app%3D${name}`,
    );
    for (const tag of ['1.26', '1.27']) {
      await call(
        'PATCH',
        `${D}/${name}`,
        { spec: { template: { spec: { containers: [{ name: 'app', image: `nginx:${tag}` }] } } } },
        { 'Content-Type': 'application/strategic-merge-patch+json' },
      );
      await eventually(async () => {
        const d = (await call('GET', `${D}/${name}`)).body;
        return (
          d.status.observedGeneration === d.metadata.generation &&
          d.status.updatedReplicas === 2 &&
          d.status.availableReplicas === 2 &&
          d.status.replicas === 2
        );
      });
    }
    w.close();
    // Recreate: no new pod is ADDED while an old-template pod still exists.
    const live = new Map<string, string>();
    for (const e of w.events) {
      const image = e.object.spec.containers[0].image as string;
      if (e.type === 'ADDED') for (const img of live.values()) expect(img).toBe(image);
      if (e.type === 'DELETED') live.delete(e.object.metadata.name);
      else live.set(e.object.metadata.name, image);
    }
    const rs = await eventually(async () => {
      const items = (
        await call(
          'GET',
          `/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3D${name}`,
        )
      ).body.items as Json[];
      return items.length === 2 ? items : undefined;
    });
    expect(
      rs.map((r) => r.metadata.annotations['deployment.kubernetes.io/revision']).sort(),
    ).toEqual(['2', '3']);
  });

  it('badpull images report ErrImagePull / ImagePullBackOff with events', async () => {
    await call('POST', PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bp' },
      spec: { containers: [{ name: 'c', image: 'registry.example.com/app:v2-badpull' }] },
    });
    const reasons = new Set<string>();
    await eventually(
      async () => {
        const p = (await call('GET', `${PODS}/bp`)).body;
        const r = p.status.containerStatuses?.[0]?.state?.waiting?.reason;
        if (r) reasons.add(r);
        return reasons.has('ErrImagePull') && reasons.has('ImagePullBackOff');
      },
      10_000,
      5,
    );
    const p = (await call('GET', `${PODS}/bp`)).body;
    expect(p.status.phase).toBe('Pending');
    expect(p.status.containerStatuses[0].restartCount).toBe(0);
    const ev = (
      await call('GET', `/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dbp`)
    ).body.items as Json[];
    expect(
      ev.some(
        (e) =>
          e.type === 'Warning' &&
          e.reason === 'Failed' &&
          String(e.message).startsWith(
            'Failed to pull image "registry.example.com/app:v2-badpull"',
          ),
      ),
    ).toBe(true);
    expect(
      ev.some(
        (e) =>
          e.reason === 'BackOff' &&
          e.message === 'Back-off pulling image "registry.example.com/app:v2-badpull"',
      ),
    ).toBe(true);
    expect(ev.find((e) => e.reason === 'Scheduled')).toMatchObject({
      source: { component: 'default-scheduler' },
      involvedObject: { kind: 'Pod', name: 'bp', namespace: 'default' },
    });
  });

  it('pod DELETE is graceful and returns the pod; delete collection; Orphan keeps dependents', async () => {
    await eventually(async () => (await call('GET', `${PODS}/tbl`)).body.spec?.nodeName);
    const del = await call('DELETE', `${PODS}/tbl`);
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({
      kind: 'Pod',
      metadata: { name: 'tbl', deletionGracePeriodSeconds: 30 },
    });
    expect(del.body.metadata.deletionTimestamp).toBeTruthy();
    await eventually(async () => (await call('GET', `${PODS}/tbl`)).status === 404);

    const rs = (
      await call('GET', `/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dw1`)
    ).body.items[0];
    const orphan = await call('DELETE', `${D}/w1`, {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: 'Orphan',
    });
    expect(orphan.body).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'w1', group: 'apps', kind: 'deployments' },
    });
    await new Promise((r) => setTimeout(r, 200));
    const kept = await call(
      'GET',
      `/apis/apps/v1/namespaces/default/replicasets/${rs.metadata.name}`,
    );
    expect(kept.status).toBe(200);
    expect(kept.body.metadata.ownerReferences).toBeUndefined();

    const coll = await call(
      'DELETE',
      `/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dw1`,
    );
    expect(coll.status).toBe(200);
    expect(coll.body.kind).toBe('ReplicaSetList');
    expect(coll.body.items.map((r: Json) => r.metadata.name)).toEqual([rs.metadata.name]);
    await eventually(
      async () => (await call('GET', `${PODS}?labelSelector=app%3Dw1`)).body.items.length === 0,
    );
  });

  it('serves the simulated node; create ignores status', async () => {
    const nodes = await call('GET', '/api/v1/nodes');
    expect(nodes.body.items.map((n: Json) => n.metadata.name)).toEqual(['proto-worker']);
    const t = await call('GET', '/api/v1/nodes', undefined, { Accept: TABLE_ACCEPT });
    expect(t.body.rows[0].cells.slice(0, 3)).toEqual(['proto-worker', 'Ready', '<none>']);
    expect(t.body.rows[0].cells[4]).toBe('v1.33.0');
    const pod = (await call('GET', `${PODS}?fieldSelector=spec.nodeName%3Dproto-worker`)).body
      .items;
    expect(pod.length).toBeGreaterThan(0);
    const c = await call('POST', D, {
      ...deployment('st'),
      status: { replicas: 9, availableReplicas: 9 },
    });
    expect(c.body.status.replicas).toBeUndefined();
  });

  it('Foreground deletion keeps the owner until its dependents are gone', async () => {
    await eventually(
      async () => (await call('GET', `${D}/st`)).body.status?.availableReplicas === 2,
    );
    const del = await call('DELETE', `${D}/st`, {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: 'Foreground',
    });
    expect(del.status).toBe(200);
    expect(del.body.kind).toBe('Deployment');
    expect(del.body.metadata.deletionTimestamp).toBeTruthy();
    expect(del.body.metadata.finalizers).toContain('foregroundDeletion');
    const w = watch(
      `${D}?watch=true&resourceVersion=${del.body.metadata.resourceVersion}&fieldSelector=metadata.name%3Dst`,
    );
    await eventually(() => w.events.some((e) => e.type === 'DELETED'));
    w.close();
    expect(
      (await call('GET', `/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dst`))
        .body.items,
    ).toEqual([]);
    expect((await call('GET', `${PODS}?labelSelector=app%3Dst`)).body.items).toEqual([]);
  });

  it('int32 fields: a string, fraction or out-of-range value is refused (400 on create/update, 422 on patch) and nothing loops', async () => {
    // Regression: merge-patch {"spec":{"replicas":"abc"}} used to be stored; the controllers
    // then concatenated strings and looped, growing the resourceVersion without bound.
    expect((await call('POST', D, deployment('ints'))).status).toBe(201);
    const rvOf = async (): Promise<string> =>
      (await call('GET', `${D}/ints`)).body.metadata.resourceVersion;
    await eventually(async () =>
      (await call('GET', `${D}/ints`)).body.status?.availableReplicas === 2 ? true : undefined,
    );
    const merge = { 'Content-Type': 'application/merge-patch+json' };
    for (const replicas of ['abc', 1.5, 2 ** 31, true]) {
      const r = await call('PATCH', `${D}/ints`, { spec: { replicas } }, merge);
      expect(r.status).toBe(422);
      expect(r.body).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        reason: 'Invalid',
        code: 422,
        details: { causes: [{ field: 'patch', reason: 'FieldValueInvalid' }] },
      });
      expect(r.body.message).toContain(
        'Go struct field DeploymentSpec.spec.replicas of type int32',
      );
    }
    for (const [path, value] of [
      ['/spec/replicas', '3'],
      ['/spec/progressDeadlineSeconds', 'x'],
      ['/spec/revisionHistoryLimit', 0.5],
      ['/spec/minReadySeconds', '1'],
    ] as const) {
      const r = await call('PATCH', `${D}/ints`, [{ op: 'replace', path, value }], {
        'Content-Type': 'application/json-patch+json',
      });
      expect([path, r.status]).toEqual([path, 422]);
    }
    const scale = await call('PATCH', `${D}/ints/scale`, { spec: { replicas: 'abc' } }, merge);
    expect([scale.status, scale.body.reason]).toEqual([422, 'Invalid']);
    const scalePut = await call('PUT', `${D}/ints/scale`, {
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name: 'ints' },
      spec: { replicas: '4' },
    });
    expect([scalePut.status, scalePut.body.reason]).toEqual([400, 'BadRequest']);
    const created = await call('POST', D, deployment('ints-bad', { replicas: '2' }));
    expect(created.status).toBe(400);
    expect(created.body).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
    expect(created.body.message).toBe(
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
    );
    const current = (await call('GET', `${D}/ints`)).body;
    const put = await call('PUT', `${D}/ints`, {
      ...current,
      spec: { ...current.spec, replicas: 1.5 },
    });
    expect(put.status).toBe(400);
    const hpa = await call(
      'POST',
      '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers',
      {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'ints' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ints' },
          minReplicas: '1',
          maxReplicas: 3,
        },
      },
    );
    expect(hpa.status).toBe(400);
    // Range checks the apiserver's validation makes (422 on the field).
    const negative = await call(
      'PATCH',
      `${D}/ints`,
      { spec: { revisionHistoryLimit: -1 } },
      merge,
    );
    expect([negative.status, negative.body.details?.causes?.[0]?.field]).toEqual([
      422,
      'spec.revisionHistoryLimit',
    ]);
    // Nothing was stored: replicas still 2, and the cluster is quiet (no write loop).
    expect((await call('GET', `${D}/ints`)).body.spec.replicas).toBe(2);
    const rv = await rvOf();
    await new Promise((r) => setTimeout(r, 300));
    expect(await rvOf()).toBe(rv);
    expect(cluster.controllerErrors).toEqual([]);
    expect((await call('DELETE', `${D}/ints`)).status).toBe(200);
  });

  it('injected failures and the request counter', async () => {
    const before = cluster.requestCount;
    cluster.injectFailure({ method: 'GET', path: '/deployments', code: 503, count: 2 });
    expect((await call('GET', D)).status).toBe(503);
    const second = await call('GET', D);
    expect(second.body).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable', code: 503 });
    expect((await call('GET', D)).status).toBe(200);
    expect(cluster.requestCount).toBe(before + 3);
    cluster.resetRequestCount();
    expect(cluster.requestCount).toBe(0);
  });

  it('namespaces: deletion goes Terminating, refuses new content, removes the objects and then the namespace', async () => {
    const ns = await call('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'tmp' },
    });
    expect(ns.status).toBe(201);
    expect(ns.body.status.phase).toBe('Active');
    expect(
      (await call('POST', '/apis/apps/v1/namespaces/tmp/deployments', deployment('x'))).status,
    ).toBe(201);
    const del = await call('DELETE', '/api/v1/namespaces/tmp');
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({
      kind: 'Namespace',
      metadata: { name: 'tmp' },
      status: { phase: 'Terminating' },
    });
    expect(del.body.metadata.deletionTimestamp).toBeTruthy();
    const again = await call('DELETE', '/api/v1/namespaces/tmp');
    expect(again.status).toBe(409);
    expect(again.body.message).toContain(
      'The system is ensuring all content is removed from this namespace.',
    );
    const refused = await call('POST', '/apis/apps/v1/namespaces/tmp/deployments', deployment('y'));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      reason: 'Forbidden',
      message:
        'deployments.apps "y" is forbidden: unable to create new content in namespace tmp because it is being terminated',
      details: {
        name: 'y',
        group: 'apps',
        kind: 'deployments',
        causes: [
          {
            reason: 'NamespaceTerminating',
            message: 'namespace tmp is being terminated',
            field: 'metadata.namespace',
          },
        ],
      },
    });
    await eventually(
      async () => (await call('GET', '/apis/apps/v1/namespaces/tmp/deployments/x')).status === 404,
      15_000,
    );
    await eventually(
      async () => (await call('GET', '/api/v1/namespaces/tmp')).status === 404,
      15_000,
    );
    const dflt = await call('DELETE', '/api/v1/namespaces/default');
    expect(dflt.status).toBe(403);
    expect(dflt.body.message).toBe(
      'namespaces "default" is forbidden: this namespace may not be deleted',
    );
  });
});
