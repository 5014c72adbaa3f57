/**
 * Issue 9, deployment: deploy/ renders with kubectl's built-in kustomize, every setting it
 * sets is one Phantom reads and accepts, the probes point at the real endpoints, and the
 * rendered objects pass a server-side dry run against the simulated API server for the kinds
 * it serves (the others are named, not silently dropped).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTING_NAMES, loadConfig } from '../../src/config.js';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/k8s/sim/index.js';
import { resourceByKind } from '../../src/k8s/sim/resources.js';
import { parseSimArgs } from '../../src/k8s/sim-command.js';
import {
  FAST_TIMING,
  KUBECTL,
  kubectlEnv,
  type KubectlEnv,
} from '../../src/k8s/sim/test-support.js';

const run = promisify(execFile);
const OVERLAY = join(import.meta.dirname, '../../deploy/overlays/external');

describe('deploy/ (kustomize)', () => {
  let rendered = '';
  let objects: any[] = [];
  let cluster: SimulatedCluster;
  let k: KubectlEnv;

  beforeAll(async () => {
    rendered = (await run(KUBECTL, ['kustomize', OVERLAY], { maxBuffer: 10 << 20 })).stdout;
    objects = parseAllDocuments(rendered)
      .map((d) => d.toJS())
      .filter(Boolean);
    cluster = await startSimulatedCluster({ name: 'deploy', timing: FAST_TIMING });
    k = kubectlEnv(cluster.kubeconfigYaml());
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
    k?.cleanup();
  });

  const named = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name.startsWith(name));

  it('renders the API, worker, service, HPA, PDB, migration Job, config and secrets', () => {
    const kinds = objects
      .map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`)
      .sort();
    expect(kinds).toEqual([
      'ConfigMap/phantom-config',
      'Deployment/phantom-api',
      'Deployment/phantom-worker',
      'HorizontalPodAutoscaler/phantom-api',
      'Job/phantom-migrate',
      'Namespace/phantom',
      'PodDisruptionBudget/phantom-api',
      'Secret/phantom-kubeconfig',
      'Secret/phantom-secrets',
      'Service/phantom-api',
    ]);
    for (const o of objects.filter((o) => o.kind !== 'Namespace'))
      expect(o.metadata.namespace).toBe('phantom');
  });

  it('sets only settings Phantom reads, with values it accepts, for the API and the worker', () => {
    const config = named('ConfigMap', 'phantom-config').data as Record<string, string>;
    const secret = Object.fromEntries(
      Object.entries(named('Secret', 'phantom-secrets').data as Record<string, string>).map(
        ([key, v]) => [key, Buffer.from(v, 'base64').toString()],
      ),
    );
    const known = new Set([...SETTING_NAMES, 'NODE_ENV']);
    for (const [deployment, role] of [
      ['phantom-api', 'api'],
      ['phantom-worker', 'worker'],
    ] as const) {
      const c = named('Deployment', deployment).spec.template.spec.containers[0];
      const env = {
        ...config,
        ...secret,
        ...Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value])),
      };
      for (const key of Object.keys(env))
        expect(known.has(key), `${deployment}: ${key} is not a Phantom setting`).toBe(true);
      const parsed = loadConfig(env);
      expect(parsed.migrateOnStart).toBe(false);
      expect(parsed.embeddedClusters).toBe(false);
      expect(parsed.databaseUrl).toMatch(/^mysql:/);
      expect(parsed.redisUrl).toMatch(/^redis:/);
      if (role === 'api') expect(parsed.roles).toEqual({ api: true, worker: false });
      expect(c.command.slice(0, 2)).toEqual(['node', 'dist/cli.js']);
      expect(c.command[2]).toBe(role === 'api' ? 'serve' : 'worker');
      // envFrom references resolve to the rendered (hash-suffixed) objects.
      const refs = c.envFrom.map((f: any) => f.configMapRef?.name ?? f.secretRef?.name);
      for (const ref of refs) expect(objects.some((o) => o.metadata.name === ref)).toBe(true);
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
    }
    expect(named('Job', 'phantom-migrate').spec.template.spec.containers[0].command).toEqual([
      'node',
      'dist/cli.js',
      'migrate',
    ]);
  });

  it('passes a server-side dry run on the simulated API server for the kinds it serves, and persists nothing', async () => {
    const ns = await k.run(['create', 'namespace', 'phantom']);
    expect(ns.code).toBe(0);
    const served = objects.filter(
      (o) => o.kind !== 'Namespace' && resourceByKind(o.apiVersion, o.kind),
    );
    const skipped = objects
      .filter((o) => o.kind !== 'Namespace' && !resourceByKind(o.apiVersion, o.kind))
      .map((o) => o.kind);
    // What the simulator does not serve is named here, so a kind it learns moves into the dry run.
    expect(skipped).toEqual(['PodDisruptionBudget']);
    expect(served.map((o) => o.kind)).toEqual(
      expect.arrayContaining([
        'Deployment',
        'Service',
        'HorizontalPodAutoscaler',
        'ConfigMap',
        'Secret',
        'Job',
      ]),
    );
    const file = join(k.dir, 'served.yaml');
    writeFileSync(file, served.map((o) => JSON.stringify(o)).join('\n---\n'));
    const r = await k.run(['apply', '--dry-run=server', '-f', file], 30_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const o of served)
      expect(r.stdout).toContain(`${o.metadata.name} created (server dry run)`);
    const left = await k.run([
      'get',
      'deployments,services,configmaps,secrets,hpa',
      '-n',
      'phantom',
      '-o',
      'name',
    ]);
    expect(left.code).toBe(0);
    expect(left.stdout.split('\n').filter((l) => l && !l.includes('kube-root-ca'))).toEqual([]);
  }, 60_000);

  it('a Secret whose base64 is wrapped over lines (as kustomize writes it) is stored as its bytes', async () => {
    const secret = named('Secret', 'phantom-kubeconfig');
    expect(secret.data.config).toContain('\n');
    const file = join(k.dir, 'secret.yaml');
    writeFileSync(file, JSON.stringify(secret));
    const r = await k.run(['apply', '-f', file]);
    expect(r.stderr).toBe('');
    const got = JSON.parse(
      (await k.run(['get', 'secret', secret.metadata.name, '-n', 'phantom', '-o', 'json'])).stdout,
    );
    expect(got.data.config).not.toMatch(/\s/);
    expect(Buffer.from(got.data.config, 'base64').toString()).toBe(
      Buffer.from(secret.data.config.replace(/\n/g, ''), 'base64').toString(),
    );
    expect(Buffer.from(got.data.config, 'base64').toString()).toContain('kind: Config');
  }, 30_000);
});

/**
 * No Docker daemon runs on these machines, so the image and compose file are not built here;
 * what can be checked without one is: every setting compose passes is valid for its command,
 * the sim's arguments parse, and what the Dockerfile copies exists after `npm run build`.
 */
