/**
 * Watcher takeover ordering and deletions, on in-process messaging and one simulated cluster:
 * a stopping leader releases its lease only after its appends landed, and a new leader
 * publishes the deletions it saw while nobody published (a snapshot of its cache cannot).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startSimulatedCluster,
  kubeconfigFor,
  type SimulatedCluster,
} from '../../src/k8s/sim/index.js';
import { KubeconfigClusterRegistry } from '../../src/k8s/kubeconfig-cluster-registry.js';
import { KubeRuntime } from '../../src/k8s/kube-runtime.js';
import { ClusterWatchers, watcherLeaseName } from '../../src/k8s/cluster-watcher.js';
import { DEFAULT_CONTAINER } from '../../src/domain/apps/app-spec.js';
import type { KubeObjectEvent } from '../../src/k8s/types.js';
import {
  InProcessEventStream,
  InProcessLeaseManager,
  InProcessMembership,
  PartitionedStream,
  runWhileLeader,
  type EventStream,
  type LeaseManager,
} from '../../src/pubsub/index.js';
import { FAST_TIMING, waitFor } from './support.js';

const TARGET = [{ cluster: 'sim-1', namespace: 'takeover' }];
const LEASE = watcherLeaseName('sim-1');

describe('ClusterWatchers takeover', () => {
  let sim: SimulatedCluster;
  let runtime: KubeRuntime;

  beforeAll(async () => {
    sim = await startSimulatedCluster({ name: 'sim-1', timing: FAST_TIMING });
    runtime = new KubeRuntime(
      new KubeconfigClusterRegistry(kubeconfigFor([{ name: sim.name, url: sim.url }])),
      { restartDelayMs: 200 },
    ).start();
    await runtime.whenSynced(3000);
  });
  afterAll(async () => {
    await runtime?.close();
    await sim?.close();
  });

  const entries = async (stream: PartitionedStream): Promise<KubeObjectEvent[]> => {
    const out: KubeObjectEvent[] = [];
    for (let p = 0; p < stream.partitions; p++)
      for (const e of await stream.read(p, '0', 10_000))
        out.push(e.body as unknown as KubeObjectEvent);
    return out;
  };

  it('a stopping leader releases the lease only after its in-flight appends landed', async () => {
    // Regression: stop() released the leases first and awaited appends after, so the next
    // leader's snapshot could land before the old leader's last changes.
    const inner = new InProcessEventStream();
    let lastAppendDone = 0;
    const slow: EventStream = Object.assign(Object.create(inner) as EventStream, {
      append: async (...args: Parameters<EventStream['append']>) => {
        await new Promise((r) => setTimeout(r, 150));
        const id = await inner.append(...args);
        lastAppendDone = Date.now();
        return id;
      },
    });
    const real = new InProcessLeaseManager();
    let releasedAt = 0;
    const leases: LeaseManager = Object.assign(Object.create(real) as LeaseManager, {
      release: async (name: string, holder: string) => {
        releasedAt = Date.now();
        return real.release(name, holder);
      },
      runWhileLeader(...args: Parameters<LeaseManager['runWhileLeader']>) {
        return runWhileLeader(leases, ...args);
      },
    });
    const stream = new PartitionedStream('k8s-events-a', 4, {
      streams: slow,
      leases: real,
      membership: new InProcessMembership(),
    });
    const a = new ClusterWatchers(runtime, leases, stream, {
      holder: 'a',
      leaseTtlMs: 300,
    }).start();
    await waitFor(() => a.leadingClusters().length === 1, 3000, 10);
    await runtime.applyWorkload(TARGET, {
      app: 'first',
      env: 'takeover',
      image: 'x:1',
      container: { ...DEFAULT_CONTAINER, replicas: 1 },
    });
    await a.stop();
    expect(releasedAt).toBeGreaterThan(0);
    expect(lastAppendDone).toBeGreaterThan(0);
    expect(lastAppendDone).toBeLessThanOrEqual(releasedAt);
    expect((await entries(stream)).some((e) => e.kind === 'Deployment' && e.name === 'first')).toBe(
      true,
    );
  });

  it('a new leader publishes DELETED for objects that vanished while nobody published', async () => {
    const real = new InProcessLeaseManager();
    const stream = new PartitionedStream('k8s-events-b', 4, {
      streams: new InProcessEventStream(),
      leases: real,
      membership: new InProcessMembership(),
    });
    // `a` "dies": its renewals fail, so it stops publishing, but its lease stays until the TTL.
    let dead = false;
    const dying: LeaseManager = Object.assign(Object.create(real) as LeaseManager, {
      acquire: async (name: string, holder: string, ttl: number) =>
        dead ? false : real.acquire(name, holder, ttl),
      renew: async (name: string, holder: string, ttl: number) =>
        dead ? false : real.renew(name, holder, ttl),
      release: async (name: string, holder: string) => (dead ? false : real.release(name, holder)),
      runWhileLeader(...args: Parameters<LeaseManager['runWhileLeader']>) {
        return runWhileLeader(dying, ...args);
      },
    });
    const a = new ClusterWatchers(runtime, dying, stream, {
      holder: 'a',
      leaseTtlMs: 1000,
    }).start();
    await waitFor(() => a.leadingClusters().length === 1, 3000, 10);
    const b = new ClusterWatchers(runtime, real, stream, { holder: 'b', leaseTtlMs: 1000 }).start();
    try {
      const [w] = await runtime.applyWorkload(TARGET, {
        app: 'gone',
        env: 'takeover',
        image: 'x:1',
        container: { ...DEFAULT_CONTAINER, replicas: 1 },
      });
      expect(w.error).toBeNull();
      const published = await waitFor(
        async () =>
          (await entries(stream)).find((e) => e.kind === 'Deployment' && e.name === 'gone'),
        3000,
      );
      dead = true;
      await waitFor(() => a.leadingClusters().length === 0, 3000, 10);
      expect(await real.holderOf(LEASE)).toBe('a'); // nobody publishes until it expires
      await runtime.removeWorkload(TARGET, { app: 'gone', env: 'takeover' });
      await waitFor(
        async () =>
          (await runtime.workloads(TARGET, { app: 'gone', env: 'takeover' }))[0].status ===
            'MISSING' || undefined,
        3000,
      );
      await waitFor(() => b.leadingClusters().length === 1, 5000, 20);
      const deleted = await waitFor(
        async () =>
          (await entries(stream)).find((e) => e.uid === published.uid && e.type === 'DELETED'),
        3000,
      );
      expect(deleted).toMatchObject({
        kind: 'Deployment',
        name: 'gone',
        cluster: 'sim-1',
        resync: true,
      });
    } finally {
      await b.stop();
      await a.stop();
    }
  });
});
