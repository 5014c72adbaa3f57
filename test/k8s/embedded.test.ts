/**
 * Embedded mode: PHANTOM_EMBEDDED_CLUSTERS=on starts sim-1 and sim-2 in-process and writes
 * their kubeconfig to <dataDir>/kubeconfig, which kubectl can use too. Also the `phantom sim`
 * argument parsing.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPhantom, type TestPhantom } from '../support/harness.js';
import { parseSimArgs } from '../../src/k8s/sim-command.js';
import { waitFor } from './support.js';

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
    expect(cl.data.clusters.map((c: any) => [c.name, c.healthy, c.error])).toEqual([['sim-1', true, null], ['sim-2', true, null]]);
    await t.gql(`mutation { createApp(input: { name: "web", kind: NODE }) { id } }`);
    const d = await t.gql(`mutation { deployApp(app: "web", env: "dev", image: "web:1") { cluster namespace error } }`);
    expect(d.data.deployApp).toEqual([{ cluster: 'sim-1', namespace: 'dev', error: null }]);
    await waitFor(async () => {
      const r = await t.gql(`{ app(name: "web") { workloads(env: "dev") { status pods { ready } } } }`);
      return r.data.app.workloads[0].status === 'AVAILABLE' || undefined;
    }, 10_000);
    if (existsSync('/usr/bin/kubectl')) {
      // Async: the clusters run in this process, so a synchronous child would block them.
      const { stdout: out } = await promisify(execFile)('/usr/bin/kubectl', ['--kubeconfig', kubeconfig, '--context', 'sim-1', 'get', 'deployments', '-n', 'dev', '-l', 'app.kubernetes.io/managed-by=phantom', '-o', 'name'], {
        env: { ...process.env, KUBECACHEDIR: join(t.config.dataDir, 'kube-cache') },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(out.trim()).toBe('deployment.apps/web');
    }
  });
});

describe('phantom sim arguments', () => {
  it('parses port, name and kubeconfig', () => {
    expect(parseSimArgs(['--port', '0'])).toEqual({ port: 0, name: 'sim-1' });
    expect(parseSimArgs(['--port', '7001', '--name', 'east', '--kubeconfig', '/tmp/k'])).toEqual({ port: 7001, name: 'east', kubeconfig: '/tmp/k' });
  });
  it.each([
    [[], /--port is required/],
    [['--port', 'x'], /--port must be/],
    [['--port', '1', '--name', 'Bad_Name'], /DNS-1123/],
    [['--port'], /needs a value/],
    [['--port', '1', '--bogus', 'v'], /unknown option/],
  ])('refuses %j', (argv, msg) => {
    expect(() => parseSimArgs(argv as string[])).toThrow(msg);
  });
});
