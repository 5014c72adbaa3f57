/**
 * The kubectl commands of issue 12 that failed against the simulator, with the real kubectl
 * (the machine's `kubectl` picks the binary matching the server, v1.33; `kubectl.1.32` is
 * v1.32 explicitly where the two differ) and with client-node.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  AutoscalingV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  KubeConfig,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedCluster, type SimulatedCluster } from './index.js';
import {
  eventually,
  FAST_TIMING,
  KUBECTL,
  KUBECTL_132,
  kubectlEnv,
  tableRows,
  type KubectlEnv,
} from './test-support.js';

const BOGUS = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: bogus}
spec:
  bogusField: true
  selector: {matchLabels: {app: bogus}}
  template:
    metadata: {labels: {app: bogus}}
    spec:
      containers:
      - {name: app, image: nginx:1.25, colour: blue}
`;

const CONFIG = `
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data:
  LOG_LEVEL: debug
  app.properties: |
    a=1
binaryData:
  blob: AAEC
---
apiVersion: v1
kind: Secret
metadata: {name: app-secret}
type: Opaque
stringData:
  password: hunter2
data:
  user: YWRtaW4=
`;

describe('kubectl items of issue 12 against the simulated cluster', () => {
  let cluster: SimulatedCluster;
  let k: KubectlEnv;
  let core: CoreV1Api;
  let kc: KubeConfig;
  const run132 = (args: string[]) => k.run(args, 20_000, KUBECTL_132);

  beforeAll(async () => {
    expect(existsSync(KUBECTL)).toBe(true);
    cluster = await startSimulatedCluster({ name: 'fidelity', timing: FAST_TIMING });
    k = kubectlEnv(cluster.kubeconfigYaml());
    writeFileSync(join(k.dir, 'config.yaml'), CONFIG);
    writeFileSync(join(k.dir, 'bogus.yaml'), BOGUS);
    kc = new KubeConfig();
    kc.loadFromString(cluster.kubeconfigYaml());
    core = kc.makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await cluster?.close();
    k?.cleanup();
    expect(cluster.controllerErrors).toEqual([]);
  });

  it('4: ConfigMaps and Secrets: create (protobuf), apply, get, Secret data base64 with stringData merged', async () => {
    const cm = await k.run([
      'create',
      'configmap',
      'cfg',
      '--from-literal=a=1',
      '--from-literal=b=2',
    ]);
    expect([cm.stderr, cm.stdout.trim()]).toEqual(['', 'configmap/cfg created']);
    const sec = await k.run([
      'create',
      'secret',
      'generic',
      'pw',
      '--from-literal=password=s3cret',
    ]);
    expect([sec.stderr, sec.stdout.trim()]).toEqual(['', 'secret/pw created']);
    const applied = await k.run(['apply', '-f', join(k.dir, 'config.yaml')]);
    expect([applied.stderr, applied.stdout.trim().split('\n')]).toEqual([
      '',
      ['configmap/app-config created', 'secret/app-secret created'],
    ]);

    const cms = tableRows((await k.run(['get', 'configmaps'])).stdout);
    expect(cms.map((r) => r.slice(0, 2))).toEqual([
      ['NAME', 'DATA'],
      ['app-config', '3'],
      ['cfg', '2'],
    ]);
    const secrets = tableRows((await k.run(['get', 'secrets'])).stdout);
    expect(secrets.map((r) => r.slice(0, 3))).toEqual([
      ['NAME', 'TYPE', 'DATA'],
      ['app-secret', 'Opaque', '2'],
      ['pw', 'Opaque', '1'],
    ]);
    expect((await k.run(['get', 'cm', 'cfg', '-o', 'jsonpath={.data.b}'])).stdout).toBe('2');
    expect((await k.run(['get', 'secret', 'pw', '-o', 'jsonpath={.data.password}'])).stdout).toBe(
      Buffer.from('s3cret').toString('base64'),
    );

    // client-node: stringData was merged into data (base64) and is not stored.
    const s = await core.readNamespacedSecret({ name: 'app-secret', namespace: 'default' });
    expect([s.type, s.data, s.stringData]).toEqual([
      'Opaque',
      { user: 'YWRtaW4=', password: Buffer.from('hunter2').toString('base64') },
      undefined,
    ]);
    const c = await core.readNamespacedConfigMap({ name: 'app-config', namespace: 'default' });
    expect([c.data?.LOG_LEVEL, c.binaryData]).toEqual(['debug', { blob: 'AAEC' }]);

    // As the apiserver: data that is not base64 is a 400 (decoding), a bad key a 422 (validation).
    await expect(
      core.createNamespacedSecret({
        namespace: 'default',
        body: { metadata: { name: 'bad' }, data: { x: 'not base64!' } },
      }),
    ).rejects.toMatchObject({
      code: 400,
      body: expect.stringContaining('illegal base64 data at input byte 3'),
    });
    await expect(
      core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: 'bad' }, data: { 'a b': '1' } },
      }),
    ).rejects.toMatchObject({
      code: 422,
      body: expect.stringContaining('a valid config key must consist of alphanumeric characters'),
    });

    const del = await k.run(['delete', '-f', join(k.dir, 'config.yaml')]);
    expect(del.stdout.trim().split('\n')).toEqual([
      'configmap "app-config" deleted',
      'secret "app-secret" deleted',
    ]);
  });

  it('6: auth can-i (and --list) says yes, auth whoami names the kubeconfig user, with kubectl 1.33 and 1.32', async () => {
    for (const run of [(a: string[]) => k.run(a), run132]) {
      const can = await run(['auth', 'can-i', 'create', 'deployments']);
      expect([can.code, can.stdout.trim()]).toEqual([0, 'yes']);
      expect(
        (await run(['auth', 'can-i', 'delete', 'secrets', '-n', 'kube-system'])).stdout.trim(),
      ).toBe('yes');
      const list = tableRows((await run(['auth', 'can-i', '--list'])).stdout);
      expect(list[1]).toEqual(['*.*', '[]', '[]', '[*]']);
      const who = await run(['auth', 'whoami', '-o', 'json']);
      expect(who.stderr).toBe('');
      expect(JSON.parse(who.stdout)).toMatchObject({
        kind: 'SelfSubjectReview',
        apiVersion: 'authentication.k8s.io/v1',
        status: { userInfo: { username: 'fidelity' } },
      });
      expect(
        JSON.parse(
          (await run(['--as', 'alice', '--as-group', 'devs', 'auth', 'whoami', '-o', 'json']))
            .stdout,
        ).status.userInfo,
      ).toEqual({ username: 'alice', groups: ['devs', 'system:authenticated'] });
    }
    // client-node sends the kubeconfig's impersonation too.
    const who = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    expect(who.status?.userInfo?.username).toBe('fidelity');
    const review = await kc.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
      body: {
        spec: { resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'default' } },
      },
    });
    expect([review.status?.allowed, review.spec.resourceAttributes?.resource]).toEqual([
      true,
      'pods',
    ]);
  });

  it('7: kubectl 1.32 autoscale posts autoscaling/v1 (protobuf); both versions serve the same HPA', async () => {
    expect((await k.run(['create', 'deployment', 'scaled', '--image=nginx:1.27'])).code).toBe(0);
    const v132 = await run132([
      'autoscale',
      'deployment',
      'scaled',
      '--min=2',
      '--max=4',
      '--cpu-percent=60',
    ]);
    expect([v132.stderr, v132.stdout.trim()]).toEqual([
      '',
      'horizontalpodautoscaler.autoscaling/scaled autoscaled',
    ]);
    const v1 = JSON.parse(
      (await k.run(['get', 'horizontalpodautoscalers.v1.autoscaling', 'scaled', '-o', 'json']))
        .stdout,
    );
    expect([v1.apiVersion, v1.spec]).toEqual([
      'autoscaling/v1',
      {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'scaled' },
        minReplicas: 2,
        maxReplicas: 4,
        targetCPUUtilizationPercentage: 60,
      },
    ]);
    const v2 = JSON.parse(
      (await k.run(['get', 'horizontalpodautoscalers.v2.autoscaling', 'scaled', '-o', 'json']))
        .stdout,
    );
    expect(v2.spec.metrics).toEqual([
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } },
      },
    ]);

    // client-node through both versions; a v1 update keeps the object one.
    const as1 = kc.makeApiClient(AutoscalingV1Api);
    const read = await as1.readNamespacedHorizontalPodAutoscaler({
      name: 'scaled',
      namespace: 'default',
    });
    read.spec!.maxReplicas = 5;
    const replaced = await as1.replaceNamespacedHorizontalPodAutoscaler({
      name: 'scaled',
      namespace: 'default',
      body: read,
    });
    expect([replaced.spec?.maxReplicas, replaced.spec?.targetCPUUtilizationPercentage]).toEqual([
      5, 60,
    ]);
    const viaV2 = await kc
      .makeApiClient(AutoscalingV2Api)
      .readNamespacedHorizontalPodAutoscaler({ name: 'scaled', namespace: 'default' });
    expect([viaV2.metadata?.uid, viaV2.spec?.maxReplicas]).toEqual([read.metadata?.uid, 5]);
    const created = await as1.createNamespacedHorizontalPodAutoscaler({
      namespace: 'default',
      body: {
        metadata: { name: 'plain' },
        spec: {
          scaleTargetRef: { kind: 'Deployment', name: 'scaled', apiVersion: 'apps/v1' },
          maxReplicas: 3,
        },
      },
    });
    expect(created.spec?.targetCPUUtilizationPercentage).toBe(80); // the v2 default metric, seen through v1
    expect(tableRows((await k.run(['get', 'hpa'])).stdout).map((r) => r[0])).toEqual([
      'NAME',
      'plain',
      'scaled',
    ]);
  });

  it('5: paging: limit and continue (kubectl --chunk-size, client-node), remainingItemCount, 410 for an expired token', async () => {
    expect((await k.run(['create', 'namespace', 'paged'])).code).toBe(0);
    const names = Array.from({ length: 120 }, (_, i) => `cm-${String(i).padStart(3, '0')}`);
    for (const name of names)
      await core.createNamespacedConfigMap({
        namespace: 'paged',
        body: { metadata: { name }, data: { i: name } },
      });

    // client-node, page by page.
    const seen: string[] = [];
    let token: string | undefined;
    const pages: { n: number; remaining?: number; rv?: string }[] = [];
    do {
      const l = await core.listNamespacedConfigMap({
        namespace: 'paged',
        limit: 50,
        _continue: token,
      });
      seen.push(...l.items.map((c) => c.metadata!.name!));
      pages.push({
        n: l.items.length,
        remaining: l.metadata?.remainingItemCount,
        rv: l.metadata?.resourceVersion,
      });
      token = l.metadata?._continue;
    } while (token);
    expect(seen).toEqual(names);
    expect(pages.map((p) => [p.n, p.remaining])).toEqual([
      [50, 70],
      [50, 20],
      [20, undefined],
    ]);
    expect(new Set(pages.map((p) => p.rv)).size).toBe(1); // every page names the first page's resourceVersion

    // kubectl asks in chunks and prints them all, with one header.
    const chunked = await k.run([
      'get',
      'configmaps',
      '-n',
      'paged',
      '--chunk-size=50',
      '-o',
      'name',
    ]);
    expect(chunked.stdout.trim().split('\n')).toEqual(names.map((n) => `configmap/${n}`));
    const verbose = await k.run(['get', 'configmaps', '-n', 'paged', '--chunk-size=50', '-v=6']);
    expect((verbose.stderr.match(/url="[^"]+\/configmaps\?[^"]*limit=50"/g) ?? []).length).toBe(3);
    expect(tableRows(verbose.stdout).length).toBe(121);

    // A token whose resourceVersion left the history: 410 Expired; a malformed one: 400.
    const first = await core.listNamespacedConfigMap({ namespace: 'paged', limit: 10 });
    await core.createNamespacedConfigMap({
      namespace: 'paged',
      body: { metadata: { name: 'later' } },
    });
    cluster.compactWatchHistory();
    await expect(
      core.listNamespacedConfigMap({
        namespace: 'paged',
        limit: 10,
        _continue: first.metadata!._continue,
      }),
    ).rejects.toMatchObject({ code: 410, body: expect.stringContaining('"reason":"Expired"') });
    await expect(
      core.listNamespacedConfigMap({ namespace: 'paged', limit: 10, _continue: 'bogus' }),
    ).rejects.toMatchObject({ code: 400 });
  });

  it('3: fieldValidation: Strict refuses unknown fields with their paths, Warn warns and drops them, Ignore drops them', async () => {
    const file = join(k.dir, 'bogus.yaml');
    for (const run of [(a: string[]) => k.run(a), run132]) {
      const strict = await run(['apply', '-f', file]);
      expect(strict.code).toBe(1);
      expect(strict.stderr).toContain(
        'strict decoding error: unknown field "spec.bogusField", unknown field "spec.template.spec.containers[0].colour"',
      );
      const created = await run(['create', '-f', file]);
      expect(created.code).toBe(1);
      expect(created.stderr).toContain('unknown field "spec.bogusField"');
    }
    const warn = await k.run(['apply', '--validate=warn', '-f', file]);
    expect(warn.code).toBe(0);
    expect(warn.stderr).toContain('Warning: unknown field "spec.bogusField"');
    expect(warn.stderr).toContain(
      'Warning: unknown field "spec.template.spec.containers[0].colour"',
    );
    const stored = JSON.parse((await k.run(['get', 'deployment', 'bogus', '-o', 'json'])).stdout);
    expect([stored.spec.bogusField, stored.spec.template.spec.containers[0].colour]).toEqual([
      undefined,
      undefined,
    ]);
    expect((await k.run(['delete', 'deployment', 'bogus'])).code).toBe(0);
    const ignore = await k.run(['apply', '--validate=false', '-f', file]);
    expect([ignore.code, ignore.stderr]).toEqual([0, '']);

    // Raw JSON (client-node's serializer drops unknown fields itself): Warn, the default, answers Warning headers.
    const post = (qs: string) =>
      fetch(`${cluster.url}/api/v1/namespaces/default/configmaps${qs}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ metadata: { name: `fv${qs.length}` }, data: { a: '1' }, extra: 1 }),
      });
    const warned = await post('');
    expect([
      warned.status,
      warned.headers.get('warning'),
      ((await warned.json()) as { extra?: number }).extra,
    ]).toEqual([201, '299 - "unknown field \\"extra\\""', undefined]);
    const refused = await post('?fieldValidation=Strict');
    expect([refused.status, ((await refused.json()) as { message: string }).message]).toEqual([
      400,
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "extra"',
    ]);
  });

  it('2: kubectl explain finds the served kinds in /openapi/v3, with fields and types from client-node models', async () => {
    for (const run of [(a: string[]) => k.run(a), run132]) {
      const d = await run(['explain', 'deployment']);
      expect(d.stderr).toBe('');
      expect(d.stdout).toMatch(/GROUP:\s+apps\nKIND:\s+Deployment\nVERSION:\s+v1/);
      expect(d.stdout).toMatch(/metadata\t<ObjectMeta>/);
      expect(d.stdout).toMatch(/spec\t<DeploymentSpec>/);
      const t = await run(['explain', 'deployment.spec.template.spec.containers']);
      expect(t.stdout).toMatch(/FIELD: containers <\[\]Container>/);
      expect(t.stdout).toMatch(/image\t<string>/);
      expect(t.stdout).toMatch(/ports\t<\[\]ContainerPort>/);
    }
    expect((await k.run(['explain', 'deployment.spec.replicas'])).stdout).toMatch(
      /FIELD: replicas <integer>/,
    );
    expect((await k.run(['explain', 'secret.data'])).stdout).toMatch(
      /FIELD: data <map\[string\]string>/,
    );
    const hpa = await run132([
      'explain',
      'horizontalpodautoscalers.spec',
      '--api-version=autoscaling/v1',
    ]);
    expect(hpa.stdout).toMatch(/targetCPUUtilizationPercentage\t<integer>/);
    expect((await k.run(['explain', 'deployment.spec.bogus'])).stderr).toContain(
      'field "bogus" does not exist',
    );
  });

  it('9: logs -f follows the container until the pod is deleted', async () => {
    expect((await k.run(['create', 'deployment', 'tail', '--image=nginx:1.27'])).code).toBe(0);
    expect((await k.run(['rollout', 'status', 'deployment/tail', '--timeout=20s'])).code).toBe(0);
    const pod = (
      await k.run(['get', 'pods', '-l', 'app=tail', '-o', 'jsonpath={.items[0].metadata.name}'])
    ).stdout;
    const follow = k.spawn(['logs', '-f', pod]);
    let out = '';
    follow.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => follow.on('exit', (code) => r(code)));
    await eventually(() => out.includes('[sim] listening'));
    // Still following: a plain `logs` would have exited by now (its request is answered at once).
    expect(follow.exitCode).toBeNull();
    expect((await k.run(['delete', 'pod', pod, '--wait=false'])).code).toBe(0);
    expect(await exited).toBe(0);
    expect(out).toContain('container nginx started (image nginx:1.27)');
  });
});
