/**
 * P4 of issue 9, side by side on Redis: consuming a partitioned stream (4 partitions, one
 * consumer: PartitionedStream.consume, what the Kubernetes event relay runs on) against raw
 * XREADGROUP loops over the same entries, acking each entry (awaited) and acking each batch.
 * The streams are filled the same way for both (a pipeline of XADDs with Phantom's fields), so
 * only consuming is timed. Rounds are interleaved; the median of 3 is reported. Goal: Phantom
 * ≥ 50% of the batch-acking loop.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createMessaging } from '../pubsub/index.js';

export const STREAM_TARGETS = { minRatioOfBatch: 0.5 };

const PARTITIONS = 4;
const ENTRIES = Number(process.env.BENCH_P4_ENTRIES ?? 40_000);
const ROUNDS = 3;
const BATCH = 100;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function fill(redis: Redis, keys: string[]): Promise<void> {
  for (let i = 0; i < ENTRIES; i += 1000) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(ENTRIES, i + 1000); j++) {
      const key = `uid-${j % 997}`;
      const body = JSON.stringify({
        key,
        body: { type: 'MODIFIED', kind: 'Pod', name: `pod-${j % 997}`, resourceVersion: String(j) },
      });
      p.xadd(keys[j % PARTITIONS], '*', 'id', randomUUID(), 'body', body);
    }
    await p.exec();
  }
}

/** Raw consumer loops, one blocking connection per partition; `ack`: per entry (awaited) or per batch. */
async function rawConsume(url: string, keys: string[], ack: 'each' | 'batch'): Promise<number> {
  const conns = keys.map(() => new Redis(url, { maxRetriesPerRequest: null }));
  const group = `g-${randomBytes(3).toString('hex')}`;
  await Promise.all(keys.map((k, i) => conns[i].xgroup('CREATE', k, group, '0')));
  let handled = 0;
  const start = performance.now();
  await Promise.all(
    keys.map(async (k, i) => {
      const c = conns[i];
      for (;;) {
        const res = (await c.xreadgroup(
          'GROUP',
          group,
          'c',
          'COUNT',
          BATCH,
          'STREAMS',
          k,
          '>',
        )) as Array<[string, Array<[string, string[]]>]> | null;
        const entries = res?.[0]?.[1] ?? [];
        if (!entries.length) return;
        const ids: string[] = [];
        for (const [sid, fields] of entries) {
          JSON.parse(fields[3]);
          handled++;
          if (ack === 'each') await c.xack(k, group, sid);
          else ids.push(sid);
        }
        if (ids.length) await c.xack(k, group, ...ids);
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  if (handled !== ENTRIES) throw new Error(`raw consumer handled ${handled} of ${ENTRIES}`);
  await Promise.all(conns.map((c) => c.quit()));
  return ENTRIES / secs;
}

async function phantomConsume(url: string, prefix: string, name: string): Promise<number> {
  const messaging = createMessaging({ redisUrl: url, keyPrefix: prefix });
  const ps = messaging.partitioned(name, PARTITIONS);
  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const start = performance.now();
  const h = ps.consume(
    `g-${randomBytes(3).toString('hex')}`,
    'c',
    () => {
      if (++handled === ENTRIES) done();
    },
    { batchSize: BATCH, startId: '0', rebalanceIntervalMs: 20 },
  );
  await finished;
  const secs = (performance.now() - start) / 1000;
  await h.stop();
  await messaging.close();
  return ENTRIES / secs;
}

export async function runStreamBench(
  log: (line: string) => void,
  out = 'bench-results/stream.json',
): Promise<{ ok: boolean }> {
  const url = process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL;
  if (!url) {
    log('skip P4 partitioned stream: set BENCH_REDIS_URL (or REDIS_URL) to run it on Redis\n');
    return { ok: true };
  }
  const prefix = `phantom-bench-p4:${randomBytes(4).toString('hex')}:`;
  const admin = new Redis(url);
  try {
    const runs = { phantom: [] as number[], each: [] as number[], batch: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      const name = `events-${round}`;
      const keys = Array.from({ length: PARTITIONS }, (_, p) => `${prefix}${name}:${p}`);
      await fill(admin, keys);
      // Each consumer reads all entries in a group of its own: the same bytes for all three.
      runs.phantom.push(await phantomConsume(url, prefix, name));
      runs.each.push(await rawConsume(url, keys, 'each'));
      runs.batch.push(await rawConsume(url, keys, 'batch'));
      await admin.del(...keys.map((k) => k));
    }
    const phantom = median(runs.phantom);
    const each = median(runs.each);
    const batch = median(runs.batch);
    const ratio = phantom / batch;
    const ok = ratio >= STREAM_TARGETS.minRatioOfBatch;
    log(
      `P4 partitioned stream consume, ${ENTRIES} entries over ${PARTITIONS} partitions, one consumer, median of ${ROUNDS}\n`,
    );
    log(
      `  Phantom ${Math.round(phantom)} ev/s   raw XACK each ${Math.round(each)} ev/s (${((100 * phantom) / each).toFixed(0)}%)   raw XACK per batch ${Math.round(batch)} ev/s (${(100 * ratio).toFixed(0)}%)\n`,
    );
    log(
      `${ok ? 'ok  ' : 'SLOW'} P4 at ${(100 * ratio).toFixed(0)}% of the batch-acking loop (goal ≥ ${100 * STREAM_TARGETS.minRatioOfBatch}%)\n`,
    );
    mkdirSync('bench-results', { recursive: true });
    writeFileSync(
      out,
      JSON.stringify(
        {
          entries: ENTRIES,
          partitions: PARTITIONS,
          runs,
          median: { phantom, each, batch },
          ratio,
          ok,
        },
        null,
        2,
      ),
    );
    log(`  written: ${out}\n`);
    return { ok };
  } finally {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await admin.unlink(...keys);
    } while (cursor !== '0');
    admin.disconnect();
  }
}

// `node dist/bench/stream.js` runs this part alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runStreamBench((l) => process.stdout.write(l)).then(
    (r) => process.exit(r.ok ? 0 : 1),
    (e) => {
      process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}
