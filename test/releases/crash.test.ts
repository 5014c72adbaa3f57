/**
 * The release engine survives a worker's death (MySQL + Redis, real processes): two `phantom
 * sim` clusters, an api-only Phantom (this process), two `phantom worker` processes. Twenty
 * releases run at once; one worker is SIGKILLed while it holds claims. Every release still
 * reaches the right end, each Deployment shows exactly the revisions it should (no step
 * applied twice, rollbacks re-apply the recorded spec), and each progress feed has no gap.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import { createConnection } from 'mysql2/promise';
import { describeServices, testRedisUrl } from '../support/env.js';
import { startTestPhantom, type TestPhantom } from '../support/harness.js';
import { spawnPhantom, type PhantomProcess } from '../events/process.js';
import { kubeconfigFor } from '../../src/k8s/sim/kubeconfig.js';
import { createRelease, expectDense, follow } from './support.js';
import { waitFor } from '../k8s/support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `phantom sim` as a process; resolves with its URL. */
async function spawnSim(name: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      '@swc-node/register/esm-register',
      'src/cli.ts',
      'sim',
      '--port',
      '0',
      '--name',
      name,
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`phantom sim ${name} did not start: ${out}`)),
      60_000,
    );
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = out.match(/at (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`phantom sim exited ${code}: ${out}`)));
  });
  return { child, url };
}

const APPS = 20;
const CRASHLOOPING = new Set([3, 8, 13, 18]);

