/** Namespace termination with the real kubectl: Terminating, refused creates, `delete -f` of a file holding its Namespace. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedCluster, type SimulatedCluster } from './index.js';
import {
  eventually,
  FAST_TIMING,
  KUBECTL_132,
  kubectlEnv,
  tableRows,
  type KubectlEnv,
} from './test-support.js';

const APP = (ns: string): string => `
apiVersion: v1
kind: Namespace
metadata:
  name: ${ns}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${ns}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx:1.25
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${ns}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`;

describe('namespace termination with the real kubectl', () => {
  let cluster: SimulatedCluster;
  let k: KubectlEnv;

  beforeAll(async () => {
    // The namespace controller's first pass comes 3 s after a DELETE: kubectl's next deletions land first even on a loaded machine.
    cluster = await startSimulatedCluster({
      name: 'nslife',
      timing: { ...FAST_TIMING, namespaceDeleteDelayMs: 3000 },
    });
    k = kubectlEnv(cluster.kubeconfigYaml());
  });

  afterAll(async () => {
    await cluster?.close();
    k?.cleanup();
    expect(cluster.controllerErrors).toEqual([]);
  });

  for (const [label, binary] of [
    ['kubectl 1.33', undefined],
    ['kubectl 1.32', KUBECTL_132],
  ] as const) {
    it(`${label}: delete -f of a file holding its Namespace and a Deployment succeeds`, async () => {
      const ns = binary ? 'shop132' : 'shop';
      const file = join(k.dir, `${ns}.yaml`);
      writeFileSync(file, APP(ns));
      const applied = await k.run(['apply', '-f', file], 20_000, binary);
      expect(applied.stderr).toBe('');
      expect(applied.code).toBe(0);
      await eventually(async () => {
        const r = await k.run(['get', 'pods', '-n', ns, '-o', 'name'], 20_000, binary);
        return r.stdout.trim().split('\n').filter(Boolean).length === 2;
      });
      const del = await k.run(['delete', '-f', file], 60_000, binary);
      expect(del.stderr).toBe('');
      expect(del.code).toBe(0);
      expect(del.stdout).toContain(`namespace "${ns}" deleted`);
      expect(del.stdout).toContain('deployment.apps "web" deleted');
      expect(del.stdout).toContain('service "web" deleted');
      // kubectl waited for the deletions: the namespace is gone with everything in it.
      const gone = await k.run(['get', 'namespace', ns], 20_000, binary);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toContain(`namespaces "${ns}" not found`);
    });
  }

  it('a deleted namespace shows Terminating and refuses new content with 403 until it is gone', async () => {
    // A cluster whose namespace controller takes its time, so that the checks below all see the namespace terminating.
    const slow = await startSimulatedCluster({
      name: 'nsslow',
      timing: { ...FAST_TIMING, namespaceDeleteDelayMs: 10_000 },
    });
    const k = kubectlEnv(slow.kubeconfigYaml());
    try {
      await terminating(k);
    } finally {
      await slow.close();
      k.cleanup();
    }
    expect(slow.controllerErrors).toEqual([]);
  });

  const terminating = async (k: KubectlEnv): Promise<void> => {
    const file = join(k.dir, 'term.yaml');
    writeFileSync(file, APP('term'));
    expect((await k.run(['apply', '-f', file])).code).toBe(0);
    const del = await k.run(['delete', 'namespace', 'term', '--wait=false']);
    expect(del.code).toBe(0);
    const got = await k.run(['get', 'namespace', 'term']);
    expect(tableRows(got.stdout)[1]?.slice(0, 2)).toEqual(['term', 'Terminating']);
    const nsJson = JSON.parse((await k.run(['get', 'namespace', 'term', '-o', 'json'])).stdout) as {
      metadata: { deletionTimestamp?: string };
      status: { phase: string };
    };
    expect(nsJson.status.phase).toBe('Terminating');
    expect(nsJson.metadata.deletionTimestamp).toBeTruthy();
    const create = await k.run(['create', 'configmap', 'late', '-n', 'term', '--from-literal=a=b']);
    expect(create.code).toBe(1);
    expect(create.stderr).toContain(
      'configmaps "late" is forbidden: unable to create new content in namespace term because it is being terminated',
    );
    const again = await k.run(['delete', 'namespace', 'term', '--wait=false']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(
      'The system is ensuring all content is removed from this namespace.',
    );
    const waited = await k.run(['wait', '--for=delete', 'namespace/term', '--timeout=60s'], 70_000);
    expect(waited.code).toBe(0);
    const left = await k.run(['get', 'all', '-n', 'term', '-o', 'name']);
    expect(left.stdout.trim()).toBe('');
  };

  it('client-node: deleteNamespace answers the Terminating namespace; creates get 403 ApiException; a watch sees it go', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(cluster.kubeconfigYaml());
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'cn' } } });
    await core.createNamespacedConfigMap({
      namespace: 'cn',
      body: { metadata: { name: 'one' }, data: { a: '1' } },
    });
    const seen: string[] = [];
    const gone = new Promise<void>((resolve, reject) => {
      void new k8s.Watch(kc)
        .watch(
          '/api/v1/namespaces',
          { fieldSelector: 'metadata.name=cn' },
          (type, obj: k8s.V1Namespace) => {
            seen.push(`${type}:${obj.status?.phase}`);
            if (type === 'DELETED') resolve();
          },
          (err: unknown) => (err ? reject(err as Error) : undefined),
        )
        .then((req) => gone.finally(() => req.abort()));
    });
    await core.deleteNamespace({ name: 'cn' });
    const ns = await core.readNamespace({ name: 'cn' });
    expect(ns.status?.phase).toBe('Terminating');
    expect(ns.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    let err: unknown;
    try {
      await core.createNamespacedConfigMap({
        namespace: 'cn',
        body: { metadata: { name: 'two' } },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(k8s.ApiException);
    expect((err as k8s.ApiException<unknown>).code).toBe(403);
    // Updates of what is there are still allowed while it terminates.
    await core.patchNamespacedConfigMap(
      { name: 'one', namespace: 'cn', body: { data: { a: '2' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await gone;
    expect(seen[seen.length - 1]).toBe('DELETED:Terminating');
    expect(seen).toContain('MODIFIED:Terminating');
    await expect(
      core.readNamespacedConfigMap({ name: 'one', namespace: 'cn' }),
    ).rejects.toMatchObject({ code: 404 });
  });

  it('the default namespace may not be deleted', async () => {
    const r = await k.run(['delete', 'namespace', 'default', '--wait=false']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'namespaces "default" is forbidden: this namespace may not be deleted',
    );
  });
});
