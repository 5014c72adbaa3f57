/**
 * Embedded mode: PHANTOM_EMBEDDED_CLUSTERS=on starts sim-1 and sim-2 in-process and writes
 * their kubeconfig to <dataDir>/kubeconfig, which kubectl can use too. Also the `phantom sim`
 * argument parsing. A process with split roles and no kubeconfig starts no embedded clusters.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPhantom, type TestPhantom } from '../support/harness.js';
import { parseSimArgs } from '../../src/k8s/sim-command.js';
import { waitFor } from './support.js';
import { k8sServices, SPLIT_ROLES_WARNING } from '../../src/k8s/k8s.module.js';
import { loadConfig } from '../../src/config.js';
import { startWorker } from '../../src/worker.js';

describe('embedded clusters', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('embedded', { env: { PHANTOM_EMBEDDED_CLUSTERS: 'on' } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('starts sim-1 and sim-2, writes their kubeconfig, and deploys the default dev environment there', async () => {
    const kubeconfig = join(t.config.dataDir, 'kubeconfig');
    expect(readFileSync(kubeconfig, 'utf8')).toMatch(/sim-2/);
    const cl = await t.gql(`{ clusters { name healthy version error } }`);
    expect(cl.data.clusters.map((c: any) => [c.name, c.healthy, c.error])).toEqual([
      ['sim-1', true, null],
      ['sim-2', true, null],
    ]);
    await t.gql(`mutation { createApp(input: { name: "web", kind: NODE }) { id } }`);
    const d = await t.gql(
      `mutation { deployApp(app: "web", env: "dev", image: "web:1") { cluster namespace error } }`,
    );
    expect(d.data.deployApp).toEqual([{ cluster: 'sim-1', namespace: 'dev', error: null }]);
    await waitFor(async () => {
      const r = await t.gql(
        `{ app(name: "web") { workloads(env: "dev") { status pods { ready } } } }`,
      );
      return r.data.app.workloads[0].status === 'AVAILABLE' || undefined;
    }, 10_000);
    if (existsSync('/usr/bin/kubectl')) {
      // Async: the clusters run in this process, so a synchronous child would block them.
      const { stdout: out } = await promisify(execFile)(
        '/usr/bin/kubectl',
        [
          '--kubeconfig',
          kubeconfig,
          '--context',
          'sim-1',
          'get',
          'deployments',
          '-n',
          'dev',
          '-l',
          'app.kubernetes.io/managed-by=phantom',
          '-o',
          'name',
        ],
        {
          env: { ...process.env, KUBECACHEDIR: join(t.config.dataDir, 'kube-cache') },
          encoding: 'utf8',
          timeout: 20_000,
        },
      );
      expect(out.trim()).toBe('deployment.apps/web');
    }
  });
});

describe('embedded clusters with split roles', () => {
  let t: TestPhantom;
  afterAll(async () => {
    await t?.stop();
  });

  it('PHANTOM_ROLES=api without a kubeconfig starts no clusters of its own and says why', async () => {
    t = await startTestPhantom('embedded', {
      env: { PHANTOM_EMBEDDED_CLUSTERS: 'on', PHANTOM_ROLES: 'api' },
    });
    expect(existsSync(join(t.config.dataDir, 'kubeconfig'))).toBe(false);
    const k8s = k8sServices(t.phantom.platform.services);
    expect([k8s.kubeconfigPath, k8s.runtime.clusterNames()]).toEqual([null, []]);
    // The same text is logged as a warning at start.
    expect(k8s.clustersWarning).toContain(SPLIT_ROLES_WARNING);
    expect(SPLIT_ROLES_WARNING).toMatch(/^PHANTOM_KUBECONFIG is required when roles are split/);
    expect((await t.gql(`{ clusters { name } }`)).data).toEqual({ clusters: [] });
    await t.gql(`mutation { createApp(input: { name: "web", kind: NODE }) { id } }`);
    const w = await t.gql(
      `{ app(name: "web") { workloads(env: "dev") { cluster status error } } }`,
    );
    expect(w.data.app.workloads).toEqual([
      {
        cluster: 'sim-1',
        status: 'MISSING',
        error: expect.stringMatching(/Unknown cluster "sim-1"/),
      },
    ]);
  });
});

describe('phantom worker without a kubeconfig', () => {
  it('starts no embedded clusters even with the default PHANTOM_ROLES', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phantom-worker-'));
    const worker = await startWorker(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', PHANTOM_DATA_DIR: dir }),
    );
    try {
      const k8s = k8sServices(worker.platform.services);
      expect([k8s.runtime.clusterNames(), existsSync(join(dir, 'kubeconfig'))]).toEqual([
        [],
        false,
      ]);
      expect(k8s.clustersWarning).toContain(SPLIT_ROLES_WARNING);
    } finally {
      await worker.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('phantom sim arguments', () => {
  it('parses port, name and kubeconfig', () => {
    expect(parseSimArgs(['--port', '0'])).toEqual({ port: 0, name: 'sim-1' });
    expect(parseSimArgs(['--port', '7001', '--name', 'east', '--kubeconfig', '/tmp/k'])).toEqual({
      port: 7001,
      name: 'east',
      kubeconfig: '/tmp/k',
    });
  });
  it.each([
    [[], /--port is required/],
    [['--port', 'x'], /--port must be/],
    [['--port', '1', '--name', 'Bad_Name'], /DNS-1123/],
    [['--port'], /needs a value/],
    [['--port', '1', '--bogus', 'v'], /unknown option/],
  ])('refuses %j', (argv, msg) => {
    expect(() => parseSimArgs(argv)).toThrow(msg);
  });
});