describeServices(
  'release engine: a worker killed mid-way (two workers, MySQL + Redis, phantom sim)',
  () => {
    let api: TestPhantom;
    const workers: PhantomProcess[] = [];
    const sims: ChildProcess[] = [];
    let dir: string;
    let kubeconfigPath: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'phantom-crash-'));
      const started = await Promise.all(['sim-1', 'sim-2'].map(spawnSim));
      sims.push(...started.map((s) => s.child));
      kubeconfigPath = join(dir, 'kubeconfig');
      writeFileSync(
        kubeconfigPath,
        kubeconfigFor(started.map((s, i) => ({ name: `sim-${i + 1}`, url: s.url }))),
      );
      api = await startTestPhantom('mysql', {
        env: { PHANTOM_ROLES: 'api', PHANTOM_KUBECONFIG: kubeconfigPath },
      });
      const extra = {
        PHANTOM_KUBECONFIG: kubeconfigPath,
        PHANTOM_ENGINE_CLAIM_TTL_MS: '2000',
        PHANTOM_ENGINE_POLL_MS: '200',
        PHANTOM_RELEASE_FAILURE_GRACE_MS: '1000',
      };
      for (let i = 0; i < 2; i++)
        workers.push(
          await spawnPhantom('worker', {
            databaseUrl: api.databaseUrl!,
            redisUrl: testRedisUrl!,
            redisPrefix: api.config.redisPrefix,
            extra,
          }),
        );
      const env = await api.gql(
        `mutation { upsertEnvironment(input: { name: "staging", requiresApproval: false, targets: [{ cluster: "sim-1", namespace: "staging" }, { cluster: "sim-2", namespace: "staging" }] }) { name } }`,
      );
      expect(env.errors).toBeUndefined();
    }, 180_000);
    afterAll(async () => {
      for (const w of workers) await w.stop();
      await api?.stop();
      for (const s of sims) s.kill('SIGTERM');
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('every release ends right, with the revisions it should have and a dense progress feed', async () => {
      const names = Array.from({ length: APPS }, (_, i) => `crash-${i}`);
      for (const n of names)
        expect(
          (
            await api.gql(
              `mutation($n: String!) { createApp(input: { name: $n, kind: NODE, container: { replicas: 4, cpu: "10m" } }) { id } }`,
              { n },
            )
          ).errors,
        ).toBeUndefined();
      // Round 1: a known-good release of every app (revision 1 everywhere).
      const first = await Promise.all(
        names.map((n) =>
          createRelease(api, { app: n, env: 'staging', image: `registry.local/${n}:1` }),
        ),
      );
      const firstEnds = await Promise.all(
        first.map((r) => follow(api.ws(), r.id, { timeoutMs: 120_000 })),
      );
      expect(firstEnds.map((f) => f.at(-1)!.release.status)).toEqual(names.map(() => 'SUCCEEDED'));
      // Round 2: twenty at once, four of them crash-looping; kill a worker while it holds claims.
      const second = await Promise.all(
        names.map((n, i) =>
          createRelease(api, {
            app: n,
            env: 'staging',
            image: `registry.local/${n}:2${CRASHLOOPING.has(i) ? '-crashloop' : ''}`,
          }),
        ),
      );
      const u = new URL(api.databaseUrl!);
      const conn = await createConnection({
        host: u.hostname,
        port: Number(u.port || 3306),
        user: 'root',
        database: u.pathname.slice(1),
      });
      try {
        const victim = workers[0];
        const pid = victim.child.pid!;
        await waitFor(
          async () => {
            const [rows] = await conn.query(
              'select count(*) as n from releases where claimed_by like ? and active_key is not null',
              [`%-${pid}-%`],
            );
            return Number((rows as any)[0].n) >= 2;
          },
          60_000,
          20,
        );
        victim.child.kill('SIGKILL');
        const ends = await Promise.all(
          second.map((r) => follow(api.ws(), r.id, { timeoutMs: 120_000 })),
        );
        expect(ends.map((f) => f.at(-1)!.release.status)).toEqual(
          names.map((_, i) => (CRASHLOOPING.has(i) ? 'ROLLED_BACK' : 'SUCCEEDED')),
        );
        // Each feed, replayed from the start: 1, 2, 3, … with no gap, ending at the terminal entry.
        for (const r of second) {
          const replay = await follow(api.ws(), r.id, { timeoutMs: 30_000 });
          expect(expectDense(replay)).toBe(true);
          const [rows] = await conn.query(
            'select progress_seq as s, generation as g from releases where id = ?',
            [Number(Buffer.from(r.id, 'base64url').toString().split(':')[1])],
          );
          expect(Number(replay.at(-1)!.sequence)).toBe(Number((rows as any)[0].s));
        }
        // Some releases changed hands: their claim generation moved past the first worker's.
        const [moved] = await conn.query('select count(*) as n from releases where generation > 1');
        expect(Number((moved as any)[0].n)).toBeGreaterThan(0);
      } finally {
        await conn.end();
      }
      // The Deployments: a good release is revision 2 (1 → 2), a rolled-back one revision 3
      // (the recorded spec of release 1 re-applied: Kubernetes reuses its ReplicaSet), and never
      // more ReplicaSets than templates.
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      for (const cluster of ['sim-1', 'sim-2']) {
        kc.setCurrentContext(cluster);
        const apps = kc.makeApiClient(AppsV1Api);
        for (const [i, n] of names.entries()) {
          const d = await apps.readNamespacedDeployment({ name: n, namespace: 'staging' });
          const rs = await apps.listNamespacedReplicaSet({
            namespace: 'staging',
            labelSelector: `phantom.io/app=${n}`,
          });
          const crashed = CRASHLOOPING.has(i);
          // A crash-looping release fails on its first wave (sim-1): sim-2 was never touched.
          const expected = !crashed
            ? ['2', `registry.local/${n}:2`, 2]
            : cluster === 'sim-1'
              ? ['3', `registry.local/${n}:1`, 2]
              : ['1', `registry.local/${n}:1`, 1];
          expect([
            n,
            cluster,
            d.metadata?.annotations?.['deployment.kubernetes.io/revision'],
            d.spec?.template.spec?.containers[0]?.image,
            rs.items.length,
          ]).toEqual([n, cluster, ...expected]);
        }
      }
    }, 300_000);
  },
);