describe('compose.yaml and Dockerfile', () => {
  const ROOT = join(import.meta.dirname, '../..');
  const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true });

  it('runs migrate, api, worker and a simulated cluster with settings Phantom accepts', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'api',
      'mariadb',
      'migrate',
      'redis',
      'sim',
      'worker',
    ]);
    const known = new Set(SETTING_NAMES);
    for (const name of ['api', 'worker', 'migrate']) {
      const svc = compose.services[name];
      for (const key of Object.keys(svc.environment))
        expect(known.has(key), `${name}: ${key}`).toBe(true);
      const env = Object.fromEntries(
        Object.entries(svc.environment).map(([k, v]) => [
          k,
          String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/, '$1'),
        ]),
      );
      const config = loadConfig(env);
      expect(config.databaseUrl).toMatch(/@mariadb:3306\//);
      if (name !== 'migrate') {
        expect(config.redisUrl).toBe('redis://redis:6379');
        expect(config.migrateOnStart).toBe(false);
        expect(svc.depends_on.migrate.condition).toBe('service_completed_successfully');
        // The kubeconfig the sim writes is where the API and worker read it.
        expect(svc.volumes).toContain('kube:/etc/phantom:ro');
        expect(config.kubeconfigPath).toBe('/etc/phantom/kubeconfig');
      }
    }
    expect(compose.services.api.command).toEqual(['node', 'dist/cli.js', 'serve']);
    expect(loadConfig(compose.services.api.environment).roles).toEqual({
      api: true,
      worker: false,
    });
    expect(compose.services.worker.command).toEqual(['node', 'dist/cli.js', 'worker']);
    const sim = compose.services.sim.command as string[];
    expect(sim.slice(0, 3)).toEqual(['node', 'dist/cli.js', 'sim']);
    const args = parseSimArgs(sim.slice(3));
    expect(args).toMatchObject({
      host: '0.0.0.0',
      advertiseUrl: 'http://sim:6443',
      kubeconfig: '/kube/kubeconfig',
    });
    expect(compose.services.sim.volumes).toContain('kube:/kube');
  });

  it('the Dockerfile builds from files that exist and runs dist/cli.js as a non-root user', () => {
    const df = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    for (const m of df.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1].split(/\s+/)) expect(existsSync(join(ROOT, src)), src).toBe(true);
    }
    expect(df).toMatch(/^USER node$/m);
    expect(df).toMatch(/^CMD \["node", "dist\/cli.js", "serve"\]$/m);
    expect(df).toContain('npm run build');
    const engines = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines
      .node as string;
    const nodeMajor = Number(/ARG NODE_VERSION=(\d+)/.exec(df)![1]);
    expect(nodeMajor).toBeGreaterThanOrEqual(Number(/(\d+)/.exec(engines)![1]));
  });
});
