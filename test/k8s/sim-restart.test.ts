/**
 * An API server restarted with an older store (a `phantom sim` without --data, same port):
 * Phantom's informers resume with a resourceVersion from the new server's future, get the
 * apiserver's "Too large resource version" answer, relist, and `App.workloads` shows the new
 * cluster's truth, not the cache of the old one.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  kubeconfigFor,
  startSimulatedCluster,
  type SimulatedCluster,
} from '../../src/k8s/sim/index.js';
import { startTestPhantom, type TestPhantom } from '../support/harness.js';
import { FAST_TIMING, waitFor } from './support.js';

describe('informer cache across a restart of the API server', () => {
  let sim: SimulatedCluster;
  let t: TestPhantom;

  const workload = async (app: string) => {
    const r = await t.gql(
      `query($a: String!) { app(name: $a) { workloads(env: "dev") { status replicas error pods { name ready } } } }`,
      { a: app },
    );
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data.app.workloads[0] as {
      status: string;
      replicas: number;
      error: string | null;
      pods: { name: string; ready: boolean }[];
    };
  };

  beforeAll(async () => {
    sim = await startSimulatedCluster({ name: 'sim-1', timing: FAST_TIMING });
    const kubeconfigPath = join(mkdtempSync(join(tmpdir(), 'phantom-restart-')), 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigFor([{ name: 'sim-1', url: sim.url }]));
    t = await startTestPhantom('embedded', { env: { PHANTOM_KUBECONFIG: kubeconfigPath } });
    for (const name of ['web', 'api'])
      await t.gql(
        `mutation($n: String!) { createApp(input: { name: $n, kind: NODE, container: { replicas: 2 } }) { id } }`,
        { n: name },
      );
  });
  afterAll(async () => {
    await t?.stop();
    await sim?.close();
  });

  it('relists after the restart: deleted workloads disappear, new ones appear', async () => {
    expect(
      (await t.gql(`mutation { deployApp(app: "web", env: "dev", image: "web:1") { error } }`)).data
        .deployApp,
    ).toEqual([{ error: null }]);
    const before = await waitFor(async () => {
      const w = await workload('web');
      return w.status === 'AVAILABLE' && w.pods.length === 2 && w.pods.every((p) => p.ready)
        ? w
        : undefined;
    }, 10_000);
    const oldRv = sim.resourceVersion;

    // Same port, empty store: its resourceVersions start again far below the informers' ones.
    const port = sim.port;
    await sim.close();
    sim = await startSimulatedCluster({ name: 'sim-1', port, timing: FAST_TIMING });
    expect(sim.resourceVersion).toBeLessThan(oldRv);

    // The old cluster's Deployment is gone: the cache must not keep answering it.
    await waitFor(async () => (await workload('web')).status === 'MISSING' || undefined, 15_000);

    // Changes on the new server reach the cache: a new app, and web deployed again with new pods.
    expect(
      (await t.gql(`mutation { deployApp(app: "api", env: "dev", image: "api:1") { error } }`)).data
        .deployApp,
    ).toEqual([{ error: null }]);
    expect(
      (await t.gql(`mutation { deployApp(app: "web", env: "dev", image: "web:2") { error } }`)).data
        .deployApp,
    ).toEqual([{ error: null }]);
    const after = await waitFor(async () => {
      const [web, api] = [await workload('web'), await workload('api')];
      return web.status === 'AVAILABLE' &&
        api.status === 'AVAILABLE' &&
        web.error === null &&
        web.pods.length === 2
        ? web
        : undefined;
    }, 15_000);
    expect(
      after.pods.map((p) => p.name).filter((n) => before.pods.some((b) => b.name === n)),
    ).toEqual([]);
  });
});
