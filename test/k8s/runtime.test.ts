import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api, AutoscalingV2Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import {
  startSimulatedCluster,
  kubeconfigFor,
  type SimulatedCluster,
} from '../../src/k8s/sim/index.js';
import { KubeconfigClusterRegistry } from '../../src/k8s/kubeconfig-cluster-registry.js';
import { KubeRuntime } from '../../src/k8s/kube-runtime.js';
import { DEFAULT_CONTAINER } from '../../src/domain/apps/app-spec.js';
import type { WorkloadTarget } from '../../src/k8s/types.js';
import { kubectlEnv, type KubectlEnv } from '../../src/k8s/sim/test-support.js';
import { FAST_TIMING, waitFor } from './support.js';

describe('KubeRuntime against simulated clusters', () => {
  let sims: SimulatedCluster[];
  let runtime: KubeRuntime;
  let kubectl: KubectlEnv;
  let kubeconfig: string;
  const prod: WorkloadTarget[] = [
    { cluster: 'sim-1', namespace: 'prod' },
    { cluster: 'sim-2', namespace: 'prod' },
  ];
  const ref = { app: 'shop', env: 'prod' };

  beforeAll(async () => {
    sims = await Promise.all(
      ['sim-1', 'sim-2'].map((name) => startSimulatedCluster({ name, timing: FAST_TIMING })),
    );
    // A third cluster nobody listens on: its part must be an error, not a failed call.
    kubeconfig = kubeconfigFor([
      ...sims.map((s) => ({ name: s.name, url: s.url })),
      { name: 'down', url: 'http://127.0.0.1:1' },
    ]);
    runtime = new KubeRuntime(new KubeconfigClusterRegistry(kubeconfig), {
      restartDelayMs: 200,
    }).start();
    kubectl = kubectlEnv(kubeconfig);
    await runtime.whenSynced(3000);
  });
  afterAll(async () => {
    kubectl?.cleanup();
    await runtime?.close();
    await Promise.all((sims ?? []).map((s) => s.close()));
  });

  it('applies an app to two clusters and its pods become ready', async () => {
    const res = await runtime.applyWorkload(prod, {
      ...ref,
      image: 'registry.local/shop:1.0',
      container: { ...DEFAULT_CONTAINER, replicas: 2 },
      releaseId: 'r-1',
    });
    expect(res.map((w) => [w.cluster, w.error])).toEqual([
      ['sim-1', null],
      ['sim-2', null],
    ]);
    expect(res[0].image).toBe('registry.local/shop:1.0');
    expect(res[0].releaseId).toBe('r-1');
    const ready = await waitFor(async () => {
      const ws = await runtime.workloads(prod, ref);
      return ws.every(
        (w) => w.status === 'AVAILABLE' && w.pods.length === 2 && w.pods.every((p) => p.ready),
      )
        ? ws
        : undefined;
    }, 20_000);
    expect(ready[0]).toMatchObject({
      replicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      updatedReplicas: 2,
      revision: 1,
    });
    expect(ready[0].pods[0]).toMatchObject({
      phase: 'Running',
      status: 'Running',
      restarts: 0,
      image: 'registry.local/shop:1.0',
    });
    expect(ready[0].conditions.map((c) => c.type).sort()).toEqual(['Available', 'Progressing']);
    expect(ready[0].events.some((e) => e.reason === 'ScalingReplicaSet')).toBe(true);
  });

  it('reads workloads from the informer cache without asking the API server', async () => {
    await runtime.workloads(prod, ref);
    const before = sims.map((s) => s.requestCount);
    for (let i = 0; i < 5; i++) await runtime.workloads(prod, ref);
    expect(sims.map((s) => s.requestCount)).toEqual(before);
  });

  it('scales, restarts and rolls back', async () => {
    const scaled = await runtime.scale(prod, ref, 3);
    expect(scaled.map((w) => w.replicas)).toEqual([3, 3]);
    await waitFor(
      async () =>
        (await runtime.workloads(prod, ref)).every(
          (w) => w.readyReplicas === 3 && w.status === 'AVAILABLE',
        ) || undefined,
      10_000,
    );
    const restarted = await runtime.restart(prod, ref);
    expect(restarted.every((w) => w.error === null)).toBe(true);
    const after = await waitFor(async () => {
      const ws = await runtime.workloads(prod, ref);
      return ws.every((w) => w.revision === 2 && w.status === 'AVAILABLE' && w.pods.length === 3)
        ? ws
        : undefined;
    }, 15_000);
    expect(after[0].revision).toBe(2);
    const back = await runtime.rollback(prod, ref, 1);
    expect(back.every((w) => w.error === null)).toBe(true);
    await waitFor(
      async () =>
        (await runtime.workloads(prod, ref)).every(
          (w) => w.revision === 3 && w.status === 'AVAILABLE',
        ) || undefined,
      15_000,
    );
    const missing = await runtime.rollback(prod, ref, 42);
    expect(missing[0].error).toMatch(/Revision 42/);
  });

  it("deletes only the workload's own pods", async () => {
    // Wait for the rollback before to settle: a pod still terminating may vanish under our hands.
    const w = await waitFor(async () => {
      const [x] = await runtime.workloads([prod[0]], ref);
      return x &&
        x.pods.length === x.replicas &&
        x.pods.every((p) => p.ready && p.status !== 'Terminating')
        ? x
        : undefined;
    }, 20_000);
    const pod = w.pods[0].name;
    expect(await runtime.deletePod(prod[0], ref, pod)).toMatchObject({ ok: true });
    const other = await runtime.deletePod(prod[0], { app: 'other', env: 'prod' }, w.pods[1].name);
    expect(other).toMatchObject({ ok: false });
    expect(other.error).toMatch(/not found/);
    await waitFor(
      async () =>
        (await runtime.workloads([prod[0]], ref))[0].pods.some((p) => p.name === pod)
          ? undefined
          : true,
      10_000,
    );
  });

  it('leaves a Deployment alone that merely has the app\'s name: scale/restart/rollback/remove answer "No workload" at once', async () => {
    // Regression: these patched or deleted any Deployment named after the app, e.g. one made by
    // `kubectl create deployment legacy` without Phantom's labels, and then waited 3 s for a
    // cache that never showed it.
    const ctl = async (...args: string[]) => {
      const r = await kubectl.run(['--context', 'sim-1', '-n', 'prod', ...args]);
      expect(r.stderr).toBe('');
      return r.stdout;
    };
    await ctl('create', 'deployment', 'legacy', '--image=nginx:1.25', '--replicas=1');
    // Another env's workload under the same name is not this env's either.
    await ctl('label', 'deployment', 'legacy', 'phantom.io/app=legacy', 'phantom.io/env=dev');
    const target = [prod[0]];
    const legacy = { app: 'legacy', env: 'prod' };
    const started = Date.now();
    const results = [
      ...(await runtime.scale(target, legacy, 3)),
      ...(await runtime.restart(target, legacy)),
      ...(await runtime.rollback(target, legacy)),
    ];
    expect(Date.now() - started).toBeLessThan(1500);
    for (const w of results) {
      expect(w.status).toBe('MISSING');
      expect(w.error).toBe('No workload prod/legacy on cluster sim-1.');
    }
    expect(await runtime.removeWorkload(target, legacy)).toEqual([
      { ...target[0], ok: true, error: null, code: null, removed: false },
    ]);
    const after = JSON.parse(await ctl('get', 'deployment', 'legacy', '-o', 'json'));
    expect(after.spec.replicas).toBe(1);
    expect(
      after.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'],
    ).toBeUndefined();
    expect(after.metadata.generation).toBe(1);
    // The dev env's workload it claims to be is still writable through its own ref.
    const [asDev] = await runtime.scale(target, { app: 'legacy', env: 'dev' }, 2);
    expect(asDev.error).toBeNull();
    // Its template has no annotations map (kubectl made it): restart adds the map.
    const [restarted] = await runtime.restart(target, { app: 'legacy', env: 'dev' });
    expect(restarted.error).toBeNull();
    expect(
      JSON.parse(await ctl('get', 'deployment', 'legacy', '-o', 'json')).spec.template.metadata
        .annotations['kubectl.kubernetes.io/restartedAt'],
    ).toBeTruthy();
    await ctl('delete', 'deployment', 'legacy');
  });

  it("takes over no Service or HPA of the app's name that is not the app's: CONFLICT per cluster, nothing changed", async () => {
    // Regression: apply deleted any HPA of the app's name (before even checking the Deployment)
    // and merge-patched a same-named Service (selector included) or HPA, whoever owned it.
    const api = (ctx: string) => {
      const kc = new KubeConfig();
      kc.loadFromString(kubeconfig);
      kc.setCurrentContext(ctx);
      return {
        apps: kc.makeApiClient(AppsV1Api),
        core: kc.makeApiClient(CoreV1Api),
        hpa: kc.makeApiClient(AutoscalingV2Api),
      };
    };
    const [c1, c2] = [api('sim-1'), api('sim-2')];
    const namespace = 'prod';
    // sim-1: a Service made by kubectl; sim-2: an HPA of another team (and another Deployment).
    const svc = await kubectl.run([
      '--context',
      'sim-1',
      '-n',
      namespace,
      'create',
      'service',
      'clusterip',
      'web',
      '--tcp=8080:8080',
    ]);
    expect(svc.stderr).toBe('');
    await c2.hpa.createNamespacedHorizontalPodAutoscaler({
      namespace,
      body: {
        metadata: {
          name: 'web',
          labels: { team: 'payments', 'phantom.io/app': 'web', 'phantom.io/env': 'dev' },
        },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-legacy' },
          minReplicas: 1,
          maxReplicas: 3,
        },
      },
    });
    const foreignSvc = await c1.core.readNamespacedService({ name: 'web', namespace });
    const foreignHpa = await c2.hpa.readNamespacedHorizontalPodAutoscaler({
      name: 'web',
      namespace,
    });
    const untouched = async () => {
      const s = await c1.core.readNamespacedService({ name: 'web', namespace });
      expect([
        s.metadata?.uid,
        s.metadata?.labels,
        s.spec?.selector,
        s.spec?.ports?.map((p) => p.port),
      ]).toEqual([foreignSvc.metadata?.uid, foreignSvc.metadata?.labels, { app: 'web' }, [8080]]);
      const h = await c2.hpa.readNamespacedHorizontalPodAutoscaler({ name: 'web', namespace });
      expect([
        h.metadata?.uid,
        h.metadata?.labels,
        h.spec?.scaleTargetRef.name,
        h.spec?.minReplicas,
        h.spec?.maxReplicas,
      ]).toEqual([foreignHpa.metadata?.uid, foreignHpa.metadata?.labels, 'web-legacy', 1, 3]);
    };
    const web = { app: 'web', env: 'prod' };
    const hpa = { minReplicas: 1, maxReplicas: 2, targetCpuUtilization: 80 };
    const res = await runtime.applyWorkload(prod, {
      ...web,
      image: 'web:1',
      container: { ...DEFAULT_CONTAINER, hpa },
    });
    expect(res.map((w) => [w.cluster, w.code, w.error])).toEqual([
      [
        'sim-1',
        'CONFLICT',
        'Service prod/web exists on cluster sim-1 and is not managed by Phantom for web/prod; nothing was changed.',
      ],
      [
        'sim-2',
        'CONFLICT',
        'HorizontalPodAutoscaler prod/web exists on cluster sim-2 and is not managed by Phantom for web/prod; nothing was changed.',
      ],
    ]);
    await untouched();
    // Nothing was written: no Deployment (nor Service on sim-2) was created before the check failed.
    for (const c of [c1, c2])
      await expect(
        c.apps.readNamespacedDeployment({ name: 'web', namespace }),
      ).rejects.toMatchObject({ code: 404 });
    await expect(c2.core.readNamespacedService({ name: 'web', namespace })).rejects.toMatchObject({
      code: 404,
    });

    // Without autoscaling, another's HPA of that name is not in the way, and it is not deleted.
    const [plain] = await runtime.applyWorkload([prod[1]], {
      ...web,
      image: 'web:1',
      container: { ...DEFAULT_CONTAINER, replicas: 1 },
    });
    expect([plain.code, plain.error]).toEqual([null, null]);
    await untouched();
    // Turning autoscaling on for the same workload now conflicts, and changes nothing either.
    const [again] = await runtime.applyWorkload([prod[1]], {
      ...web,
      image: 'web:2',
      container: { ...DEFAULT_CONTAINER, hpa },
    });
    expect(again.code).toBe('CONFLICT');
    expect(
      (await c2.apps.readNamespacedDeployment({ name: 'web', namespace })).spec?.template.spec
        ?.containers[0]?.image,
    ).toBe('web:1');
    await untouched();

    // Remove leaves the foreign objects alone too.
    expect((await runtime.removeWorkload(prod, web)).map((r) => r.ok)).toEqual([true, true]);
    await untouched();
    await c1.core.deleteNamespacedService({ name: 'web', namespace });
    await c2.hpa.deleteNamespacedHorizontalPodAutoscaler({ name: 'web', namespace });
  });

  it("checks the Deployment first: a foreign one fails the deploy before the app's HPA is deleted", async () => {
    // Regression: turning autoscaling off deleted the HPA before the Deployment check, so a
    // deploy that then failed with CONFLICT had already changed the cluster.
    const target = [prod[0]];
    const namespace = 'prod';
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfig);
    kc.setCurrentContext('sim-1');
    const hpaApi = kc.makeApiClient(AutoscalingV2Api);
    const r = await kubectl.run([
      '--context',
      'sim-1',
      '-n',
      namespace,
      'create',
      'deployment',
      'solo',
      '--image=nginx:1.25',
      '--replicas=1',
    ]);
    expect(r.stderr).toBe('');
    const hpa = await hpaApi.createNamespacedHorizontalPodAutoscaler({
      namespace,
      body: {
        metadata: { name: 'solo', labels: { 'phantom.io/app': 'solo', 'phantom.io/env': 'prod' } },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'solo' },
          minReplicas: 1,
          maxReplicas: 2,
        },
      },
    });
    const [w] = await runtime.applyWorkload(target, {
      app: 'solo',
      env: 'prod',
      image: 'solo:1',
      container: { ...DEFAULT_CONTAINER, replicas: 1 },
    });
    expect([w.code, w.error]).toEqual([
      'CONFLICT',
      'Deployment prod/solo exists on cluster sim-1 and is not managed by Phantom for solo/prod; nothing was changed.',
    ]);
    expect(
      (await hpaApi.readNamespacedHorizontalPodAutoscaler({ name: 'solo', namespace })).metadata
        ?.uid,
    ).toBe(hpa.metadata?.uid);
    const after = JSON.parse(
      (
        await kubectl.run([
          '--context',
          'sim-1',
          '-n',
          namespace,
          'get',
          'deployment',
          'solo',
          '-o',
          'json',
        ])
      ).stdout,
    );
    expect([after.metadata.generation, after.spec.template.spec.containers[0].image]).toEqual([
      1,
      'nginx:1.25',
    ]);
    await hpaApi.deleteNamespacedHorizontalPodAutoscaler({ name: 'solo', namespace });
    await kubectl.run(['--context', 'sim-1', '-n', namespace, 'delete', 'deployment', 'solo']);
  });

  it('reports why deletePod failed as a code, not a message to match', async () => {
    const missing = await runtime.deletePod(prod[0], ref, 'shop-nope');
    expect([missing.ok, missing.code]).toEqual([false, 'NOT_FOUND']);
    const down = await runtime.deletePod({ cluster: 'down', namespace: 'prod' }, ref, 'shop-x');
    expect([down.ok, down.code]).toEqual([false, 'UNAVAILABLE']);
    const unknown = await runtime.deletePod(
      { cluster: 'nowhere', namespace: 'prod' },
      ref,
      'shop-x',
    );
    expect([unknown.ok, unknown.code]).toEqual([false, 'UNAVAILABLE']);
  });

  it('shows a workload only its own events, not those of an app whose name starts with its name', async () => {
    // Regression: events matched by name prefix, so `shop` showed `shop-api`'s events.
    const target = [prod[0]];
    const api = { app: 'shop-api', env: 'prod' };
    await runtime.applyWorkload(target, {
      ...api,
      image: 'registry.local/shop-api:1',
      container: { ...DEFAULT_CONTAINER, replicas: 1 },
    });
    const [apiW] = await waitFor(async () => {
      const ws = await runtime.workloads(target, api);
      return ws[0].status === 'AVAILABLE' && ws[0].events.some((e) => e.object.startsWith('Pod/'))
        ? ws
        : undefined;
    }, 15_000);
    expect(
      apiW.events.every((e) =>
        /^(Deployment\/shop-api|ReplicaSet\/shop-api-|Pod\/shop-api-)/.test(e.object),
      ),
    ).toBe(true);
    expect(new Set(apiW.events.map((e) => e.object.split('/')[0]))).toEqual(
      new Set(['Deployment', 'ReplicaSet', 'Pod']),
    );
    const [shop] = await runtime.workloads(target, ref);
    expect(shop.events.length).toBeGreaterThan(0);
    expect(shop.events.filter((e) => e.object.includes('shop-api'))).toEqual([]);
    expect(shop.events.some((e) => e.object.startsWith('ReplicaSet/shop-'))).toBe(true);
    await runtime.removeWorkload(target, api);
  });

  it('reports a cluster that is down as data beside the ones that work', async () => {
    const targets = [
      ...prod,
      { cluster: 'down', namespace: 'prod' },
      { cluster: 'nowhere', namespace: 'prod' },
    ];
    const ws = await runtime.workloads(targets, ref);
    expect(ws.map((w) => w.error === null)).toEqual([true, true, false, false]);
    expect(ws[2].status).toBe('MISSING');
    expect(ws[2].error).toMatch(/unreachable/);
    expect(ws[3].error).toMatch(/Unknown cluster/);
    const scaled = await runtime.scale(targets, ref, 2);
    expect(scaled.map((w) => w.error === null)).toEqual([true, true, false, false]);
    expect(scaled[2].error).toMatch(/ECONNREFUSED|refused|fetch/i);
    const clusters = await runtime.clusters();
    expect(clusters.map((c) => [c.name, c.healthy])).toEqual([
      ['sim-1', true],
      ['sim-2', true],
      ['down', false],
    ]);
    expect(clusters[0].version).toMatch(/^v1\./);
    expect(clusters[2].error).toBeTruthy();
  });

  it('applies an HPA for an autoscaled app and removes it when autoscaling is turned off', async () => {
    const dev: WorkloadTarget[] = [{ cluster: 'sim-1', namespace: 'dev' }];
    const api = { app: 'api', env: 'dev' };
    const hpa = { minReplicas: 2, maxReplicas: 4, targetCpuUtilization: 70 };
    await runtime.applyWorkload(dev, {
      ...api,
      image: 'api:1',
      container: { ...DEFAULT_CONTAINER, hpa },
    });
    const scaled = await waitFor(async () => {
      const [w] = await runtime.workloads(dev, api);
      return w.hpa && w.replicas === 2 ? w : undefined;
    }, 20_000);
    expect(scaled.hpa).toMatchObject({ minReplicas: 2, maxReplicas: 4, targetCpuUtilization: 70 });
    await runtime.applyWorkload(dev, {
      ...api,
      image: 'api:2',
      container: { ...DEFAULT_CONTAINER, replicas: 1 },
    });
    const plain = await waitFor(async () => {
      const [w] = await runtime.workloads(dev, api);
      return w.hpa === null && w.replicas === 1 && w.image === 'api:2' ? w : undefined;
    }, 20_000);
    expect(plain.error).toBeNull();
  });

  it('removes the workload', async () => {
    expect(runtime.placements(ref.app).found).toEqual(
      expect.arrayContaining([
        { cluster: prod[0].cluster, namespace: prod[0].namespace, env: ref.env },
      ]),
    );
    const res = await runtime.removeWorkload(prod, ref);
    expect(res.every((r) => r.ok && r.removed)).toBe(true);
    // Read-your-writes: the caches no longer show it when removeWorkload answers.
    expect(runtime.placements(ref.app).found.filter((p) => p.env === ref.env)).toEqual([]);
    await waitFor(
      async () =>
        (await runtime.workloads(prod, ref)).every((w) => w.status === 'MISSING') || undefined,
      10_000,
    );
  });
});
