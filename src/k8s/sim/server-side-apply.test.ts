/** Server-side apply field ownership (managedFields, conflicts, --force-conflicts) with the real kubectl and client-node. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedCluster, type SimulatedCluster } from './index.js';
import { fieldSetOf, fromFieldsV1, pathString, toFieldsV1 } from './managed-fields.js';
import { FAST_TIMING, KUBECTL_132, kubectlEnv, type KubectlEnv } from './test-support.js';

const deploy = (replicas: number, image: string, extra = ''): string => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}${extra}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: ${image}
        ports: [{containerPort: 80}]
`;

interface Managed {
  manager: string;
  operation: string;
  apiVersion: string;
  subresource?: string;
  fieldsType: string;
  fieldsV1: Record<string, unknown>;
  time: string;
}

describe('server-side apply ownership with the real kubectl', () => {
  let cluster: SimulatedCluster;
  let k: KubectlEnv;
  const file = (name: string, text: string): string => {
    const p = join(k.dir, name);
    writeFileSync(p, text);
    return p;
  };
  const managed = async (name = 'web'): Promise<Managed[]> => {
    const r = await k.run(['get', 'deployment', name, '-o', 'json', '--show-managed-fields']);
    expect(r.code).toBe(0);
    return (JSON.parse(r.stdout) as { metadata: { managedFields: Managed[] } }).metadata
      .managedFields;
  };
  const spec = async (): Promise<{
    replicas: number;
    image: string;
    labels: Record<string, string>;
  }> => {
    const d = JSON.parse((await k.run(['get', 'deployment', 'web', '-o', 'json'])).stdout) as {
      metadata: { labels: Record<string, string> };
      spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
    };
    return {
      replicas: d.spec.replicas,
      image: d.spec.template.spec.containers[0]?.image,
      labels: d.metadata.labels,
    };
  };

  beforeAll(async () => {
    cluster = await startSimulatedCluster({ name: 'ssa', timing: FAST_TIMING });
    k = kubectlEnv(cluster.kubeconfigYaml());
  });

  afterAll(async () => {
    await cluster?.close();
    k?.cleanup();
    expect(cluster.controllerErrors).toEqual([]);
  });

  it('keeps managedFields for the applier (Apply) in the upstream FieldsV1 form', async () => {
    const r = await k.run([
      'apply',
      '--server-side',
      '--field-manager',
      'a',
      '-f',
      file('a.yaml', deploy(2, 'nginx:1.25')),
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('deployment.apps/web serverside-applied');
    const mf = await managed();
    expect(mf).toHaveLength(1);
    expect(mf[0]).toMatchObject({
      manager: 'a',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      fieldsType: 'FieldsV1',
    });
    expect(mf[0]?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(mf[0]?.fieldsV1).toEqual({
      'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
      'f:spec': {
        'f:replicas': {},
        'f:selector': {},
        'f:template': {
          'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
          'f:spec': {
            'f:containers': {
              'k:{"name":"app"}': {
                '.': {},
                'f:image': {},
                'f:name': {},
                'f:ports': {
                  'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} },
                },
              },
            },
          },
        },
      },
    });
    // kubectl hides them unless asked.
    const plain = await k.run(['get', 'deployment', 'web', '-o', 'yaml']);
    expect(plain.stdout).not.toContain('managedFields');
  });

  it('a second manager changing a field the first owns gets 409 Conflict listing the fields', async () => {
    const r = await k.run([
      'apply',
      '--server-side',
      '--field-manager',
      'b',
      '-f',
      file('b.yaml', deploy(3, 'nginx:1.26')),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'Apply failed with 2 conflicts: conflicts with "a":\n- .spec.replicas\n- .spec.template.spec.containers[name="app"].image',
    );
    expect(r.stderr).toContain('--force-conflicts');
    expect(await spec()).toMatchObject({ replicas: 2, image: 'nginx:1.25' });
    const one = await k.run([
      'apply',
      '--server-side',
      '--field-manager',
      'b',
      '-f',
      file('b1.yaml', deploy(3, 'nginx:1.25')),
    ]);
    expect(one.code).toBe(1);
    expect(one.stderr).toContain('Apply failed with 1 conflict: conflict with "a": .spec.replicas');
  });

  it('the same values co-own the fields without a conflict', async () => {
    const r = await k.run([
      'apply',
      '--server-side',
      '--field-manager',
      'b',
      '-f',
      file('same.yaml', deploy(2, 'nginx:1.25')),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const mf = await managed();
    expect(mf.map((e) => `${e.manager}/${e.operation}`).sort()).toEqual(['a/Apply', 'b/Apply']);
    for (const e of mf)
      expect(fromFieldsV1(e.fieldsV1).has(JSON.stringify(['f:spec', 'f:replicas']))).toBe(true);
  });

  it('--force-conflicts takes ownership; the first manager loses the fields', async () => {
    const r = await k.run([
      'apply',
      '--server-side',
      '--field-manager',
      'b',
      '--force-conflicts',
      '-f',
      file('b.yaml', deploy(3, 'nginx:1.26')),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await spec()).toMatchObject({ replicas: 3, image: 'nginx:1.26' });
    const mf = await managed();
    const a = fromFieldsV1(mf.find((e) => e.manager === 'a')?.fieldsV1);
    const b = fromFieldsV1(mf.find((e) => e.manager === 'b')?.fieldsV1);
    expect(a.has(JSON.stringify(['f:spec', 'f:replicas']))).toBe(false);
    expect(b.has(JSON.stringify(['f:spec', 'f:replicas']))).toBe(true);
    expect(
      b.has(
        JSON.stringify([
          'f:spec',
          'f:template',
          'f:spec',
          'f:containers',
          'k:{"name":"app"}',
          'f:image',
        ]),
      ),
    ).toBe(true);
    // a may now apply its other fields again without conflict, and no longer sets replicas.
    const again = await k.run([
      'apply',
      '--server-side',
      '--field-manager',
      'a',
      '-f',
      file('a.yaml', deploy(2, 'nginx:1.25')),
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('conflicts with "b":');
  });

  it('a field the applier stops applying is removed unless another manager owns it', async () => {
    const withLabel = file('l.yaml', deploy(3, 'nginx:1.26', '\n  annotations: {team: phantom}'));
    expect(
      (await k.run(['apply', '--server-side', '--field-manager', 'b', '-f', withLabel])).code,
    ).toBe(0);
    let d = JSON.parse((await k.run(['get', 'deployment', 'web', '-o', 'json'])).stdout) as {
      metadata: { annotations?: Record<string, string> };
    };
    expect(d.metadata.annotations?.team).toBe('phantom');
    expect(
      (
        await k.run([
          'apply',
          '--server-side',
          '--field-manager',
          'b',
          '-f',
          file('b.yaml', deploy(3, 'nginx:1.26')),
        ])
      ).code,
    ).toBe(0);
    d = JSON.parse((await k.run(['get', 'deployment', 'web', '-o', 'json'])).stdout) as {
      metadata: { annotations?: Record<string, string> };
    };
    expect(d.metadata.annotations?.team).toBeUndefined();
  });

  it('Update operations (kubectl scale, label) take the fields they change; the applier then conflicts with them', async () => {
    expect((await k.run(['scale', 'deployment', 'web', '--replicas=5'])).code).toBe(0);
    expect((await k.run(['label', 'deployment', 'web', 'tier=front'])).code).toBe(0);
    const mf = await managed();
    const scale = mf.find((e) => e.subresource === 'scale');
    expect(scale).toMatchObject({
      operation: 'Update',
      fieldsV1: { 'f:spec': { 'f:replicas': {} } },
    });
    const label = mf.find((e) => e.manager === 'kubectl-label');
    expect(label).toMatchObject({
      operation: 'Update',
      fieldsV1: { 'f:metadata': { 'f:labels': { 'f:tier': {} } } },
    });
    expect(
      fromFieldsV1(mf.find((e) => e.manager === 'b')?.fieldsV1).has(
        JSON.stringify(['f:spec', 'f:replicas']),
      ),
    ).toBe(false);
    const r = await k.run([
      'apply',
      '--server-side',
      '--field-manager',
      'b',
      '-f',
      file('b.yaml', deploy(3, 'nginx:1.26')),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /Apply failed with 1 conflict: conflict with "[^"]+" with subresource "scale" using apps\/v1 at \S+: \.spec\.replicas/,
    );
    const forced = await k.run([
      'apply',
      '--server-side',
      '--field-manager',
      'b',
      '--force-conflicts',
      '-f',
      file('b.yaml', deploy(3, 'nginx:1.26')),
    ]);
    expect(forced.code).toBe(0);
    expect((await spec()).replicas).toBe(3);
    expect((await spec()).labels.tier).toBe('front');
  });

  it('kubectl apply --server-side after client-side apply migrates ownership without conflicts', async () => {
    const csa = file(
      'csa.yaml',
      deploy(2, 'nginx:1.25')
        .replace(/name: web/, 'name: csa')
        .replace(/app: web/g, 'app: csa'),
    );
    expect((await k.run(['apply', '-f', csa])).code).toBe(0);
    expect((await managed('csa')).map((e) => `${e.manager}/${e.operation}`)).toEqual([
      'kubectl-client-side-apply/Update',
    ]);
    // Another manager would conflict with the client-side applier…
    const three = file(
      'csa3.yaml',
      deploy(3, 'nginx:1.25')
        .replace(/name: web/, 'name: csa')
        .replace(/app: web/g, 'app: csa'),
    );
    const other = await k.run(['apply', '--server-side', '--field-manager', 'other', '-f', three]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('conflict with "kubectl-client-side-apply"');
    // …kubectl itself takes over what its last-applied-configuration recorded, and rewrites managedFields.
    const ssa = await k.run([
      'apply',
      '--server-side',
      '-f',
      file(
        'csa2.yaml',
        deploy(3, 'nginx:1.26')
          .replace(/name: web/, 'name: csa')
          .replace(/app: web/g, 'app: csa'),
      ),
    ]);
    expect(ssa.stderr).toBe('');
    expect(ssa.code).toBe(0);
    const mf = await managed('csa');
    expect(mf.map((e) => e.manager)).not.toContain('kubectl-client-side-apply');
    expect(mf.find((e) => e.manager === 'kubectl')?.operation).toBe('Apply');
    const d = JSON.parse((await k.run(['get', 'deployment', 'csa', '-o', 'json'])).stdout) as {
      spec: { replicas: number };
    };
    expect(d.spec.replicas).toBe(3);
  });

  it('kubectl 1.32 reports the same conflict', async () => {
    const r = await k.run(
      [
        'apply',
        '--server-side',
        '--field-manager',
        'c',
        '-f',
        file('c.yaml', deploy(4, 'nginx:1.26')),
      ],
      20_000,
      KUBECTL_132,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Apply failed with 1 conflict: conflict with "b": .spec.replicas');
  });
});

describe('server-side apply ownership with client-node', () => {
  let cluster: SimulatedCluster;
  let apps: k8s.AppsV1Api;

  beforeAll(async () => {
    cluster = await startSimulatedCluster({ name: 'ssa-cn', timing: FAST_TIMING });
    const kc = new k8s.KubeConfig();
    kc.loadFromString(cluster.kubeconfigYaml());
    apps = kc.makeApiClient(k8s.AppsV1Api);
  });

  afterAll(async () => {
    await cluster?.close();
    expect(cluster.controllerErrors).toEqual([]);
  });

  const body = (replicas: number): k8s.V1Deployment => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: { containers: [{ name: 'app', image: 'api:1' }] },
      },
    },
  });
  const apply = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);

  it('a create records an Update entry; an apply by another manager conflicts with it (409 with causes), force=true wins', async () => {
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: body(2),
      fieldManager: 'phantom',
    });
    const created = await apps.readNamespacedDeployment({ name: 'api', namespace: 'default' });
    expect(created.metadata?.managedFields?.map((e) => [e.manager, e.operation])).toEqual([
      ['phantom', 'Update'],
    ]);
    let err: unknown;
    try {
      await apps.patchNamespacedDeployment(
        { name: 'api', namespace: 'default', body: body(4), fieldManager: 'ops' },
        apply,
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(k8s.ApiException);
    const e = err as k8s.ApiException<string>;
    expect(e.code).toBe(409);
    const status = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as {
      reason: string;
      message: string;
      details: { causes: { reason: string; field: string; message: string }[] };
    };
    expect(status.reason).toBe('Conflict');
    expect(status.message).toMatch(
      /^Apply failed with 1 conflict: conflict with "phantom" using apps\/v1 at \S+: \.spec\.replicas$/,
    );
    expect(status.details.causes).toEqual([
      {
        reason: 'FieldManagerConflict',
        field: '.spec.replicas',
        message: expect.stringMatching(/^conflict with "phantom" using apps\/v1/),
      },
    ]);
    const forced = await apps.patchNamespacedDeployment(
      { name: 'api', namespace: 'default', body: body(4), fieldManager: 'ops', force: true },
      apply,
    );
    expect(forced.spec?.replicas).toBe(4);
    // Phantom's own merge patches are Updates: never a conflict, they take the field back.
    const merged = await apps.patchNamespacedDeployment(
      {
        name: 'api',
        namespace: 'default',
        body: { spec: { replicas: 1 } },
        fieldManager: 'phantom',
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(merged.spec?.replicas).toBe(1);
    const owners = merged.metadata?.managedFields ?? [];
    const ops = owners.find((x) => x.manager === 'ops');
    expect(fromFieldsV1(ops?.fieldsV1).has(JSON.stringify(['f:spec', 'f:replicas']))).toBe(false);
  });

  it('a write that changes nothing keeps the resourceVersion', async () => {
    // The simulated controllers may write the status between the read and the patch: try again
    // until a read and the no-op patch after it see the same object (a patch that bumped the
    // resourceVersion would never pass).
    await expect
      .poll(
        async () => {
          const before = await apps.readNamespacedDeployment({ name: 'api', namespace: 'default' });
          const after = await apps.patchNamespacedDeployment(
            {
              name: 'api',
              namespace: 'default',
              body: { spec: { replicas: 1 } },
              fieldManager: 'phantom',
            },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
          );
          return after.metadata?.resourceVersion === before.metadata?.resourceVersion;
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe(true);
  });

  it('managedFields sent with a write replace the live ones; [{}] clears them', async () => {
    const live = await apps.readNamespacedDeployment({ name: 'api', namespace: 'default' });
    expect(live.metadata?.managedFields?.length).toBeGreaterThan(0);
    const json = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);
    const cleared = await apps.patchNamespacedDeployment(
      {
        name: 'api',
        namespace: 'default',
        body: [{ op: 'replace', path: '/metadata/managedFields', value: [{}] }],
      },
      json,
    );
    expect(cleared.metadata?.managedFields).toBeUndefined();
    // An update without managedFields (or with []) does not lose the others' entries.
    const merged = await apps.patchNamespacedDeployment(
      {
        name: 'api',
        namespace: 'default',
        body: { metadata: { labels: { x: '1' }, managedFields: [] } },
        fieldManager: 'labeler',
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(merged.metadata?.managedFields?.map((e) => e.manager)).toEqual(['labeler']);
  });

  it('force is refused on a non-apply patch', async () => {
    await expect(
      apps.patchNamespacedDeployment(
        { name: 'api', namespace: 'default', body: { spec: { replicas: 1 } }, force: true },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      ),
    ).rejects.toMatchObject({ code: 422 });
  });
});

describe('field sets', () => {
  it('round-trip through FieldsV1 and print paths like structured-merge-diff', () => {
    const set = fieldSetOf({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'x', labels: { a: '1' }, finalizers: ['f'] },
      spec: { selector: { app: 'x' }, ports: [{ port: 80 }] },
      status: { loadBalancer: {} },
    });
    const v1 = toFieldsV1(set);
    expect(v1).toEqual({
      'f:metadata': {
        'f:finalizers': { '.': {}, 'v:"f"': {} },
        'f:labels': { '.': {}, 'f:a': {} },
      },
      'f:spec': {
        'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {} } },
        'f:selector': { '.': {}, 'f:app': {} },
      },
    });
    expect([...fromFieldsV1(v1).keys()].sort()).toEqual([...set.keys()].sort());
    expect(pathString(['f:spec', 'f:ports', 'k:{"port":80,"protocol":"TCP"}', 'f:port'])).toBe(
      '.spec.ports[port=80,protocol="TCP"].port',
    );
    expect(pathString(['f:metadata', 'f:finalizers', 'v:"f"'])).toBe('.metadata.finalizers[="f"]');
  });
});
