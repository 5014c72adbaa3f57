/**
 * The `k8s-events` ordering guarantee, end to end: a simulated cluster, Phantom's k8s module
 * (informers + the leader-elected watcher) appending every change to the partitioned stream
 * with P = 4, thousands of updates (Deployments patched over and over, rollouts churning
 * pods), and TWO real consumer processes in one consumer group. Per object uid, the handled
 * resourceVersions (after dedupe by event id) must be strictly increasing, every appended
 * change must be handled, none twice after dedupe; also when one consumer is SIGKILLed
 * mid-run and the other takes over its partitions.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, expect, it } from 'vitest';
import { DEFAULT_CONTAINER } from '../../src/domain/apps/app-spec.js';
import { attachK8s, K8S_EVENTS_STREAM, type K8sServices } from '../../src/k8s/k8s.module.js';
import {
  kubeconfigFor,
  startSimulatedCluster,
  type SimulatedCluster,
} from '../../src/k8s/sim/index.js';
import type { KubeObjectEvent } from '../../src/k8s/types.js';
import {
  createMessaging,
  fnv1a,
  type Messaging,
  type PartitionedEntry,
} from '../../src/pubsub/index.js';
import type { PhantomTopics } from '../../src/pubsub/topics.js';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/server/logger.js';
import type { Platform } from '../../src/server/platform.js';
import { describeRedis, testRedisUrl } from '../support/env.js';
import { FAST_TIMING, waitFor } from './support.js';

const P = 4;
const GROUP = 'ordering-test';
const DEPLOYMENTS = 24;
const ROUNDS = 60; // round 30 is a rollout round: the kill lands amid pod churn
/** Every this many rounds the patch changes the pod template: a rollout, pods churn. */
const ROLLOUT_EVERY = 6;
const NAMESPACE = 'ordering';

const consumerScript = fileURLToPath(new URL('./fixtures/k8s-event-consumer.ts', import.meta.url));
const prefix = `test:k8s-ordering:${randomUUID().slice(0, 8)}:`;

interface Worker {
  name: string;
  proc: ChildProcess;
  owned: number[];
  /** Event id it handled and then hung on without acking (after SIGUSR2). */
  frozen?: string;
  stderr: string;
  exited: Promise<number | null>;
}

/** One handled entry, as a consumer process reported it. */
interface Report {
  id: string;
  key: string;
  uid: string;
  rv: string;
  p: number;
  /** Stream entry id: the same entry handled twice is a redelivery. */
  s: string;
  c: string;
}

