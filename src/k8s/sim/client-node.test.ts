/** @kubernetes/client-node 1.4 against one simulated cluster. */
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigFor, startSimulatedCluster, type SimulatedCluster } from './index.js';
import { eventually, FAST_TIMING } from './test-support.js';

const NS = 'cn';

function deployment(name: string, image = 'nginx:1.25', replicas = 2): k8s.V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name, team: 'phantom' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image }] },
      },
    },
  };
}

function statusOf(err: unknown): { code: number; status: Record<string, unknown> } {
  expect(err).toBeInstanceOf(k8s.ApiException);
  const e = err as k8s.ApiException<unknown>;
  const body =
    typeof e.body === 'string'
      ? (JSON.parse(e.body) as Record<string, unknown>)
      : (e.body as Record<string, unknown>);
  return { code: e.code, status: body };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

describe('@kubernetes/client-node against the simulated cluster', () => {
  let cluster: SimulatedCluster;
  let kc: k8s.KubeConfig;
  let apps: k8s.AppsV1Api;
  let core: k8s.CoreV1Api;

  beforeAll(async () => {
    cluster = await startSimulatedCluster({ name: 'cn-sim', timing: FAST_TIMING });
    kc = new k8s.KubeConfig();
    kc.loadFromString(cluster.kubeconfigYaml());
    apps = kc.makeApiClient(k8s.AppsV1Api);
    core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
  });

  afterAll(async () => {
    await cluster?.close();
    expect(cluster.controllerErrors).toEqual([]);
    expect(cluster.openWatches).toBe(0);
  });

  it('kubeconfigYaml / kubeconfigFor describe the cluster', () => {
    expect(kc.getCurrentContext()).toBe('cn-sim');
    expect(kc.getCurrentCluster()?.server).toBe(cluster.url);
    expect(cluster.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const multi = new k8s.KubeConfig();
    multi.loadFromString(
      kubeconfigFor(
        [
          { name: 'a', url: 'http://127.0.0.1:1' },
          { name: 'b', url: cluster.url },
        ],
        'b',
      ),
    );
    expect(multi.getContexts().map((c) => c.name)).toEqual(['a', 'b']);
    expect(multi.getCurrentCluster()?.server).toBe(cluster.url);
  });

  it('create, read, list with selectors; 404 and 409 AlreadyExists are Status errors', async () => {
    const created = await apps.createNamespacedDeployment({
      namespace: NS,
      body: deployment('api'),
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.generation).toBe(1);
    expect(created.spec?.strategy?.type).toBe('RollingUpdate');
    expect(created.spec?.revisionHistoryLimit).toBe(10);
    expect(created.spec?.template.spec?.containers[0]?.imagePullPolicy).toBe('IfNotPresent');
    await apps.createNamespacedDeployment({ namespace: NS, body: deployment('worker') });

    const got = await apps.readNamespacedDeployment({ name: 'api', namespace: NS });
    expect(got.metadata?.uid).toBe(created.metadata?.uid);

    const list = await apps.listNamespacedDeployment({
      namespace: NS,
      labelSelector: 'app in (api,other),team=phantom',
    });
    expect(list.items.map((d) => d.metadata?.name)).toEqual(['api']);
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThanOrEqual(
      Number(created.metadata?.resourceVersion),
    );
    const byField = await apps.listDeploymentForAllNamespaces({
      fieldSelector: 'metadata.name=worker',
    });
    expect(byField.items.map((d) => d.metadata?.name)).toEqual(['worker']);
    const notApi = await apps.listNamespacedDeployment({
      namespace: NS,
      labelSelector: 'app!=api',
    });
    expect(notApi.items.map((d) => d.metadata?.name)).toEqual(['worker']);

    const nf = statusOf(
      await rejection(apps.readNamespacedDeployment({ name: 'nope', namespace: NS })),
    );
    expect(nf.code).toBe(404);
    expect(nf.status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'deployments.apps "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', group: 'apps', kind: 'deployments' },
      code: 404,
    });
    const podNf = statusOf(
      await rejection(core.readNamespacedPod({ name: 'nope', namespace: NS })),
    );
    expect(podNf.status.message).toBe('pods "nope" not found');
    expect(podNf.status.details).toEqual({ name: 'nope', kind: 'pods' });

    const ae = statusOf(
      await rejection(apps.createNamespacedDeployment({ namespace: NS, body: deployment('api') })),
    );
    expect(ae.code).toBe(409);
    expect(ae.status.reason).toBe('AlreadyExists');
    expect(ae.status.message).toBe('deployments.apps "api" already exists');

    const bad = statusOf(
      await rejection(core.listNamespacedPod({ namespace: NS, fieldSelector: 'spec.bogus=1' })),
    );
    expect(bad.code).toBe(400);
    expect(bad.status.message).toBe('field label not supported: spec.bogus');
  });

  it('422 Invalid for a deployment without selector', async () => {
    const d = deployment('invalid');
    delete (d.spec as Partial<k8s.V1DeploymentSpec>).selector;
    const inv = statusOf(
      await rejection(apps.createNamespacedDeployment({ namespace: NS, body: d })),
    );
    expect(inv.code).toBe(422);
    expect(inv.status.reason).toBe('Invalid');
    expect(inv.status.message).toBe(
      'Deployment.apps "invalid" is invalid: spec.selector: Required value',
    );
    expect(inv.status.details).toEqual({
      name: 'invalid',
      group: 'apps',
      kind: 'Deployment',
      causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' }],
    });
  });

  it('patch: merge patch, JSON patch (default), strategic merge; a stale resourceVersion is a 409 Conflict', async () => {
    const before = await apps.readNamespacedDeployment({ name: 'api', namespace: NS });
    const merged = await apps.patchNamespacedDeployment(
      {
        name: 'api',
        namespace: NS,
        body: { metadata: { labels: { tier: 'backend', team: null } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(merged.metadata?.labels).toEqual({ app: 'api', tier: 'backend' });
    expect(merged.metadata?.generation).toBe(1);
    expect(Number(merged.metadata?.resourceVersion)).toBeGreaterThan(
      Number(before.metadata?.resourceVersion),
    );

    const jp = await apps.patchNamespacedDeployment({
      name: 'api',
      namespace: NS,
      body: [{ op: 'replace', path: '/spec/replicas', value: 3 }],
    });
    expect(jp.spec?.replicas).toBe(3);
    expect(jp.metadata?.generation).toBe(2);

    const smp = await apps.patchNamespacedDeployment(
      {
        name: 'api',
        namespace: NS,
        body: {
          spec: {
            template: { spec: { containers: [{ name: 'app', env: [{ name: 'A', value: '1' }] }] } },
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    expect(smp.spec?.template.spec?.containers).toHaveLength(1);
    expect(smp.spec?.template.spec?.containers[0]?.image).toBe('nginx:1.25');
    expect(smp.spec?.template.spec?.containers[0]?.env).toEqual([{ name: 'A', value: '1' }]);

    const stale = {
      ...smp,
      metadata: { ...smp.metadata, resourceVersion: before.metadata?.resourceVersion },
    };
    const c1 = statusOf(
      await rejection(
        apps.replaceNamespacedDeployment({ name: 'api', namespace: NS, body: stale }),
      ),
    );
    expect(c1.code).toBe(409);
    expect(c1.status.reason).toBe('Conflict');
    expect(c1.status.message).toBe(
      'Operation cannot be fulfilled on deployments.apps "api": the object has been modified; please apply your changes to the latest version and try again',
    );
    const c2 = statusOf(
      await rejection(
        apps.patchNamespacedDeployment(
          {
            name: 'api',
            namespace: NS,
            body: {
              metadata: { resourceVersion: before.metadata?.resourceVersion, labels: { x: 'y' } },
            },
          },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        ),
      ),
    );
    expect(c2.code).toBe(409);

    // server-side apply creates when absent (201) and merges when present
    const applied = await apps.patchNamespacedDeployment(
      { name: 'ssa', namespace: NS, body: deployment('ssa'), fieldManager: 'phantom' },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    );
    expect(applied.metadata?.uid).toBeTruthy();
    const scale = await apps.readNamespacedDeploymentScale({ name: 'ssa', namespace: NS });
    expect(scale).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      spec: { replicas: 2 },
    });
    expect(scale.status?.selector).toBe('app=ssa');
  });

  it('a watch replays from a resourceVersion; a too-old resourceVersion gets a 410 Expired ERROR event', async () => {
    const start = await apps.readNamespacedDeployment({ name: 'worker', namespace: NS });
    const rv = start.metadata?.resourceVersion as string;
    for (const v of ['1', '2', '3'])
      await apps.patchNamespacedDeployment(
        { name: 'worker', namespace: NS, body: { metadata: { annotations: { step: v } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    const seen: { type: string; step?: string; rv: string }[] = [];
    const w = new k8s.Watch(kc);
    const ctl = await w.watch(
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      { resourceVersion: rv, fieldSelector: 'metadata.name=worker' },
      (type, obj: k8s.V1Deployment) =>
        seen.push({
          type,
          step: obj.metadata?.annotations?.step,
          rv: obj.metadata?.resourceVersion as string,
        }),
      () => undefined,
    );
    try {
      await eventually(() => seen.filter((e) => e.step === '3').length > 0);
    } finally {
      ctl.abort();
    }
    // The deployment controller may write status between our patches (MODIFIED with the same
    // annotation), so compare the sequence of distinct steps.
    const steps = seen.filter((e) => e.step).map((e) => e.step);
    expect(steps.filter((s, i) => s !== steps[i - 1]).slice(0, 3)).toEqual(['1', '2', '3']);
    expect(seen.every((e) => e.type === 'MODIFIED')).toBe(true);
    const rvs = seen.map((e) => Number(e.rv));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
    expect(rvs[0]).toBeGreaterThan(Number(rv));

    cluster.compactWatchHistory();
    const events: { type: string; obj: Record<string, unknown> }[] = [];
    const done = new Promise<unknown>((resolve) => {
      void w.watch(
        `/apis/apps/v1/namespaces/${NS}/deployments`,
        { resourceVersion: rv },
        (type, obj: Record<string, unknown>) => events.push({ type, obj }),
        resolve,
      );
    });
    await done;
    expect(events).toHaveLength(1);
    expect(events[0]?.type).toBe('ERROR');
    expect(events[0]?.obj).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Expired',
      code: 410,
    });
    expect(String(events[0]?.obj.message)).toMatch(
      new RegExp(`^too old resource version: ${rv} \\(\\d+\\)$`),
    );
  });

  it('an informer sees pods become Ready; reads after sync come from its cache', async () => {
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: deployment('inf', 'nginx:1.25', 3),
    });
    const informer = k8s.makeInformer(
      kc,
      `/api/v1/namespaces/${NS}/pods`,
      () => core.listNamespacedPod({ namespace: NS, labelSelector: 'app=inf' }),
      'app=inf',
    );
    const phases = new Set<string>();
    const note = (p: k8s.V1Pod): void => {
      const ready = p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      phases.add(`${p.status?.phase}${ready ? '/ready' : ''}`);
    };
    informer.on('add', note);
    informer.on('update', note);
    await informer.start();
    try {
      const ready = await eventually(() => {
        const pods = informer.list(NS);
        return pods.length === 3 &&
          pods.every((p) =>
            p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          )
          ? pods
          : undefined;
      });
      expect(ready.every((p) => p.metadata?.name?.startsWith('inf-'))).toBe(true);
      expect(phases.has('Pending')).toBe(true);
      expect(phases.has('Running/ready')).toBe(true);
      const count = cluster.requestCount;
      for (let i = 0; i < 20; i++) expect(informer.list(NS)).toHaveLength(3);
      expect(cluster.requestCount).toBe(count);
      const owner = ready[0]?.metadata?.ownerReferences?.[0];
      expect(owner).toMatchObject({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        controller: true,
        blockOwnerDeletion: true,
      });
      const rs = await apps.readNamespacedReplicaSet({
        name: owner?.name as string,
        namespace: NS,
      });
      expect(rs.metadata?.uid).toBe(owner?.uid);
      expect(rs.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
      const dep = await apps.readNamespacedDeployment({ name: 'inf', namespace: NS });
      expect(dep.status).toMatchObject({
        replicas: 3,
        updatedReplicas: 3,
        readyReplicas: 3,
        availableReplicas: 3,
        observedGeneration: 1,
      });
    } finally {
      await informer.stop();
    }
  });

  it('deleting a deployment garbage-collects its replica sets and pods', async () => {
    const r = await apps.deleteNamespacedDeployment({ name: 'inf', namespace: NS });
    expect(r).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'inf', group: 'apps', kind: 'deployments' },
    });
    await eventually(
      async () =>
        (await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=inf' })).items
          .length === 0,
    );
    await eventually(
      async () =>
        (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=inf' })).items.length ===
        0,
    );
  });

  it('HPAs get a status; events are served as core/v1 and events.k8s.io/v1', async () => {
    const as = kc.makeApiClient(k8s.AutoscalingV2Api);
    await as.createNamespacedHorizontalPodAutoscaler({
      namespace: NS,
      body: {
        metadata: { name: 'api' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
          minReplicas: 1,
          maxReplicas: 2,
        },
      },
    });
    const hpa = await eventually(async () => {
      const h = await as.readNamespacedHorizontalPodAutoscaler({ name: 'api', namespace: NS });
      return h.status?.desiredReplicas === 2 ? h : undefined;
    });
    expect(hpa.status?.conditions?.map((c) => c.type)).toEqual(
      expect.arrayContaining(['AbleToScale', 'ScalingActive']),
    );
    await eventually(
      async () =>
        (await apps.readNamespacedDeployment({ name: 'api', namespace: NS })).spec?.replicas === 2,
    );

    const coreEvents = await core.listNamespacedEvent({
      namespace: NS,
      fieldSelector: 'involvedObject.kind=Deployment,reason=ScalingReplicaSet',
    });
    expect(coreEvents.items.length).toBeGreaterThan(0);
    expect(coreEvents.items[0]?.source?.component).toBe('deployment-controller');
    const ev = kc.makeApiClient(k8s.EventsV1Api);
    const v1Events = await ev.listNamespacedEvent({
      namespace: NS,
      fieldSelector: 'regarding.kind=Deployment,reason=ScalingReplicaSet',
    });
    expect(v1Events.items.map((e) => e.metadata?.name).sort()).toEqual(
      coreEvents.items.map((e) => e.metadata?.name).sort(),
    );
    expect(v1Events.items[0]?.note).toBe(coreEvents.items[0]?.message);
  });
});
