/**
 * A dropped watch and a 410 Expired: the informer cache relists and converges. Watches run
 * through a TCP proxy the test can cut, so the client sees real connection failures.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  kubeconfigFor,
  startSimulatedCluster,
  type SimulatedCluster,
} from '../../src/k8s/sim/index.js';
import { KubeconfigClusterRegistry } from '../../src/k8s/kubeconfig-cluster-registry.js';
import { KubeRuntime } from '../../src/k8s/kube-runtime.js';
import { DEFAULT_CONTAINER } from '../../src/domain/apps/app-spec.js';
import type { KubeObjectEvent } from '../../src/k8s/types.js';
import { FAST_TIMING, waitFor } from './support.js';

/** A TCP proxy to `target` that can cut every connection and refuse new ones for a while. */
class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: number) {}
  async listen(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }
  /** Refuses new connections and resets the open ones (watches included). */
  async cut(): Promise<void> {
    const closed = new Promise<void>((r) => this.server!.close(() => r()));
    for (const s of this.sockets) s.resetAndDestroy();
    await closed;
  }
}

describe('informer cache after a dropped watch and 410 Expired', () => {
  let sim: SimulatedCluster;
  let proxy: CuttableProxy;
  let watched: KubeRuntime;
  let direct: KubeRuntime;
  const target = { cluster: 'sim-1', namespace: 'dev' };
  const ref = { app: 'shop', env: 'dev' };
  const events: KubeObjectEvent[] = [];

  beforeAll(async () => {
    sim = await startSimulatedCluster({ name: 'sim-1', timing: FAST_TIMING });
    proxy = new CuttableProxy(sim.port);
    await proxy.listen();
    watched = new KubeRuntime(
      new KubeconfigClusterRegistry(
        kubeconfigFor([{ name: 'sim-1', url: `http://127.0.0.1:${proxy.port}` }]),
      ),
      { restartDelayMs: 100, maxRestartDelayMs: 300 },
    ).start();
    direct = new KubeRuntime(new KubeconfigClusterRegistry(sim.kubeconfigYaml())).start();
    await direct.whenSynced();
    watched.onObjectEvent((e) => events.push(e));
    await watched.whenSynced();
  });
  afterAll(async () => {
    await watched?.close();
    await direct?.close();
    await proxy?.cut().catch(() => undefined);
    await sim?.close();
  });

  it('reports the outage, then relists and converges on changes made meanwhile', async () => {
    const applied = await watched.applyWorkload([target], {
      ...ref,
      image: 'shop:1',
      container: { ...DEFAULT_CONTAINER, replicas: 2 },
    });
    expect(applied[0].error).toBeNull();
    const before = await waitFor(async () => {
      const [w] = await watched.workloads([target], ref);
      return w.status === 'AVAILABLE' && w.pods.length === 2 ? w : undefined;
    }, 10_000);
    const podStats = () => watched.informerStats().find((i) => i.kind === 'Pod')!;
    expect(watched.informerStats().every((i) => i.synced && !i.failing && i.restarts === 0)).toBe(
      true,
    );

    await proxy.cut();
    // While the watch is down: scale up, delete a pod, and compact the history so resuming
    // from the old resourceVersion gets 410 Expired.
    const scaled = await direct.scale([target], ref, 3);
    expect(scaled[0].error).toBeNull();
    expect((await direct.deletePod(target, ref, before.pods[0].name)).ok).toBe(true);
    await waitFor(async () => {
      const [w] = await direct.workloads([target], ref);
      return (
        (w.pods.length === 3 && w.pods.every((p) => p.ready && p.name !== before.pods[0].name)) ||
        undefined
      );
    }, 10_000);
    const [during] = await watched.workloads([target], ref);
    expect(during.error).toMatch(/unreachable/);
    expect(during.replicas).toBe(2); // the stale cache is still answered, with the error
    expect(podStats().failing).toBe(true); // what /metrics shows as phantom_informer_failing
    sim.compactWatchHistory();
    events.length = 0;

    await proxy.listen();
    const after = await waitFor(async () => {
      const [w] = await watched.workloads([target], ref);
      return w.error === null &&
        w.replicas === 3 &&
        w.pods.length === 3 &&
        w.pods.every((p) => p.ready)
        ? w
        : undefined;
    }, 15_000);
    expect(after.pods.map((p) => p.name)).not.toContain(before.pods[0].name);
    // Restarted after the failures (phantom_informer_restarts_total), healthy again.
    expect(podStats()).toMatchObject({ cluster: 'sim-1', synced: true, failing: false });
    expect(podStats().restarts).toBeGreaterThanOrEqual(1);
    // The relist turned into events: the deleted pod's DELETED among them.
    expect(
      events.some(
        (e) => e.kind === 'Pod' && e.type === 'DELETED' && e.name === before.pods[0].name,
      ),
    ).toBe(true);
  });
});
