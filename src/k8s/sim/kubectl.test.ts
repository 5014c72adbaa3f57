/** Conformance with the real kubectl (v1.32) against one simulated cluster. */
import { existsSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedCluster, type SimulatedCluster } from './index.js';
import {
  eventually,
  FAST_TIMING,
  KUBECTL,
  kubectlEnv,
  tableRows,
  type KubectlEnv,
} from './test-support.js';

const MANIFEST = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
`;

const CRASH = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: crash
spec:
  replicas: 2
  progressDeadlineSeconds: 2
  selector:
    matchLabels: {app: crash}
  template:
    metadata:
      labels: {app: crash}
    spec:
      containers:
      - name: app
        image: example.com/crash:v1-crashloop
`;

const HASH = '[bcdfghjklmnpqrstvwxz2456789]{1,10}';

describe('real kubectl against the simulated cluster', () => {
  let cluster: SimulatedCluster;
  let k: KubectlEnv;

  beforeAll(async () => {
    expect(existsSync(KUBECTL)).toBe(true);
    cluster = await startSimulatedCluster({ name: 'conf', timing: FAST_TIMING });
    k = kubectlEnv(cluster.kubeconfigYaml());
    writeFileSync(join(k.dir, 'app.yaml'), MANIFEST);
    writeFileSync(join(k.dir, 'crash.yaml'), CRASH);
  });

  afterAll(async () => {
    await cluster?.close();
    k?.cleanup();
    expect(cluster.controllerErrors).toEqual([]);
  });

  it('apply -f creates the deployment and service, rollout status returns 0', async () => {
    const r = await k.run(['apply', '-f', join(k.dir, 'app.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('deployment.apps/web created');
    expect(r.stdout).toContain('service/web created');
    const s = await k.run(['rollout', 'status', 'deployment/web', '--timeout=20s']);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain('deployment "web" successfully rolled out');
    // a second apply is a no-op patch
    const again = await k.run(['apply', '-f', join(k.dir, 'app.yaml')]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('deployment.apps/web unchanged');
  });

  it('get deploy,rs,pods -o wide prints the real columns and values', async () => {
    const all = await k.run(['get', 'deploy,rs,pods,svc', '-o', 'wide']);
    expect(all.code).toBe(0);
    const blocks = all.stdout
      .trim()
      .split(/\n\s*\n/)
      .map(tableRows);
    expect(blocks).toHaveLength(4);
    const [deploy, rs, pods, svc] = blocks as [string[][], string[][], string[][], string[][]];
    expect(deploy[0]).toEqual([
      'NAME',
      'READY',
      'UP-TO-DATE',
      'AVAILABLE',
      'AGE',
      'CONTAINERS',
      'IMAGES',
      'SELECTOR',
    ]);
    expect(deploy[1]?.[0]).toBe('deployment.apps/web');
    expect(deploy[1]?.slice(1, 4)).toEqual(['3/3', '3', '3']);
    expect(deploy[1]?.[4]).toMatch(/^\d+s$/);
    expect(deploy[1]?.slice(5)).toEqual(['app', 'nginx:1.25', 'app=web']);

    expect(rs[0]).toEqual([
      'NAME',
      'DESIRED',
      'CURRENT',
      'READY',
      'AGE',
      'CONTAINERS',
      'IMAGES',
      'SELECTOR',
    ]);
    expect(rs[1]?.[0]).toMatch(new RegExp(`^replicaset\\.apps/web-${HASH}$`));
    const hash = rs[1][0].split('-').pop();
    expect(rs[1]?.slice(1, 4)).toEqual(['3', '3', '3']);
    expect(rs[1]?.[7]).toBe(`app=web,pod-template-hash=${hash}`);

    expect(pods[0]).toEqual([
      'NAME',
      'READY',
      'STATUS',
      'RESTARTS',
      'AGE',
      'IP',
      'NODE',
      'NOMINATED NODE',
      'READINESS GATES',
    ]);
    expect(pods).toHaveLength(4);
    for (const row of pods.slice(1)) {
      expect(row[0]).toMatch(new RegExp(`^pod/web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
      expect(row.slice(1, 4)).toEqual(['1/1', 'Running', '0']);
      expect(row[5]).toMatch(/^10\.244\.\d+\.\d+$/);
      expect(row.slice(6)).toEqual(['conf-worker', '<none>', '<none>']);
    }

    expect(svc[0]).toEqual([
      'NAME',
      'TYPE',
      'CLUSTER-IP',
      'EXTERNAL-IP',
      'PORT(S)',
      'AGE',
      'SELECTOR',
    ]);
    expect(svc[1]?.[0]).toBe('service/web');
    expect(svc[1]?.[1]).toBe('ClusterIP');
    expect(svc[1]?.[2]).toMatch(/^10\.96\.\d+\.\d+$/);
    expect(svc[1]?.slice(3, 5)).toEqual(['<none>', '80/TCP']);
    expect(svc[1]?.[6]).toBe('app=web');
  });

  it('scale changes the replica count', async () => {
    const r = await k.run(['scale', 'deployment/web', '--replicas=5']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('deployment.apps/web scaled');
    expect((await k.run(['rollout', 'status', 'deployment/web', '--timeout=20s'])).code).toBe(0);
    const g = tableRows((await k.run(['get', 'deployment', 'web'])).stdout);
    expect(g[1]?.slice(0, 4)).toEqual(['web', '5/5', '5', '5']);
    // --current-replicas takes the GET + PUT Scale path with a precondition
    const bad = await k.run(['scale', 'deployment/web', '--current-replicas=4', '--replicas=2']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Expected replicas to be 4, was 5/);
  });

  it('rollout history and rollout undo bring the old template back', async () => {
    const set = await k.run(['set', 'image', 'deployment/web', 'app=nginx:1.26']);
    expect(set.code).toBe(0);
    expect((await k.run(['rollout', 'status', 'deployment/web', '--timeout=20s'])).code).toBe(0);
    const img = await k.run([
      'get',
      'deployment',
      'web',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ]);
    expect(img.stdout).toBe('nginx:1.26');

    const h = await k.run(['rollout', 'history', 'deployment/web']);
    expect(h.code).toBe(0);
    const rows = tableRows(h.stdout);
    expect(rows[0]).toEqual(['deployment.apps/web']);
    expect(rows[1]).toEqual(['REVISION', 'CHANGE-CAUSE']);
    expect(rows.slice(2)).toEqual([
      ['1', '<none>'],
      ['2', '<none>'],
    ]);
    const rev1 = await k.run(['rollout', 'history', 'deployment/web', '--revision=1']);
    expect(rev1.stdout).toContain('nginx:1.25');

    const u = await k.run(['rollout', 'undo', 'deployment/web']);
    expect(u.code).toBe(0);
    expect(u.stdout).toContain('deployment.apps/web rolled back');
    expect((await k.run(['rollout', 'status', 'deployment/web', '--timeout=20s'])).code).toBe(0);
    const back = await k.run([
      'get',
      'deployment',
      'web',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ]);
    expect(back.stdout).toBe('nginx:1.25');
    const h2 = tableRows((await k.run(['rollout', 'history', 'deployment/web'])).stdout);
    expect(h2.slice(2).map((r) => r[0])).toEqual(['2', '3']);
    const rs = tableRows((await k.run(['get', 'rs', '-l', 'app=web'])).stdout);
    expect(rs).toHaveLength(3);
  });

  it('describe deployment shows replicas, conditions and events', async () => {
    const d = await k.run(['describe', 'deployment', 'web']);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/^Name:\s+web$/m);
    expect(d.stdout).toMatch(
      /^Replicas:\s+5 desired \| 5 updated \| 5 total \| 5 available \| 0 unavailable$/m,
    );
    expect(d.stdout).toMatch(/^StrategyType:\s+RollingUpdate$/m);
    expect(d.stdout).toMatch(/^RollingUpdateStrategy:\s+25% max unavailable, 25% max surge$/m);
    expect(d.stdout).toMatch(/^\s+Available\s+True\s+MinimumReplicasAvailable$/m);
    expect(d.stdout).toMatch(/^\s+Progressing\s+True\s+NewReplicaSetAvailable$/m);
    expect(d.stdout).toMatch(
      new RegExp(`^NewReplicaSet:\\s+web-${HASH} \\(5/5 replicas created\\)$`, 'm'),
    );
    expect(d.stdout).toMatch(/^Events:/m);
    expect(d.stdout).toMatch(
      new RegExp(
        `Normal\\s+ScalingReplicaSet\\s+\\S+\\s+deployment-controller\\s+Scaled up replica set web-${HASH} from 0 to 3`,
      ),
    );
  });

  it('get pods -w prints changes as they happen', async () => {
    const p = k.spawn(['get', 'pods', '-l', 'app=web', '-w']);
    let out = '';
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await eventually(() => out.split('\n').filter(Boolean).length >= 6, 10_000);
      const victim = out.split('\n')[1]?.split(/\s+/)[0];
      const del = await k.run(['delete', 'pod', victim, '--wait=false']);
      expect(del.code).toBe(0);
      await eventually(
        () => new RegExp(`^${victim}\\s+\\S+\\s+Terminating`, 'm').test(out),
        10_000,
      );
      await eventually(() => /\s+ContainerCreating\s+/.test(out), 10_000);
    } finally {
      p.kill('SIGTERM');
    }
    const lines = out.split('\n').filter(Boolean);
    expect(lines[0]?.split(/\s{2,}/)).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    expect(lines.length).toBeGreaterThan(7);
  });

  it('delete pod: the pod goes away and a replacement appears', async () => {
    await k.run(['rollout', 'status', 'deployment/web', '--timeout=20s']);
    const names = async (): Promise<string[]> =>
      (await k.run(['get', 'pods', '-l', 'app=web', '-o', 'name'])).stdout
        .split('\n')
        .filter(Boolean);
    const before = await eventually(async () => {
      const n = await names();
      return n.length === 5 ? n : undefined;
    });
    const victim = before[0];
    const r = await k.run(['delete', victim]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${victim.replace('pod/', 'pod "')}" deleted`);
    const after = await eventually(async () => {
      const n = await names();
      return n.length === 5 && !n.includes(victim) ? n : undefined;
    });
    expect(after.filter((n) => !before.includes(n))).toHaveLength(1);
    const ready = await eventually(async () => {
      const rows = tableRows((await k.run(['get', 'pods', '-l', 'app=web'])).stdout).slice(1);
      return rows.length === 5 && rows.every((row) => row[1] === '1/1' && row[2] === 'Running')
        ? rows
        : undefined;
    });
    expect(ready).toHaveLength(5);
  });

  it('a crashloop image: CrashLoopBackOff with growing restarts, rollout status fails on the progress deadline', async () => {
    expect((await k.run(['apply', '-f', join(k.dir, 'crash.yaml')])).code).toBe(0);
    const s = await k.run(['rollout', 'status', 'deployment/crash', '--timeout=30s'], 40_000);
    expect(s.code).not.toBe(0);
    expect(s.stderr).toContain('error: deployment "crash" exceeded its progress deadline');
    const rows = await eventually(async () => {
      const r = tableRows((await k.run(['get', 'pods', '-l', 'app=crash'])).stdout).slice(1);
      return r.length === 2 &&
        r.every(
          (row) => row[2] === 'CrashLoopBackOff' && /^([2-9]|\d{2,}) \(\d+s ago\)$/.test(row[3]),
        )
        ? r
        : undefined;
    });
    expect(rows.every((row) => row[1] === '0/1')).toBe(true);
    const d = await k.run(['describe', 'deployment', 'crash']);
    expect(d.stdout).toMatch(/^\s+Progressing\s+False\s+ProgressDeadlineExceeded$/m);
    expect(d.stdout).toMatch(/^\s+Available\s+False\s+MinimumReplicasUnavailable$/m);
    const ev = await k.run(['get', 'events', '--field-selector', 'reason=BackOff']);
    expect(ev.stdout).toMatch(/Back-off restarting failed container app in pod crash-/);
  });

  it('logs: synthetic container output, and --previous for a crashed container', async () => {
    const l = await k.run(['logs', 'deployment/web']);
    expect(l.code).toBe(0);
    expect(l.stdout).toContain('[sim] container app started (image nginx:1.25)');
    const crashPod = (await k.run(['get', 'pods', '-l', 'app=crash', '-o', 'name'])).stdout.split(
      '\n',
    )[0];
    const prev = await k.run(['logs', crashPod, '--previous']);
    expect(prev.code).toBe(0);
    expect(prev.stdout).toContain('[sim] exited with code 1');
  });

  it('typed clients: create deployment|namespace|service and autoscale send protobuf, which is decoded', async () => {
    const ns = await k.run(['create', 'namespace', 'typed']);
    expect(ns.stderr).toBe('');
    expect(ns.stdout).toContain('namespace/typed created');
    const d = await k.run([
      '-n',
      'typed',
      'create',
      'deployment',
      'proto',
      '--image=nginx:1.27',
      '--replicas=2',
      '--port=8080',
    ]);
    expect(d.stderr).toBe('');
    expect(d.stdout).toContain('deployment.apps/proto created');
    expect(
      (await k.run(['-n', 'typed', 'rollout', 'status', 'deployment/proto', '--timeout=20s'])).code,
    ).toBe(0);
    const wide = tableRows(
      (await k.run(['-n', 'typed', 'get', 'deployment', 'proto', '-o', 'wide'])).stdout,
    );
    expect(wide[1]).toEqual([
      'proto',
      '2/2',
      '2',
      '2',
      expect.stringMatching(/^\d+s$/),
      'nginx',
      'nginx:1.27',
      'app=proto',
    ]);
    const port = await k.run([
      '-n',
      'typed',
      'get',
      'deployment',
      'proto',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].ports[0].containerPort}',
    ]);
    expect(port.stdout).toBe('8080');
    const svc = await k.run([
      '-n',
      'typed',
      'create',
      'service',
      'clusterip',
      'proto',
      '--tcp=80:8080',
    ]);
    expect(svc.stdout).toContain('service/proto created');
    const svcRow = tableRows((await k.run(['-n', 'typed', 'get', 'svc', 'proto'])).stdout)[1];
    expect(svcRow?.slice(1, 2)).toEqual(['ClusterIP']);
    expect(svcRow?.[4]).toBe('80/TCP');
    const hpa = await k.run([
      '-n',
      'typed',
      'autoscale',
      'deployment',
      'proto',
      '--min=3',
      '--max=5',
      '--cpu-percent=50',
    ]);
    expect(hpa.stdout).toContain('horizontalpodautoscaler.autoscaling/proto autoscaled');
    const row = await eventually(async () => {
      const r = tableRows((await k.run(['-n', 'typed', 'get', 'hpa', 'proto'])).stdout)[1];
      return r?.[5] === '3' ? r : undefined;
    });
    expect(row.slice(0, 5)).toEqual(['proto', 'Deployment/proto', 'cpu: <unknown>/50%', '3', '5']);
  });
});
