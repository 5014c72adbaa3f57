import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedCluster, kubeconfigFor, type SimulatedCluster } from '../../src/k8s/sim/index.js';
import { KubeconfigClusterRegistry } from '../../src/k8s/kubeconfig-cluster-registry.js';
import { KubeRuntime } from '../../src/k8s/kube-runtime.js';
import { DEFAULT_CONTAINER } from '../../src/domain/apps/app-spec.js';
import type { WorkloadTarget } from '../../src/k8s/types.js';
import { FAST_TIMING, waitFor } from './support.js';

describe('KubeRuntime against simulated clusters', () => {
  let sims: SimulatedCluster[];
  let runtime: KubeRuntime;
  const prod: WorkloadTarget[] = [{ cluster: 'sim-1', namespace: 'prod' }, { cluster: 'sim-2', namespace: 'prod' }];
  const ref = { app: 'shop', env: 'prod' };

  beforeAll(async () => {
    sims = await Promise.all(['sim-1', 'sim-2'].map((name) => startSimulatedCluster({ name, timing: FAST_TIMING })));
    // A third cluster nobody listens on: its part must be an error, not a failed call.
    const kubeconfig = kubeconfigFor([...sims.map((s) => ({ name: s.name, url: s.url })), { name: 'down', url: 'http://127.0.0.1:1' }]);
    runtime = new KubeRuntime(new KubeconfigClusterRegistry(kubeconfig), { restartDelayMs: 200 }).start();
    await runtime.whenSynced(3000);
  });
  afterAll(async () => {
    await runtime?.close();
    await Promise.all((sims ?? []).map((s) => s.close()));
  });

  it('applies an app to two clusters and its pods become ready', async () => {
    const res = await runtime.applyWorkload(prod, { ...ref, image: 'registry.local/shop:1.0', container: { ...DEFAULT_CONTAINER, replicas: 2 }, releaseId: 'r-1' });
    expect(res.map((w) => [w.cluster, w.error])).toEqual([['sim-1', null], ['sim-2', null]]);
    expect(res[0]!.image).toBe('registry.local/shop:1.0');
    expect(res[0]!.releaseId).toBe('r-1');
    const ready = await waitFor(async () => {
      const ws = await runtime.workloads(prod, ref);
      return ws.every((w) => w.status === 'AVAILABLE' && w.pods.length === 2 && w.pods.every((p) => p.ready)) ? ws : undefined;
    }, 20_000);
    expect(ready[0]).toMatchObject({ replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2, revision: 1 });
    expect(ready[0]!.pods[0]).toMatchObject({ phase: 'Running', status: 'Running', restarts: 0, image: 'registry.local/shop:1.0' });
    expect(ready[0]!.conditions.map((c) => c.type).sort()).toEqual(['Available', 'Progressing']);
    expect(ready[0]!.events.some((e) => e.reason === 'ScalingReplicaSet')).toBe(true);
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
    await waitFor(async () => (await runtime.workloads(prod, ref)).every((w) => w.readyReplicas === 3 && w.status === 'AVAILABLE') || undefined, 10_000);
    const restarted = await runtime.restart(prod, ref);
    expect(restarted.every((w) => w.error === null)).toBe(true);
    const after = await waitFor(async () => {
      const ws = await runtime.workloads(prod, ref);
      return ws.every((w) => w.revision === 2 && w.status === 'AVAILABLE' && w.pods.length === 3) ? ws : undefined;
    }, 15_000);
    expect(after[0]!.revision).toBe(2);
    const back = await runtime.rollback(prod, ref, 1);
    expect(back.every((w) => w.error === null)).toBe(true);
    await waitFor(async () => (await runtime.workloads(prod, ref)).every((w) => w.revision === 3 && w.status === 'AVAILABLE') || undefined, 15_000);
    const missing = await runtime.rollback(prod, ref, 42);
    expect(missing[0]!.error).toMatch(/Revision 42/);
  });

  it('deletes only the workload\'s own pods', async () => {
    // Wait for the rollback before to settle: a pod still terminating may vanish under our hands.
    const w = await waitFor(async () => {
      const [x] = await runtime.workloads([prod[0]!], ref);
      return x && x.pods.length === x.replicas && x.pods.every((p) => p.ready && p.status !== 'Terminating') ? x : undefined;
    }, 20_000);
    const pod = w!.pods[0]!.name;
    expect(await runtime.deletePod(prod[0]!, ref, pod)).toMatchObject({ ok: true });
    const other = await runtime.deletePod(prod[0]!, { app: 'other', env: 'prod' }, w!.pods[1]!.name);
    expect(other).toMatchObject({ ok: false });
    expect(other.error).toMatch(/not found/);
    await waitFor(async () => ((await runtime.workloads([prod[0]!], ref))[0]!.pods.some((p) => p.name === pod) ? undefined : true), 10_000);
  });

  it('reports a cluster that is down as data beside the ones that work', async () => {
    const targets = [...prod, { cluster: 'down', namespace: 'prod' }, { cluster: 'nowhere', namespace: 'prod' }];
    const ws = await runtime.workloads(targets, ref);
    expect(ws.map((w) => w.error === null)).toEqual([true, true, false, false]);
    expect(ws[2]!.status).toBe('MISSING');
    expect(ws[2]!.error).toMatch(/unreachable/);
    expect(ws[3]!.error).toMatch(/Unknown cluster/);
    const scaled = await runtime.scale(targets, ref, 2);
    expect(scaled.map((w) => w.error === null)).toEqual([true, true, false, false]);
    expect(scaled[2]!.error).toMatch(/ECONNREFUSED|refused|fetch/i);
    const clusters = await runtime.clusters();
    expect(clusters.map((c) => [c.name, c.healthy])).toEqual([['sim-1', true], ['sim-2', true], ['down', false]]);
    expect(clusters[0]!.version).toMatch(/^v1\./);
    expect(clusters[2]!.error).toBeTruthy();
  });

  it('applies an HPA for an autoscaled app and removes it when autoscaling is turned off', async () => {
    const dev: WorkloadTarget[] = [{ cluster: 'sim-1', namespace: 'dev' }];
    const api = { app: 'api', env: 'dev' };
    const hpa = { minReplicas: 2, maxReplicas: 4, targetCpuUtilization: 70 };
    await runtime.applyWorkload(dev, { ...api, image: 'api:1', container: { ...DEFAULT_CONTAINER, hpa } });
    const scaled = await waitFor(async () => {
      const [w] = await runtime.workloads(dev, api);
      return w!.hpa && w!.replicas === 2 ? w : undefined;
    }, 20_000);
    expect(scaled.hpa).toMatchObject({ minReplicas: 2, maxReplicas: 4, targetCpuUtilization: 70 });
    await runtime.applyWorkload(dev, { ...api, image: 'api:2', container: { ...DEFAULT_CONTAINER, replicas: 1 } });
    const plain = await waitFor(async () => {
      const [w] = await runtime.workloads(dev, api);
      return w!.hpa === null && w!.replicas === 1 && w!.image === 'api:2' ? w : undefined;
    }, 20_000);
    expect(plain.error).toBeNull();
  });

  it('removes the workload', async () => {
    const res = await runtime.removeWorkload(prod, ref);
    expect(res.every((r) => r.ok)).toBe(true);
    await waitFor(async () => (await runtime.workloads(prod, ref)).every((w) => w.status === 'MISSING') || undefined, 10_000);
  });
});
