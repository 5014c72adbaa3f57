/** `/openapi/v2` (gnostic protobuf): kubectl validates and applies `kind: List` files. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedCluster, type SimulatedCluster } from './index.js';
import { OPENAPI_V2_PROTOBUF } from './openapi-v2.js';
import { FAST_TIMING, KUBECTL_132, kubectlEnv, type KubectlEnv } from './test-support.js';

const APP = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  labels: {app: shop}
spec:
  replicas: 2
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
      - name: app
        image: shop:1
        ports: [{containerPort: 8080}]
        env: [{name: MODE, value: prod}]
        resources: {limits: {cpu: 500m, memory: 128Mi}}
---
apiVersion: v1
kind: Service
metadata:
  name: shop
spec:
  selector: {app: shop}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop
data: {a: "1"}
`;

describe('/openapi/v2 with the real kubectl', () => {
  let cluster: SimulatedCluster;
  let k: KubectlEnv;

  beforeAll(async () => {
    cluster = await startSimulatedCluster({ name: 'oapi2', timing: FAST_TIMING });
    k = kubectlEnv(cluster.kubeconfigYaml());
    writeFileSync(join(k.dir, 'app.yaml'), APP);
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
    it(`${label}: apply -f of a kind: List written by get -o yaml validates and applies`, async () => {
      expect((await k.run(['apply', '-f', join(k.dir, 'app.yaml')], 20_000, binary)).code).toBe(0);
      const got = await k.run(
        ['get', 'deploy,svc,cm', '-l', '', '--field-selector', 'metadata.name=shop', '-o', 'yaml'],
        20_000,
        binary,
      );
      expect(got.code).toBe(0);
      expect(got.stdout).toMatch(/^apiVersion: v1\nitems:/);
      expect(got.stdout).toContain('kind: List');
      const list = join(k.dir, `list-${binary ? '132' : '133'}.yaml`);
      writeFileSync(list, got.stdout);
      const del = await k.run(['delete', 'deploy/shop', 'svc/shop', 'cm/shop'], 30_000, binary);
      expect(del.code).toBe(0);
      const applied = await k.run(['apply', '-f', list], 20_000, binary);
      expect(applied.stderr).toBe('');
      expect(applied.code).toBe(0);
      expect(applied.stdout).toContain('deployment.apps/shop created');
      expect(applied.stdout).toContain('service/shop created');
      expect(applied.stdout).toContain('configmap/shop created');
      const back = await k.run(
        ['get', 'deploy/shop', 'svc/shop', 'cm/shop', '-o', 'name'],
        20_000,
        binary,
      );
      expect(back.stdout.trim().split('\n')).toEqual([
        'deployment.apps/shop',
        'service/shop',
        'configmap/shop',
      ]);
    });
  }

  it('an unknown field in a List item is a validation error naming it (strict validation)', async () => {
    const got = await k.run(['get', 'deploy', 'shop', '-o', 'yaml']);
    const list = `apiVersion: v1\nkind: List\nitems:\n${got.stdout
      .replace('  replicas: 2\n', '  replicas: 2\n  bogusField: true\n')
      // No resourceVersion: the controllers may have moved the object on since the get.
      .replace(/\n {2}resourceVersion: "\d+"/, '')
      .split('\n')
      .map((l) => (l ? `  ${l}` : l))
      .join('\n')
      .replace(/^ {2}apiVersion/, '- apiVersion')}`;
    const file = join(k.dir, 'bad-list.yaml');
    writeFileSync(file, list);
    expect(readFileSync(file, 'utf8')).toContain('bogusField');
    const r = await k.run(['apply', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error validating data');
    expect(r.stderr).toContain('unknown field "bogusField"');
    const lax = await k.run(['apply', '--validate=false', '-f', file]);
    expect(lax.code).toBe(0);
  });

  it('serves JSON by default and the gnostic protobuf when asked', async () => {
    const json = await fetch(`${cluster.url}/openapi/v2`);
    expect(json.headers.get('content-type')).toBe('application/json');
    const doc = (await json.json()) as {
      swagger: string;
      definitions: Record<
        string,
        { 'x-kubernetes-group-version-kind'?: unknown[]; properties?: Record<string, unknown> }
      >;
    };
    expect(doc.swagger).toBe('2.0');
    const deployment = Object.values(doc.definitions).find((d) =>
      (d['x-kubernetes-group-version-kind'] ?? []).some(
        (g) =>
          JSON.stringify(g) ===
          JSON.stringify({ group: 'apps', version: 'v1', kind: 'Deployment' }),
      ),
    );
    expect(Object.keys(deployment?.properties ?? {}).sort()).toEqual([
      'apiVersion',
      'kind',
      'metadata',
      'spec',
      'status',
    ]);
    const pb = await fetch(`${cluster.url}/openapi/v2`, {
      headers: { Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' },
    });
    expect(pb.headers.get('content-type')).toBe(OPENAPI_V2_PROTOBUF);
    const body = Buffer.from(await pb.arrayBuffer());
    // Field 1 (swagger, length-delimited): tag 0x0a, length 3, "2.0".
    expect([...body.subarray(0, 5)]).toEqual([0x0a, 3, 0x32, 0x2e, 0x30]);
  });
});
