/**
 * Two Phantom replicas on one MySQL database and one Redis, both pointed at the same two
 * simulated clusters: exactly one publishes each cluster's changes (the watcher lease); a
 * podEvents subscriber on one replica sees changes watched by the other; when the leader
 * stops, the other takes over within seconds and events keep flowing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeServices } from '../support/env.js';
import { startTestPhantom, type TestPhantom } from '../support/harness.js';
import { k8sServices, K8S_EVENTS_STREAM, K8S_EVENT_PARTITIONS } from '../../src/k8s/k8s.module.js';
import type { KubeObjectEvent } from '../../src/k8s/types.js';
import { collect, startTestClusters, waitFor, type TestClusters } from './support.js';

const leading = (t: TestPhantom) =>
  k8sServices(t.phantom.platform.services).watchers.leadingClusters();

describeServices('k8s watcher failover between two replicas on Redis', () => {
  let clusters: TestClusters;
  let first: TestPhantom;
  let second: TestPhantom;
  let third: TestPhantom | undefined;

  beforeAll(async () => {
    clusters = await startTestClusters();
    const env = { PHANTOM_KUBECONFIG: clusters.kubeconfigPath, PHANTOM_EMBEDDED_CLUSTERS: 'off' };
    first = await startTestPhantom('mysql', { env });
    // The first replica takes both leases before the second exists, so we know who leads.
    await waitFor(() => leading(first).length === 2, 10_000);
    second = await startTestPhantom('mysql', {
      databaseUrl: first.databaseUrl,
      redisPrefix: first.config.redisPrefix,
      env,
    });
    const created = await first.gql(
      `mutation { createApp(input: { name: "shop", kind: NODE, container: { replicas: 1 } }) { id } }`,
    );
    expect(created.errors).toBeUndefined();
  });
  afterAll(async () => {
    await third?.stop();
    await second?.stop();
    await first?.stop(); // last: it owns the scratch database
    await clusters?.close();
  });

  it('one replica publishes; a subscriber on the other sees its changes; the other takes over when it stops', async () => {
    expect(leading(first)).toEqual(['sim-1', 'sim-2']);
    expect(leading(second)).toEqual([]);
    const sub = collect(
      second.ws(),
      `subscription { podEvents(app: "shop", env: "prod") { type cluster pod { name ready } } }`,
    );
    await new Promise((r) => setTimeout(r, 300));
    const deployed = await first.gql(
      `mutation { deployApp(app: "shop", env: "prod", image: "registry.local/shop:1") { cluster error } }`,
    );
    expect(deployed.data.deployApp).toEqual([
      { cluster: 'sim-1', error: null },
      { cluster: 'sim-2', error: null },
    ]);
    const readyOn = (from: number) =>
      new Set(
        sub.items
          .slice(from)
          .filter((i) => i.data?.podEvents.pod.ready)
          .map((i) => i.data.podEvents.cluster),
      );
    await waitFor(() => readyOn(0).size === 2, 10_000);
    // Both replicas serve the workload from their own informer caches.
    const viaSecond = await second.gql(
      `{ app(name: "shop") { workloads(env: "prod") { cluster status pods { ready } } } }`,
    );
    expect(viaSecond.data.app.workloads.map((w: any) => w.status)).toEqual([
      'AVAILABLE',
      'AVAILABLE',
    ]);

    // Stop the leader (not its database: `first.stop()` would drop it under the second replica).
    const stoppedAt = Date.now();
    await first.phantom.stop();
    await waitFor(() => leading(second).length === 2, 8000, 50);
    expect(Date.now() - stoppedAt).toBeLessThan(8000);

    const mark = sub.items.length;
    const scaled = await second.gql(
      `mutation { scaleApp(app: "shop", env: "prod", replicas: 2) { cluster error } }`,
    );
    expect(scaled.errors).toBeUndefined();
    await waitFor(
      () =>
        readyOn(mark).size === 2 &&
        sub.items.slice(mark).some((i) => i.data.podEvents.type === 'ADDED'),
      15_000,
    );
    sub.stop();

    // Every change went to the partitioned stream keyed by uid; per object, resourceVersions never go back.
    const stream = second.phantom.platform.messaging.partitioned(
      K8S_EVENTS_STREAM,
      K8S_EVENT_PARTITIONS,
    );
    const byKey = new Map<string, number[]>();
    for (let p = 0; p < K8S_EVENT_PARTITIONS; p++) {
      for (const e of await stream.read(p, '0', 10_000)) {
        const body = e.body as unknown as KubeObjectEvent;
        expect(e.key).toBe(body.uid);
        expect(stream.partitionOf(body.uid)).toBe(p);
        if (!body.resync)
          byKey.set(e.key, [...(byKey.get(e.key) ?? []), Number(body.resourceVersion)]);
      }
    }
    expect(byKey.size).toBeGreaterThan(4);
    for (const rvs of byKey.values()) expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
  });

  it('a replica that dies without releasing loses the lease after its TTL; another takes over', async () => {
    const env = { PHANTOM_KUBECONFIG: clusters.kubeconfigPath, PHANTOM_EMBEDDED_CLUSTERS: 'off' };
    third = await startTestPhantom('mysql', {
      databaseUrl: first.databaseUrl,
      redisPrefix: first.config.redisPrefix,
      env,
    });
    expect(leading(second)).toEqual(['sim-1', 'sim-2']);
    expect(leading(third)).toEqual([]);
    const sub = collect(
      third.ws(),
      `subscription { podEvents(app: "shop", env: "prod") { type cluster pod { name ready } } }`,
    );
    await new Promise((r) => setTimeout(r, 300));
    // "Dies" as far as the watcher is concerned: its Redis connection goes away, so it can
    // neither renew nor release the watcher leases; they must expire (TTL 5 s).
    const diedAt = Date.now();
    await second.phantom.platform.messaging.close();
    await waitFor(() => leading(third!).length === 2, 12_000, 100);
    expect(Date.now() - diedAt).toBeLessThan(12_000);
    const restarted = await third.gql(
      `mutation { restartApp(app: "shop", env: "prod") { cluster error } }`,
    );
    expect(restarted.data.restartApp).toEqual([
      { cluster: 'sim-1', error: null },
      { cluster: 'sim-2', error: null },
    ]);
    await waitFor(() => {
      const ready = sub.items
        .filter((i) => i.data?.podEvents.type === 'ADDED')
        .map((i) => i.data.podEvents.cluster);
      return new Set(ready).size === 2;
    }, 15_000);
    sub.stop();
  });
});
