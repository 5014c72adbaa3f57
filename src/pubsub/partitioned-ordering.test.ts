/**
 * The ordering guarantee of partitioned streams, end to end: real consumer processes, a real
 * Redis, a real SIGKILL. Per object, handled versions (after dedupe of redeliveries) must be
 * strictly increasing, none lost, none handled twice after dedupe.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, expect, it } from 'vitest';
import { describeRedis, testRedisUrl } from '../../test/support/env.js';
import { testPrefix, waitFor } from './fixtures/wait.js';
import { createMessaging } from './index.js';

const worker = fileURLToPath(new URL('./fixtures/partition-worker.ts', import.meta.url));
const OBJECTS = 300;
const VERSIONS = 10;
const TOTAL = OBJECTS * VERSIONS;

interface Worker {
  name: string;
  proc: ChildProcess;
  owned: number[];
  stderr: string;
  exited: Promise<number | null>;
}

const prefix = testPrefix('ordering');
const workers: Worker[] = [];

function startWorker(name: string, keyPrefix: string, reportKey: string): Worker {
  const proc = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', worker], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: {
      ...process.env,
      REDIS_URL: testRedisUrl,
      KEY_PREFIX: keyPrefix,
      CONSUMER: name,
      REPORT_KEY: reportKey,
      LEASE_TTL_MS: '1500',
      HANDLE_DELAY_MS: '2',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
        w.owned = (JSON.parse(line) as { owned: number[] }).owned;
      } catch {
        // not a status line
      }
    }
  });
  proc.stderr.on('data', (chunk: Buffer) => (w.stderr += chunk.toString()));
  workers.push(w);
  return w;
}

interface Report {
  id: string;
  key: string;
  v: number;
  p: number;
  c: string;
}

/** Dedupes by event id in handling order and checks the per-object guarantees. */
function check(reports: Report[]): { duplicates: number } {
  const seen = new Set<string>();
  const versions = new Map<string, number[]>();
  let duplicates = 0;
  for (const r of reports) {
    if (seen.has(r.id)) {
      duplicates++;
      continue;
    }
    seen.add(r.id);
    versions.set(r.key, [...(versions.get(r.key) ?? []), r.v]);
  }
  expect(seen.size).toBe(TOTAL); // nothing lost
  expect(versions.size).toBe(OBJECTS);
  const expected = Array.from({ length: VERSIONS }, (_, i) => i + 1);
  const wrong = [...versions].filter(([, vs]) => vs.join() !== expected.join());
  // Strictly increasing and complete, i.e. exactly 1..VERSIONS in order, once each.
  expect(wrong.slice(0, 5)).toEqual([]);
  return { duplicates };
}

async function produce(keyPrefix: string): Promise<void> {
  const m = createMessaging({ redisUrl: testRedisUrl, keyPrefix });
  const ps = m.partitioned('objects', 4);
  for (let v = 1; v <= VERSIONS; v++) {
    // Versions of one object are appended one round after another: append order = version order.
    await Promise.all(
      Array.from({ length: OBJECTS }, (_, o) =>
        ps.append(`uid-${o}`, { v }, { id: `uid-${o}:${v}` }),
      ),
    );
  }
  await m.close();
}

describeRedis('partitioned stream ordering across consumer processes', () => {
  const admin = new Redis(testRedisUrl!);
  const reports = async (key: string): Promise<Report[]> =>
    (await admin.lrange(key, 0, -1)).map((l) => JSON.parse(l) as Report);
  const handledCount = async (key: string): Promise<number> =>
    new Set((await reports(key)).map((r) => r.id)).size;

  afterEach(async () => {
    for (const w of workers.splice(0)) {
      if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGKILL');
      await w.exited;
    }
  });
  afterAll(async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  });

  const balanced = (a: Worker, b: Worker) => () =>
    a.owned.length === 2 && b.owned.length === 2 && new Set([...a.owned, ...b.owned]).size === 4;

  it('two consumers, 4 partitions: per-object order, nothing lost, nothing duplicated', async () => {
    const keyPrefix = `${prefix}run1:`;
    const reportKey = `${keyPrefix}report`;
    const a = startWorker('a', keyPrefix, reportKey);
    const b = startWorker('b', keyPrefix, reportKey);
    await waitFor(
      balanced(a, b),
      `a balanced split (a=${a.owned.join(',')} b=${b.owned.join(',')})`,
      10_000,
    ).catch((err) => {
      throw new Error(`${err}\n${a.stderr}\n${b.stderr}`);
    });
    await produce(keyPrefix);
    await waitFor(
      async () => (await handledCount(reportKey)) >= TOTAL,
      'all entries handled',
      15_000,
    );
    const all = await reports(reportKey);
    const { duplicates } = check(all);
    expect(duplicates).toBe(0); // no crash, no redelivery
    expect(new Set(all.map((r) => r.c))).toEqual(new Set(['a', 'b']));
    // Each partition was read by exactly one consumer.
    for (let p = 0; p < 4; p++)
      expect(new Set(all.filter((r) => r.p === p).map((r) => r.c)).size).toBe(1);
    a.proc.kill('SIGTERM');
    b.proc.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
  }, 30_000);

  it('a consumer SIGKILLed mid-run: the other takes over its partitions within seconds, same guarantees', async () => {
    const keyPrefix = `${prefix}run2:`;
    const reportKey = `${keyPrefix}report`;
    const a = startWorker('a', keyPrefix, reportKey);
    const b = startWorker('b', keyPrefix, reportKey);
    await waitFor(
      balanced(a, b),
      `a balanced split (a=${a.owned.join(',')} b=${b.owned.join(',')})`,
      10_000,
    ).catch((err) => {
      throw new Error(`${err}\n${a.stderr}\n${b.stderr}`);
    });
    const producing = produce(keyPrefix);
    await waitFor(
      async () => (await admin.llen(reportKey)) >= TOTAL / 4,
      'a quarter handled',
      15_000,
    );
    const victimPartitions = [...b.owned];
    b.proc.kill('SIGKILL');
    const killedAt = Date.now();
    const handledAtKill = await admin.llen(reportKey);
    expect(handledAtKill).toBeLessThan(TOTAL * 0.9); // the kill really was mid-run
    await waitFor(() => a.owned.length === 4, "takeover of the dead consumer's partitions", 8000);
    const takeoverMs = Date.now() - killedAt;
    await producing;
    await waitFor(
      async () => (await handledCount(reportKey)) >= TOTAL,
      'all entries handled',
      20_000,
    );

    const all = await reports(reportKey);
    const { duplicates } = check(all);
    // The survivor handled entries of the victim's partitions after the kill.
    const afterKill = all.slice(handledAtKill);
    expect(afterKill.some((r) => r.c === 'a' && victimPartitions.includes(r.p))).toBe(true);
    expect(all.some((r) => r.c === 'b')).toBe(true);
    expect(takeoverMs).toBeLessThan(5000);
    // Redeliveries are allowed (b may have handled entries it never acked), but few: at most
    // one read batch per partition it owned.
    expect(duplicates).toBeLessThanOrEqual(10 * victimPartitions.length);
    a.proc.kill('SIGTERM');
    expect(await a.exited).toBe(0);
  }, 30_000);
});