const workers: Worker[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

function startWorker(
  name: string,
  keyPrefix: string,
  reportKey: string,
  extraEnv: Record<string, string> = {},
): Worker {
  const proc = spawn(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', consumerScript],
    {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: {
        ...process.env,
        REDIS_URL: testRedisUrl,
        KEY_PREFIX: keyPrefix,
        CONSUMER: name,
        GROUP,
        REPORT_KEY: reportKey,
        PARTITIONS: String(P),
        STREAM: K8S_EVENTS_STREAM,
        LEASE_TTL_MS: '1500',
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const w: Worker = {
    name,
    proc,
    owned: [],
    stderr: '',
    exited: new Promise((resolve) => proc.on('exit', (code) => resolve(code))),
  };
  let buf = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const line of lines) {
      try {
        const msg = JSON.parse(line) as { owned?: number[]; frozen?: string };
        if (msg.owned) w.owned = msg.owned;
        if (msg.frozen) w.frozen ??= msg.frozen;
      } catch {
        // not a status line
      }
    }
  });
  proc.stderr.on('data', (chunk: Buffer) => (w.stderr += chunk.toString()));
  workers.push(w);
  return w;
}

/** A simulated cluster and Phantom's k8s module on it, appending to `k8s-events` under `keyPrefix`. */
async function startPipeline(
  keyPrefix: string,
): Promise<{ sim: SimulatedCluster; k8s: K8sServices; messaging: Messaging<PhantomTopics> }> {
  const sim = await startSimulatedCluster({ name: 'sim-1', timing: FAST_TIMING });
  cleanups.push(() => sim.close());
  const dir = mkdtempSync(join(tmpdir(), 'phantom-k8s-ordering-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigFor([{ name: sim.name, url: sim.url }]));
  const messaging = createMessaging<PhantomTopics>({ redisUrl: testRedisUrl, keyPrefix });
  // Just what attachK8s uses of a Platform: no database needed for this test.
  const closers: (() => Promise<void> | void)[] = [];
  const platform = {
    config: { kubeconfigPath, embeddedClusters: false, dataDir: dir } as Config,
    logger: createLogger('silent'),
    messaging,
    services: {},
    deps: { appDeletionGuards: [] },
    onClose: (fn: () => Promise<void> | void) => closers.push(fn),
  } as unknown as Platform;
  cleanups.push(async () => {
    for (const fn of closers.reverse()) await fn();
    await messaging.close();
  });
  const k8s = await attachK8s(platform, { eventPartitions: P });
  expect(k8s.events.partitions).toBe(P);
  await k8s.runtime.whenSynced(5000);
  await waitFor(() => k8s.watchers.leadingClusters().length === 1, 10_000);
  return { sim, k8s, messaging };
}

/** Every entry appended to the stream, partition by partition, in append order. */
async function appended(k8s: K8sServices): Promise<PartitionedEntry[]> {
  const out: PartitionedEntry[] = [];
  for (let p = 0; p < P; p++) {
    let after = '0';
    for (;;) {
      const page = await k8s.events.read(p, after, 1000);
      out.push(...page);
      if (page.length < 1000) break;
      after = page[page.length - 1].streamId;
    }
  }
  return out;
}

async function mergePatch(sim: SimulatedCluster, name: string, patch: object): Promise<string> {
  const res = await fetch(`${sim.url}/apis/apps/v1/namespaces/${NAMESPACE}/deployments/${name}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify(patch),
  });
  if (!res.ok) throw new Error(`PATCH ${name}: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
}

/**
 * Creates the Deployments through the runtime (as Phantom would), then patches each of them
 * ROUNDS times over HTTP: annotation changes, and every ROLLOUT_EVERY rounds a pod template
 * change (a rollout: new ReplicaSet, pods created and deleted). Returns the resourceVersion of
 * every patch, by Deployment name. `midway` runs once, halfway through, during a round.
 */
async function churn(
  sim: SimulatedCluster,
  k8s: K8sServices,
  midway?: () => Promise<void>,
): Promise<Map<string, string[]>> {
  const names = Array.from({ length: DEPLOYMENTS }, (_, i) => `app-${i}`);
  for (const name of names) {
    await k8s.runtime.applyWorkload([{ cluster: 'sim-1', namespace: NAMESPACE }], {
      app: name,
      env: 'prod',
      image: 'registry.local/x:1',
      container: { ...DEFAULT_CONTAINER, replicas: 1 },
    });
  }
  const rvs = new Map<string, string[]>(names.map((n) => [n, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    const rollout = round % ROLLOUT_EVERY === 0;
    // Midway, while a rollout round's changes pour in (so consumers have entries in flight).
    const during =
      round === Math.floor(ROUNDS / 2) && midway
        ? new Promise((r) => setTimeout(r, 30)).then(midway)
        : undefined;
    await Promise.all(
      names.map(async (name) => {
        const patch = rollout
          ? {
              spec: {
                template: {
                  metadata: { annotations: { 'test.phantom.io/rollout': String(round) } },
                },
              },
            }
          : { metadata: { annotations: { 'test.phantom.io/round': String(round) } } };
        rvs.get(name)!.push(await mergePatch(sim, name, patch));
      }),
    );
    await during;
    // A little pacing so the run spans seconds (the kill must land mid-run) and rollouts progress.
    await new Promise((r) => setTimeout(r, 40));
  }
  return rvs;
}

/** Waits until the watcher stops appending (cluster settled) and the consumers handled every appended event id. */
async function drained(
  k8s: K8sServices,
  reports: () => Promise<Report[]>,
  timeoutMs: number,
): Promise<{ entries: PartitionedEntry[]; handled: Report[] }> {
  let lastCount = -1;
  let stableSince = Date.now();
  let result: { entries: PartitionedEntry[]; handled: Report[] } | undefined;
  await waitFor(
    async () => {
      const entries = await appended(k8s);
      const handled = await reports();
      if (entries.length !== lastCount) {
        lastCount = entries.length;
        stableSince = Date.now();
        return false;
      }
      const ids = new Set(handled.map((r) => r.id));
      if (Date.now() - stableSince < 1000 || !entries.every((e) => ids.has(e.id))) return false;
      result = { entries, handled };
      return true;
    },
    timeoutMs,
    200,
  ).catch((err) => {
    throw new Error(
      `${String(err)}: ${lastCount} appended, consumers: ${workers.map((w) => `${w.name}=${w.owned.join(',')} ${w.stderr}`).join('; ')}`,
    );
  });
  return result!;
}

/**
 * The guarantees. Dedupe by event id in the global handling order, then per uid: strictly
 * increasing resourceVersions, and exactly the sequence the watcher appended; every appended
 * id handled, nothing handled that was not appended. Returns how many reports were redeliveries
 * of a stream entry already handled.
 */
function check(
  entries: PartitionedEntry[],
  handled: Report[],
  patchRvs: Map<string, string[]>,
): { redelivered: number; uids: Map<string, KubeObjectEvent[]> } {
  // What was handled: first occurrence of each event id, in handling order.
  const seen = new Set<string>();
  const handledByUid = new Map<string, number[]>();
  for (const r of handled) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    handledByUid.set(r.uid, [...(handledByUid.get(r.uid) ?? []), Number(r.rv)]);
  }
  const notIncreasing = [...handledByUid].filter(([, rvs]) =>
    rvs.some((rv, i) => i > 0 && !(rv > rvs[i - 1])),
  );
  expect(notIncreasing.slice(0, 3), `${notIncreasing.length} objects handled out of order`).toEqual(
    [],
  );

  // What was appended: per uid, first occurrence of each event id, in append order (one uid = one partition).
  const appendedIds = new Set<string>();
  const appendedByUid = new Map<string, number[]>();
  const uids = new Map<string, KubeObjectEvent[]>();
  for (const e of entries) {
    const body = e.body as unknown as KubeObjectEvent;
    uids.set(body.uid, [...(uids.get(body.uid) ?? []), body]);
    if (appendedIds.has(e.id)) continue;
    appendedIds.add(e.id);
    appendedByUid.set(body.uid, [
      ...(appendedByUid.get(body.uid) ?? []),
      Number(body.resourceVersion),
    ]);
  }
  // Nothing lost, nothing made up.
  const lost = [...appendedIds].filter((id) => !seen.has(id));
  const extra = [...seen].filter((id) => !appendedIds.has(id));
  expect(lost.slice(0, 5), `${lost.length} appended events never handled`).toEqual([]);
  expect(extra.slice(0, 5)).toEqual([]);
  // Per object: handled exactly what was appended, in the order appended.
  const differing = [...appendedByUid].filter(
    ([uid, rvs]) => handledByUid.get(uid)?.join() !== rvs.join(),
  );
  expect(
    differing
      .slice(0, 3)
      .map(([uid, rvs]) => ({ uid, appended: rvs, handled: handledByUid.get(uid) })),
  ).toEqual([]);

  // Every entry sits in its uid's partition, under the uid as key.
  for (const e of entries) {
    const body = e.body as unknown as KubeObjectEvent;
    expect(e.key).toBe(body.uid);
    expect(e.partition).toBe(fnv1a(body.uid) % P);
  }
  // Every patch the test made reached a consumer (nothing lost between the cluster and the stream).
  const handledRvs = new Set(handled.map((r) => `${r.uid}:${r.rv}`));
  const deployments = new Map<string, string>();
  for (const [uid, events] of uids)
    if (events[0].kind === 'Deployment') deployments.set(events[0].name, uid);
  for (const [name, rvs] of patchRvs) {
    const uid = deployments.get(name);
    expect(uid, name).toBeDefined();
    const missing = rvs.filter((rv) => !handledRvs.has(`${uid}:${rv}`));
    expect(missing, `patches of ${name} never handled`).toEqual([]);
  }

  const entriesSeen = new Set<string>();
  let redelivered = 0;
  for (const r of handled) {
    const k = `${r.p}/${r.s}`;
    if (entriesSeen.has(k)) redelivered++;
    entriesSeen.add(k);
  }
  return { redelivered, uids };
}

describeRedis('k8s-events: per-object order across two consumer processes (P = 4)', () => {
  const admin = new Redis(testRedisUrl!);
  const reportsOf = (key: string) => async (): Promise<Report[]> =>
    (await admin.lrange(key, 0, -1)).map((l) => JSON.parse(l) as Report);

  afterEach(async () => {
    for (const w of workers.splice(0)) {
      if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGKILL');
      await w.exited;
    }
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });
  afterAll(async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  });

  const balanced = (a: Worker, b: Worker) => () =>
    a.owned.length === 2 && b.owned.length === 2 && new Set([...a.owned, ...b.owned]).size === P;

  it('thousands of changes, two consumers: per-object order, nothing lost, nothing duplicated', async () => {
    const keyPrefix = `${prefix}run1:`;
    const reportKey = `${keyPrefix}report`;
    const a = startWorker('a', keyPrefix, reportKey);
    const b = startWorker('b', keyPrefix, reportKey);
    const { sim, k8s } = await startPipeline(keyPrefix);
    await waitFor(balanced(a, b), 40_000).catch((err) => {
      throw new Error(
        `${String(err)}: a=${a.owned.join(',')} b=${b.owned.join(',')}\n${a.stderr}\n${b.stderr}`,
      );
    });

    const patchRvs = await churn(sim, k8s);
    const { entries, handled } = await drained(k8s, reportsOf(reportKey), 60_000);

    const { redelivered, uids } = check(entries, handled, patchRvs);
    expect(redelivered).toBe(0); // no crash: every stream entry handled exactly once
    expect(entries.length).toBeGreaterThan(2000);
    expect([...uids.values()].filter((es) => es[0].kind === 'Pod').length).toBeGreaterThan(
      DEPLOYMENTS * 2,
    ); // pods churned
    expect(new Set(handled.map((r) => r.c))).toEqual(new Set(['a', 'b']));
    // Each partition was read by exactly one consumer, and all four were used.
    expect(new Set(entries.map((e) => e.partition))).toEqual(new Set([0, 1, 2, 3]));
    for (let p = 0; p < P; p++)
      expect(new Set(handled.filter((r) => r.p === p).map((r) => r.c)).size).toBe(1);
    expect(sim.controllerErrors).toEqual([]);

    a.proc.kill('SIGTERM');
    b.proc.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
  }, 150_000);

  it('a consumer SIGKILLed mid-run: the other takes over its partitions within seconds, same guarantees', async () => {
    const keyPrefix = `${prefix}run2:`;
    const reportKey = `${keyPrefix}report`;
    // A small handling delay: the consumers lag the churn a little, so the kill lands amid a backlog.
    const a = startWorker('a', keyPrefix, reportKey, { HANDLE_DELAY_MS: '2' });
    const b = startWorker('b', keyPrefix, reportKey, { HANDLE_DELAY_MS: '2' });
    const { sim, k8s } = await startPipeline(keyPrefix);
    await waitFor(balanced(a, b), 40_000).catch((err) => {
      throw new Error(
        `${String(err)}: a=${a.owned.join(',')} b=${b.owned.join(',')}\n${a.stderr}\n${b.stderr}`,
      );
    });

    let victimPartitions: number[] = [];
    let handledAtKill = 0;
    let takeover: Promise<number> | undefined;
    const patchRvs = await churn(sim, k8s, async () => {
      victimPartitions = [...b.owned];
      // Make sure the victim dies holding an entry it handled (reported) but did not ack.
      b.proc.kill('SIGUSR2');
      await waitFor(() => b.frozen !== undefined, 5000, 5);
      b.proc.kill('SIGKILL');
      const killedAt = Date.now();
      handledAtKill = await admin.llen(reportKey);
      // Measured while the churn goes on.
      takeover = waitFor(() => a.owned.length === P, 8000, 20).then(() => Date.now() - killedAt);
    });
    expect(await takeover).toBeLessThan(5000);
    const { entries, handled } = await drained(k8s, reportsOf(reportKey), 60_000);

    const { redelivered } = check(entries, handled, patchRvs);
    expect(handledAtKill).toBeGreaterThan(0);
    expect(handledAtKill).toBeLessThan(entries.length * 0.8); // the kill really was mid-run
    expect(victimPartitions.length).toBe(2);
    expect(handled.some((r) => r.c === 'b')).toBe(true);
    // The survivor handled the victim's partitions after the kill.
    const afterKill = handled.slice(handledAtKill);
    for (const p of victimPartitions)
      expect(afterKill.some((r) => r.c === 'a' && r.p === p)).toBe(true);
    // The entry b handled but never acked was handled again by a: a redelivery, deduped above.
    expect(afterKill.some((r) => r.c === 'a' && r.id === b.frozen)).toBe(true);
    expect(redelivered).toBeGreaterThanOrEqual(1);
    // Few of them: at most the one entry per partition b hung on.
    expect(redelivered).toBeLessThanOrEqual(victimPartitions.length);
    expect(sim.controllerErrors).toEqual([]);

    a.proc.kill('SIGTERM');
    expect(await a.exited).toBe(0);
  }, 150_000);
});
