/**
 * A simulated cluster with a data directory: objects written as they change, read back at the
 * next start with resourceVersions continuing; the same port when it is free; a torn last
 * journal line ignored; client-node informers of the previous run relist or resume correctly;
 * the real kubectl sees the same objects.
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSimulatedCluster, type SimulatedCluster } from './index.js';
import { eventually, FAST_TIMING, KUBECTL, kubectlEnv } from './test-support.js';

type Json = Record<string, any>;

const D = '/apis/apps/v1/namespaces/default/deployments';
const PODS = '/api/v1/namespaces/default/pods';

const deployment = (name: string, replicas: number): Json => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
    },
  },
});

describe('simulated cluster with a data directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phantom-sim-data-'));
  let sim: SimulatedCluster | undefined;
  afterAll(async () => {
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // No keep-alive: a pooled connection to the previous server on the same port would fail once.
  const call = (
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; body: Json }> =>
    new Promise((resolve, reject) => {
      const req = request(
        sim!.url + path,
        { method, agent: false, headers: { 'Content-Type': contentType } },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Json }),
          );
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  const podsOf = async (app: string): Promise<Json[] | undefined> => {
    const pods = (await call('GET', `${PODS}?labelSelector=app%3D${app}`)).body.items as Json[];
    return pods;
  };

  it('keeps objects, resourceVersions and the port across a restart', async () => {
    sim = await startSimulatedCluster({ name: 'keep', timing: FAST_TIMING, dataDir: dir });
    expect(sim.dataDir).toBe(dir);
    expect((await call('POST', D, deployment('web', 2))).status).toBe(201);
    expect((await call('POST', D, deployment('gone', 1))).status).toBe(201);
    await eventually(
      async () => (await call('GET', `${D}/web`)).body.status?.availableReplicas === 2,
    );
    await eventually(
      async () => (await call('GET', `${D}/gone`)).body.status?.availableReplicas === 1,
    );
    expect((await call('DELETE', `${D}/gone`)).status).toBe(200);
    await eventually(async () => (await podsOf('gone'))!.length === 0);
    const before = {
      web: (await call('GET', `${D}/web`)).body,
      pods: (await podsOf('web'))!,
      rv: sim.resourceVersion,
      port: sim.port,
    };
    await sim.close();

    sim = await startSimulatedCluster({ name: 'keep', timing: FAST_TIMING, dataDir: dir });
    expect(sim.port).toBe(before.port);
    expect(sim.resourceVersion).toBeGreaterThanOrEqual(before.rv);
    const web = (await call('GET', `${D}/web`)).body;
    expect([web.metadata.uid, web.metadata.resourceVersion, web.status.availableReplicas]).toEqual([
      before.web.metadata.uid,
      before.web.metadata.resourceVersion,
      2,
    ]);
    expect((await call('GET', `${D}/gone`)).status).toBe(404);
    const pods = (await podsOf('web'))!;
    expect(pods.map((p) => [p.metadata.name, p.metadata.uid, p.status.phase])).toEqual(
      before.pods.map((p) => [p.metadata.name, p.metadata.uid, 'Running']),
    );
    // Still a working cluster: new writes continue the sequence, controllers and kubelet run.
    const patched = (
      await call('PATCH', `${D}/web`, { spec: { replicas: 3 } }, 'application/merge-patch+json')
    ).body;
    expect(Number(patched.metadata.resourceVersion)).toBeGreaterThan(before.rv);
    await eventually(
      async () => (await call('GET', `${D}/web`)).body.status?.availableReplicas === 3,
    );
    // The watch history starts at the loaded version: older versions are 410, newer ones replay.
    const old = await call(
      'GET',
      `${D}?watch=true&resourceVersion=${before.rv - 1}&timeoutSeconds=1`,
    );
    expect(old.body).toMatchObject({ type: 'ERROR', object: { code: 410 } });
  });

  it('ignores a torn last journal line and serves the same objects to kubectl', async () => {
    const webRv = (await call('GET', `${D}/web`)).body.metadata.resourceVersion;
    await sim!.close();
    expect(existsSync(join(dir, 'journal.jsonl'))).toBe(true);
    appendFileSync(join(dir, 'journal.jsonl'), '{"op":"put","rv":99999999,"k":"deploym');
    sim = await startSimulatedCluster({ name: 'keep', timing: FAST_TIMING, dataDir: dir });
    expect(sim.resourceVersion).toBeLessThan(99999999);
    expect((await call('GET', `${D}/web`)).body.metadata.resourceVersion).toBe(webRv);
    expect(readFileSync(join(dir, 'journal.jsonl'), 'utf8')).toBe(''); // folded into the snapshot at start
    if (existsSync(KUBECTL)) {
      const k = kubectlEnv(sim.kubeconfigYaml());
      try {
        const r = await k.run(['get', 'deployments', '-o', 'name']);
        expect([r.code, r.stdout.trim()]).toEqual([0, 'deployment.apps/web']);
      } finally {
        k.cleanup();
      }
    }
  });
});
