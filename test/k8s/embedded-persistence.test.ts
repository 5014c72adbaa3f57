/**
 * Embedded clusters keep their objects in PHANTOM_DATA_DIR: a stopped and started Phantom
 * (startPhantom twice on the same data directory, like `npm start` after a stop) shows the
 * same workloads, the kubeconfig names the clusters' ports of this run, and writes continue.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startPhantom, type Phantom } from '../../src/main.js';
import { ADMIN_TOKEN } from '../support/harness.js';
import { waitFor } from './support.js';

const WORKLOADS = `{ app(name: "web") { workloads(env: "dev") { cluster status image replicas error pods { name ready } } } }`;

describe('embedded clusters across a restart of Phantom', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phantom-restart-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    PHANTOM_ADMIN_TOKEN: ADMIN_TOKEN,
    PHANTOM_DATA_DIR: dir,
    PHANTOM_EMBEDDED_CLUSTERS: 'on',
  });
  let phantom: Phantom | undefined;
  afterAll(async () => {
    await phantom?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const gql = async (query: string): Promise<any> => {
    const res = await fetch(phantom!.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query }),
    });
    const body = (await res.json()) as any;
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const available = (image: string, replicas: number) => async () => {
    const [w] = (await gql(WORKLOADS)).app.workloads;
    return w.status === 'AVAILABLE' &&
      w.image === image &&
      w.error === null &&
      w.pods.length === replicas &&
      w.pods.every((p: any) => p.ready)
      ? w
      : undefined;
  };

  it('shows the same workloads after a stop and a start, and keeps deploying', async () => {
    phantom = await startPhantom(config);
    await gql(
      `mutation { createApp(input: { name: "web", kind: NODE, container: { replicas: 2 } }) { id } }`,
    );
    expect(
      (await gql(`mutation { deployApp(app: "web", env: "dev", image: "web:1") { error } }`))
        .deployApp,
    ).toEqual([{ error: null }]);
    const before = await waitFor(available('web:1', 2), 15_000);
    await phantom.stop();
    phantom = undefined;
    expect(existsSync(join(dir, 'clusters', 'sim-1', 'snapshot.json'))).toBe(true);

    phantom = await startPhantom(config);
    // Right after the start, from the informer cache of the reloaded cluster: the same pods.
    const after = await waitFor(available('web:1', 2), 15_000);
    expect(after.pods.map((p: any) => p.name).sort()).toEqual(
      before.pods.map((p: any) => p.name).sort(),
    );
    const kubeconfig = join(dir, 'kubeconfig');
    if (existsSync('/usr/bin/kubectl')) {
      // The kubeconfig is rewritten at each start (ports may change): kubectl sees the kept objects.
      const { stdout } = await promisify(execFile)(
        '/usr/bin/kubectl',
        [
          '--kubeconfig',
          kubeconfig,
          '--context',
          'sim-1',
          'get',
          'pods',
          '-n',
          'dev',
          '-o',
          'name',
        ],
        {
          env: { ...process.env, KUBECACHEDIR: join(dir, 'kube-cache') },
          encoding: 'utf8',
          timeout: 20_000,
        },
      );
      expect(stdout.trim().split('\n').sort()).toEqual(
        before.pods.map((p: any) => `pod/${p.name}`).sort(),
      );
    }

    // The clusters keep working: a new image rolls out on the kept Deployment.
    expect(
      (await gql(`mutation { deployApp(app: "web", env: "dev", image: "web:2") { error } }`))
        .deployApp,
    ).toEqual([{ error: null }]);
    const rolled = await waitFor(available('web:2', 2), 15_000);
    expect(
      rolled.pods
        .map((p: any) => p.name)
        .filter((n: string) => before.pods.some((b: any) => b.name === n)),
    ).toEqual([]);
  });
});
