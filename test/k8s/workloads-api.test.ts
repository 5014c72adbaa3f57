/**
 * Workloads over GraphQL against two simulated clusters (plus one nobody listens on): deploy,
 * live reads from the informer cache, podEvents over graphql-ws, scale/restart/deletePod with
 * authorization, a down cluster as data, and removeWorkload before deleteApp.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createUserWithToken,
  errorCode,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { PlatformEventRow } from '../../src/domain/events/platform-event.entity.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectlEnv } from '../../src/k8s/sim/test-support.js';
import { collect, startTestClusters, waitFor, type TestClusters } from './support.js';

const WORKLOAD = `cluster namespace image revision replicas readyReplicas updatedReplicas availableReplicas status error
  conditions { type status reason } pods { name phase status ready restarts nodeName startedAt image reason }
  hpa { minReplicas maxReplicas } events(last: 5) { type reason message object }`;

describe('workloads over GraphQL (embedded database, simulated clusters)', () => {
  let clusters: TestClusters;
  let t: TestPhantom;
  let dev: string;
  let viewer: string;

  const workloads = async (env = 'prod', token?: string) => {
    const r = await t.gql(
      `query($e: String!) { app(name: "shop") { workloads(env: $e) { ${WORKLOAD} } } }`,
      { e: env },
      token,
    );
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data.app.workloads as any[];
  };

  beforeAll(async () => {
    clusters = await startTestClusters(
      ['sim-1', 'sim-2'],
      [{ name: 'down', url: 'http://127.0.0.1:1' }],
    );
    t = await startTestPhantom('embedded', {
      env: { PHANTOM_KUBECONFIG: clusters.kubeconfigPath },
    });
    const created = await t.gql(
      `mutation { createApp(input: { name: "shop", kind: NODE, container: { replicas: 2 } }) { id } }`,
    );
    expect(created.errors).toBeUndefined();
    dev = await createUserWithToken(t, 'dev');
    viewer = await createUserWithToken(t, 'watcher');
    await t.gql(
      `mutation { setAppMember(app: "shop", username: "dev", role: DEVELOPER) { name } }`,
    );
    await t.gql(
      `mutation { setAppMember(app: "shop", username: "watcher", role: VIEWER) { name } }`,
    );
    await t.gql(
      `mutation { upsertEnvironment(input: { name: "broken", requiresApproval: false, targets: [{ cluster: "sim-1", namespace: "broken" }, { cluster: "down", namespace: "broken" }] }) { name } }`,
    );
  });
  afterAll(async () => {
    await t?.stop();
    await clusters?.close();
  });

  it('deploys to prod on both clusters and a query shows the pods becoming ready', async () => {
    const before = await workloads();
    expect(before.map((w) => [w.cluster, w.status])).toEqual([
      ['sim-1', 'MISSING'],
      ['sim-2', 'MISSING'],
    ]);
    // prod requires approval: until releases and tickets exist, only a platform admin deploys there directly.
    const refused = await t.gql(
      `mutation { deployApp(app: "shop", env: "prod", image: "registry.local/shop:1.0") { cluster } }`,
      {},
      dev,
    );
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(refused.errors![0].message).toMatch(/requires approval/);
    const em0 = t.phantom.platform.orm.em.fork();
    expect(await em0.count(PlatformEventRow, { type: 'WORKLOAD_DEPLOYED' } as any)).toBe(0);
    expect((await workloads()).map((w) => w.status)).toEqual(['MISSING', 'MISSING']);
    const r = await t.gql(
      `mutation { deployApp(app: "shop", env: "prod", image: "registry.local/shop:1.0") { cluster namespace image error } }`,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.deployApp).toEqual([
      { cluster: 'sim-1', namespace: 'prod', image: 'registry.local/shop:1.0', error: null },
      { cluster: 'sim-2', namespace: 'prod', image: 'registry.local/shop:1.0', error: null },
    ]);
    const ready = await waitFor(async () => {
      const ws = await workloads();
      return ws.every(
        (w) => w.status === 'AVAILABLE' && w.pods.length === 2 && w.pods.every((p: any) => p.ready),
      )
        ? ws
        : undefined;
    }, 10_000);
    expect(ready[1]).toMatchObject({
      cluster: 'sim-2',
      replicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      revision: 1,
      hpa: null,
      error: null,
    });
    expect(ready[1].pods[0]).toMatchObject({
      phase: 'Running',
      status: 'Running',
      restarts: 0,
      image: 'registry.local/shop:1.0',
      reason: null,
    });
    expect(ready[1].pods[0].nodeName).toBeTruthy();
    expect(ready[1].events.length).toBeGreaterThan(0);
    expect(ready[1].events.length).toBeLessThanOrEqual(5);
  });

  it('records WORKLOAD_DEPLOYED; a DEVELOPER deploys to an environment without approval', async () => {
    const em = t.phantom.platform.orm.em.fork();
    const [admin] = await em.find(PlatformEventRow, { type: 'WORKLOAD_DEPLOYED' });
    expect([admin.actor, admin.app, admin.env]).toEqual(['admin', 'shop', 'prod']);
    expect(admin.payload).toMatchObject({
      image: 'registry.local/shop:1.0',
      targets: [
        { cluster: 'sim-1', error: null },
        { cluster: 'sim-2', error: null },
      ],
    });
    const r = await t.gql(
      `mutation { deployApp(app: "shop", env: "dev", image: "registry.local/shop:1.0") { cluster error } }`,
      {},
      dev,
    );
    expect(r.data.deployApp).toEqual([{ cluster: 'sim-1', error: null }]);
    const rows = await em
      .fork()
      .find(PlatformEventRow, { type: 'WORKLOAD_DEPLOYED' }, { orderBy: { id: 'asc' } });
    expect(rows.map((e) => [e.actor, e.env])).toEqual([
      ['admin', 'prod'],
      ['dev', 'dev'],
    ]);
    // Nothing deployed (the only target is down): no event.
    await t.gql(
      `mutation { upsertEnvironment(input: { name: "gone", requiresApproval: false, targets: [{ cluster: "down", namespace: "gone" }] }) { name } }`,
    );
    const none = await t.gql(
      `mutation { deployApp(app: "shop", env: "gone", image: "registry.local/shop:1.0") { cluster error } }`,
      {},
      dev,
    );
    expect(none.data.deployApp[0].error).toBeTruthy();
    expect(await em.fork().count(PlatformEventRow, { type: 'WORKLOAD_DEPLOYED' } as any)).toBe(2);
  });

  it('answers live fields from the informer cache: no request reaches the API servers', async () => {
    await workloads();
    const before = clusters.sims.map((s) => s.requestCount);
    await workloads();
    await workloads('dev');
    expect(clusters.sims.map((s) => s.requestCount)).toEqual(before);
  });

  it('streams pod events over graphql-ws while the app scales', async () => {
    const sub = collect(
      t.ws(viewer),
      `subscription { podEvents(app: "shop", env: "prod") { type cluster namespace app env pod { name status ready } } }`,
    );
    // The subscription is active once the server has processed it; give it a moment.
    await new Promise((r) => setTimeout(r, 300));
    const r = await t.gql(
      `mutation { scaleApp(app: "shop", env: "prod", replicas: 3) { cluster replicas error } }`,
      {},
      dev,
    );
    expect(r.data.scaleApp).toEqual([
      { cluster: 'sim-1', replicas: 3, error: null },
      { cluster: 'sim-2', replicas: 3, error: null },
    ]);
    await waitFor(() => {
      const added = sub.items.filter((i) => i.data && i.data.podEvents.type === 'ADDED');
      const readyPods = new Set(
        sub.items
          .filter((i) => i.data?.podEvents.pod.ready)
          .map((i) => i.data.podEvents.cluster + '/' + i.data.podEvents.pod.name),
      );
      return added.length >= 2 && readyPods.size >= 2;
    }, 10_000);
    const first = sub.items[0].data;
    expect(first.podEvents).toMatchObject({ app: 'shop', env: 'prod', namespace: 'prod' });
    expect(new Set(sub.items.map((i) => i.data.podEvents.cluster))).toEqual(
      new Set(['sim-1', 'sim-2']),
    );
    sub.stop();
  });

  it('refuses a podEvents subscription without a sign-in, and for an unknown app', async () => {
    const anon = collect(
      t.ws(null),
      `subscription { podEvents(app: "shop", env: "prod") { type } }`,
    );
    await waitFor(() => anon.error !== undefined || anon.items.length > 0 || anon.completed, 5000);
    const e1 = (anon.items[0]?.errors ?? (anon.error as any[]) ?? [])[0];
    expect(e1?.extensions?.code).toBe('UNAUTHENTICATED');
    const unknown = collect(
      t.ws(viewer),
      `subscription { podEvents(app: "nope", env: "prod") { type } }`,
    );
    await waitFor(() => unknown.error !== undefined || unknown.items.length > 0, 5000);
    const errors = (unknown.error as any[]) ?? unknown.items[0]?.errors;
    expect(errors?.[0]?.extensions.code).toBe('NOT_FOUND');
  });

  it('authorizes changes: VIEWER refused, DEVELOPER allowed; bad input names the field', async () => {
    const mutations = [
      `mutation { restartApp(app: "shop", env: "prod") { cluster error } }`,
      `mutation { scaleApp(app: "shop", env: "prod", replicas: 2) { cluster error } }`,
      `mutation { deployApp(app: "shop", env: "prod", image: "registry.local/shop:1.0") { cluster error } }`,
      `mutation { deletePod(app: "shop", env: "prod", cluster: "sim-1", pod: "shop-x") }`,
    ];
    for (const m of mutations) {
      expect(errorCode(await t.gql(m, {}, viewer))).toBe('FORBIDDEN');
      expect(errorCode(await t.gql(m, {}, null))).toBe('UNAUTHENTICATED');
      expect(errorCode(await t.gql(m.replace('"shop"', '"nope"'), {}, dev))).toBe('NOT_FOUND');
    }
    const badEnv = await t.gql(
      `mutation { scaleApp(app: "shop", env: "staging", replicas: 2) { cluster } }`,
      {},
      dev,
    );
    expect([errorCode(badEnv), badEnv.errors![0].extensions!.field]).toEqual([
      'BAD_USER_INPUT',
      'env',
    ]);
    for (const n of [-1, 501]) {
      const bad = await t.gql(
        `mutation { scaleApp(app: "shop", env: "prod", replicas: ${n}) { cluster } }`,
        {},
        dev,
      );
      expect([errorCode(bad), bad.errors![0].extensions!.field]).toEqual([
        'BAD_USER_INPUT',
        'replicas',
      ]);
    }
    const badCluster = await t.gql(
      `mutation { deletePod(app: "shop", env: "dev", cluster: "sim-2", pod: "x") }`,
      {},
      dev,
    );
    expect([errorCode(badCluster), badCluster.errors![0].extensions!.field]).toEqual([
      'BAD_USER_INPUT',
      'cluster',
    ]);
    const badImage = await t.gql(
      `mutation { deployApp(app: "shop", env: "dev", image: "not an image") { cluster } }`,
      {},
      dev,
    );
    expect([errorCode(badImage), badImage.errors![0].extensions!.field]).toEqual([
      'BAD_USER_INPUT',
      'image',
    ]);
    const badLast = await t.gql(
      `{ app(name: "shop") { workloads(env: "prod") { events(last: 0) { reason } } } }`,
      {},
      viewer,
    );
    expect(errorCode(badLast)).toBe('BAD_USER_INPUT');

    const restarted = await t.gql(mutations[0], {}, dev);
    expect(restarted.data.restartApp).toEqual([
      { cluster: 'sim-1', error: null },
      { cluster: 'sim-2', error: null },
    ]);
    await waitFor(
      async () =>
        (await workloads()).every(
          (w) => w.revision === 2 && w.status === 'AVAILABLE' && w.pods.length === 3,
        ) || undefined,
      15_000,
    );
    const scaled = await t.gql(mutations[1], {}, dev);
    expect(scaled.errors).toBeUndefined();

    // Scaling down leaves Terminating pods for a moment: pick a pod once only the two remain.
    const [w1] = await waitFor(async () => {
      const ws = await workloads();
      return ws[0].pods.length === 2 && ws[0].pods.every((p: any) => p.status === 'Running')
        ? ws
        : undefined;
    }, 10_000);
    const pod = w1.pods[0].name;
    const missing = await t.gql(
      `mutation { deletePod(app: "shop", env: "prod", cluster: "sim-1", pod: "shop-nope") }`,
      {},
      dev,
    );
    expect(errorCode(missing)).toBe('NOT_FOUND');
    const del = await t.gql(
      `mutation($p: String!) { deletePod(app: "shop", env: "prod", cluster: "sim-1", pod: $p) }`,
      { p: pod },
      dev,
    );
    expect(del.data).toEqual({ deletePod: true });
    await waitFor(
      async () => ((await workloads())[0].pods.some((p: any) => p.name === pod) ? undefined : true),
      10_000,
    );

    const em = t.phantom.platform.orm.em.fork();
    const events = await em.find(
      PlatformEventRow,
      { type: { $in: ['WORKLOAD_RESTARTED', 'WORKLOAD_SCALED', 'POD_DELETED'] } as any },
      { orderBy: { id: 'asc' } },
    );
    expect(events.map((e) => [e.type, e.actor, e.app, e.env])).toEqual([
      ['WORKLOAD_SCALED', 'dev', 'shop', 'prod'], // the podEvents test's scale to 3
      ['WORKLOAD_RESTARTED', 'dev', 'shop', 'prod'],
      ['WORKLOAD_SCALED', 'dev', 'shop', 'prod'],
      ['POD_DELETED', 'dev', 'shop', 'prod'],
    ]);
    expect(events[2].payload).toMatchObject({
      replicas: 2,
      targets: [
        { cluster: 'sim-1', error: null },
        { cluster: 'sim-2', error: null },
      ],
    });
  });

  it('returns a down cluster as data beside the cluster that works', async () => {
    const deployed = await t.gql(
      `mutation { deployApp(app: "shop", env: "broken", image: "registry.local/shop:1.0") { cluster status error } }`,
      {},
      dev,
    );
    expect(deployed.errors).toBeUndefined();
    expect(deployed.data.deployApp[0]).toMatchObject({ cluster: 'sim-1', error: null });
    expect(deployed.data.deployApp[1]).toMatchObject({ cluster: 'down', status: 'MISSING' });
    expect(deployed.data.deployApp[1].error).toBeTruthy();
    const ws = await workloads('broken');
    expect(ws.map((w) => w.error === null)).toEqual([true, false]);
    const scaled = await t.gql(
      `mutation { scaleApp(app: "shop", env: "broken", replicas: 1) { cluster replicas error } }`,
      {},
      dev,
    );
    expect(scaled.data.scaleApp[0]).toEqual({ cluster: 'sim-1', replicas: 1, error: null });
    expect(scaled.data.scaleApp[1].error).toBeTruthy();
    const down = await t.gql(
      `mutation { deletePod(app: "shop", env: "broken", cluster: "down", pod: "shop-x") }`,
      {},
      dev,
    );
    expect(errorCode(down)).toBe('UNAVAILABLE');
    const cl = await t.gql(`{ clusters { name healthy version error } }`, {}, viewer);
    expect(cl.data.clusters.map((c: any) => [c.name, c.healthy])).toEqual([
      ['sim-1', true],
      ['sim-2', true],
      ['down', false],
    ]);
    expect(cl.data.clusters[0].version).toMatch(/^v1\./);
    expect(cl.data.clusters[2].error).toMatch(/unreachable/);
  });

  it("a Deployment applied with kubectl that carries the app's labels is the app's workload, with pods and podEvents", async () => {
    // Regression: informers selected app.kubernetes.io/managed-by=phantom, so this was MISSING
    // and its pods (whose template has no managed-by) never showed up.
    const kubectl = kubectlEnv(readFileSync(clusters.kubeconfigPath, 'utf8'));
    try {
      expect(
        (await t.gql(`mutation { createApp(input: { name: "catalog", kind: NODE }) { id } }`))
          .errors,
      ).toBeUndefined();
      const labels = { 'phantom.io/app': 'catalog', 'phantom.io/env': 'dev' };
      const manifest = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'catalog', namespace: 'dev', labels },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'catalog', image: 'registry.local/catalog:7' }] },
          },
        },
      };
      const file = join(kubectl.dir, 'catalog.json');
      writeFileSync(file, JSON.stringify(manifest));
      const sub = collect(
        t.ws(viewer),
        `subscription { podEvents(app: "catalog", env: "dev") { type cluster pod { name ready } } }`,
      );
      await new Promise((r) => setTimeout(r, 300));
      const applied = await kubectl.run(['--context', 'sim-1', 'apply', '-f', file]);
      expect([applied.code, applied.stderr]).toEqual([0, '']);
      const q = async () =>
        (
          await t.gql(
            `{ app(name: "catalog") { workloads(env: "dev") { ${WORKLOAD} } } }`,
            {},
            viewer,
          )
        ).data.app.workloads[0];
      const w = await waitFor(async () => {
        const x = await q();
        return x.status === 'AVAILABLE' && x.pods.length === 2 && x.pods.every((p: any) => p.ready)
          ? x
          : undefined;
      }, 10_000);
      expect(w).toMatchObject({
        cluster: 'sim-1',
        image: 'registry.local/catalog:7',
        replicas: 2,
        error: null,
      });
      await waitFor(
        () =>
          new Set(
            sub.items
              .filter((i) => i.data?.podEvents.pod.ready)
              .map((i) => i.data.podEvents.pod.name),
          ).size === 2,
        10_000,
      );
      sub.stop();
    } finally {
      kubectl.cleanup();
    }
  });

  it('scaleApp/restartApp leave a same-named Deployment without the app\'s labels alone: "No workload", no outbox row', async () => {
    const kubectl = kubectlEnv(readFileSync(clusters.kubeconfigPath, 'utf8'));
    try {
      expect(
        (await t.gql(`mutation { createApp(input: { name: "legacy", kind: NODE }) { id } }`))
          .errors,
      ).toBeUndefined();
      const made = await kubectl.run([
        '--context',
        'sim-1',
        '-n',
        'dev',
        'create',
        'deployment',
        'legacy',
        '--image=nginx:1.25',
      ]);
      expect([made.code, made.stderr]).toEqual([0, '']);
      const started = Date.now();
      const scaled = await t.gql(
        `mutation { scaleApp(app: "legacy", env: "dev", replicas: 4) { cluster status replicas error } }`,
      );
      const restarted = await t.gql(
        `mutation { restartApp(app: "legacy", env: "dev") { cluster status error } }`,
      );
      expect(Date.now() - started).toBeLessThan(2000);
      expect(scaled.data.scaleApp).toEqual([
        {
          cluster: 'sim-1',
          status: 'MISSING',
          replicas: 0,
          error: 'No workload dev/legacy on cluster sim-1.',
        },
      ]);
      expect(restarted.data.restartApp).toEqual([
        { cluster: 'sim-1', status: 'MISSING', error: 'No workload dev/legacy on cluster sim-1.' },
      ]);
      const got = JSON.parse(
        (
          await kubectl.run([
            '--context',
            'sim-1',
            '-n',
            'dev',
            'get',
            'deployment',
            'legacy',
            '-o',
            'json',
          ])
        ).stdout,
      );
      expect([got.spec.replicas, got.metadata.generation]).toEqual([1, 1]);
      const em = t.phantom.platform.orm.em.fork();
      expect(await em.count(PlatformEventRow, { app: 'legacy' } as any)).toBe(1); // APP_CREATED only
    } finally {
      kubectl.cleanup();
    }
  });
  it('deleteApp is refused (CONFLICT naming env and cluster) while the app still runs; a VIEWER learns nothing', async () => {
    expect(errorCode(await t.gql(`mutation { deleteApp(name: "shop") }`, {}, viewer))).toBe(
      'FORBIDDEN',
    );
    const refused = await t.gql(`mutation { deleteApp(name: "shop") }`);
    expect(errorCode(refused)).toBe('CONFLICT');
    const msg = refused.errors![0].message;
    expect(msg).toContain('prod (sim-1/prod, sim-2/prod)');
    expect(msg).toContain('dev (sim-1/dev)');
    expect(msg).toContain('broken (sim-1/broken)');
    expect(msg).toMatch(/remove its workloads first/);
    expect(refused.errors![0].extensions!.placements).toEqual(
      expect.arrayContaining([{ env: 'prod', cluster: 'sim-2', namespace: 'prod' }]),
    );
    expect((await t.gql(`{ app(name: "shop") { name } }`)).data.app).toEqual({ name: 'shop' });
    const em = t.phantom.platform.orm.em.fork();
    expect(await em.count(PlatformEventRow, { type: 'APP_DELETED', app: 'shop' } as any)).toBe(0);
  });

  it('a cluster that cannot tell (down) refuses deleteApp for an owner, not for a platform admin', async () => {
    expect(
      (await t.gql(`mutation { createApp(input: { name: "solo", kind: NODE }) { id } }`, {}, dev))
        .errors,
    ).toBeUndefined();
    const refused = await t.gql(`mutation { deleteApp(name: "solo") }`, {}, dev);
    expect(errorCode(refused)).toBe('CONFLICT');
    expect(refused.errors![0].message).toMatch(/Cannot tell whether app "solo" still runs on down/);
    expect(refused.errors![0].extensions!.unknownClusters).toEqual(['down']);
    expect((await t.gql(`mutation { deleteApp(name: "solo") }`)).data).toEqual({ deleteApp: true });
  });

  it('removeWorkload: authorization (VIEWER refused; approval environments for platform admins only)', async () => {
    const m = `mutation { removeWorkload(app: "shop", env: "dev") { cluster error } }`;
    expect(errorCode(await t.gql(m, {}, viewer))).toBe('FORBIDDEN');
    expect(errorCode(await t.gql(m, {}, null))).toBe('UNAUTHENTICATED');
    expect(errorCode(await t.gql(m.replace('"shop"', '"nope"'), {}, dev))).toBe('NOT_FOUND');
    const bad = await t.gql(
      `mutation { removeWorkload(app: "shop", env: "staging") { cluster } }`,
      {},
      dev,
    );
    expect([errorCode(bad), bad.errors![0].extensions!.field]).toEqual(['BAD_USER_INPUT', 'env']);
    const prod = await t.gql(
      `mutation { removeWorkload(app: "shop", env: "prod") { cluster } }`,
      {},
      dev,
    );
    expect(errorCode(prod)).toBe('FORBIDDEN');
    expect(prod.errors![0].message).toMatch(/requires approval/);
    expect((await workloads('dev')).map((w) => w.status)).not.toContain('MISSING');
    const em = t.phantom.platform.orm.em.fork();
    expect(await em.count(PlatformEventRow, { type: 'WORKLOAD_REMOVED' } as any)).toBe(0);
  });

  it('removeWorkload in every environment, then deleteApp succeeds; the Deployment is gone and a new "shop" adopts nothing', async () => {
    const dev1 = await t.gql(
      `mutation { removeWorkload(app: "shop", env: "dev") { cluster namespace status error } }`,
      {},
      dev,
    );
    expect(dev1.data.removeWorkload).toEqual([
      { cluster: 'sim-1', namespace: 'dev', status: 'MISSING', error: null },
    ]);
    // Nothing left there: no second event.
    expect(
      (
        await t.gql(
          `mutation { removeWorkload(app: "shop", env: "dev") { status error } }`,
          {},
          dev,
        )
      ).data.removeWorkload,
    ).toEqual([{ status: 'MISSING', error: null }]);
    const broken = await t.gql(
      `mutation { removeWorkload(app: "shop", env: "broken") { cluster status error } }`,
      {},
      dev,
    );
    expect(broken.data.removeWorkload[0]).toEqual({
      cluster: 'sim-1',
      status: 'MISSING',
      error: null,
    });
    expect(broken.data.removeWorkload[1].error).toBeTruthy();
    // Still in prod: refused, naming only prod now.
    const still = await t.gql(`mutation { deleteApp(name: "shop") }`);
    expect(errorCode(still)).toBe('CONFLICT');
    expect(still.errors![0].message).toContain(
      '"shop" still runs in prod (sim-1/prod, sim-2/prod):',
    );
    const prod = await t.gql(
      `mutation { removeWorkload(app: "shop", env: "prod") { cluster status error } }`,
    );
    expect(prod.data.removeWorkload).toEqual([
      { cluster: 'sim-1', status: 'MISSING', error: null },
      { cluster: 'sim-2', status: 'MISSING', error: null },
    ]);
    const em = t.phantom.platform.orm.em.fork();
    const events = await em.find(
      PlatformEventRow,
      { type: 'WORKLOAD_REMOVED' },
      {
        orderBy: { id: 'asc' },
      },
    );
    expect(events.map((e) => [e.actor, e.app, e.env])).toEqual([
      ['dev', 'shop', 'dev'],
      ['dev', 'shop', 'broken'],
      ['admin', 'shop', 'prod'],
    ]);
    expect(events[2].payload).toMatchObject({ removedOn: ['sim-1', 'sim-2'] });

    // The admin may proceed although "down" cannot tell.
    expect((await t.gql(`mutation { deleteApp(name: "shop") }`)).data).toEqual({ deleteApp: true });
    const kubectl = kubectlEnv(readFileSync(clusters.kubeconfigPath, 'utf8'));
    try {
      for (const ctx of ['sim-1', 'sim-2']) {
        const got = await kubectl.run([
          '--context',
          ctx,
          '-n',
          'prod',
          'get',
          'deployment',
          'shop',
          '-o',
          'name',
        ]);
        expect([got.code, got.stderr]).toEqual([1, expect.stringMatching(/NotFound|not found/)]);
        const svc = await kubectl.run([
          '--context',
          ctx,
          '-n',
          'prod',
          'get',
          'service',
          'shop',
          '-o',
          'name',
        ]);
        expect(svc.code).toBe(1);
      }
    } finally {
      kubectl.cleanup();
    }
    expect(
      (await t.gql(`mutation { createApp(input: { name: "shop", kind: NODE }) { id } }`)).errors,
    ).toBeUndefined();
    expect((await workloads('prod')).map((w) => [w.cluster, w.status, w.pods.length])).toEqual([
      ['sim-1', 'MISSING', 0],
      ['sim-2', 'MISSING', 0],
    ]);
  });
});
