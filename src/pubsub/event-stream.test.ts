import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { testRedisUrl } from '../../test/support/env.js';
import type { ConsumerHandle, EventStream, StreamEntry } from './event-stream.js';
import { sleep, testPrefix, waitFor } from './fixtures/wait.js';
import { InProcessEventStream } from './in-process-event-stream.js';
import { createRedis } from './redis-connection.js';
import { RedisEventStream } from './redis-event-stream.js';

const prefix = testPrefix('stream');
const clients: Redis[] = [];

const impls: Array<[string, () => EventStream]> = [
  ['InProcessEventStream', () => new InProcessEventStream()],
];
if (testRedisUrl) {
  impls.push([
    'RedisEventStream',
    () => {
      const client = createRedis(testRedisUrl!);
      clients.push(client);
      return new RedisEventStream({ url: testRedisUrl!, client, keyPrefix: prefix });
    },
  ]);
}

afterAll(async () => {
  if (testRedisUrl) {
    const admin = new Redis(testRedisUrl);
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  }
  await Promise.all(clients.map((c) => c.quit()));
});

describe.each(impls)('%s', (_name, make) => {
  let streams: EventStream;
  let n = 0;
  const fresh = (): string => `s${++n}-${crypto.randomUUID().slice(0, 6)}`;
  const consumers: ConsumerHandle[] = [];
  const consume = (...args: Parameters<EventStream['consume']>): ConsumerHandle => {
    const h = streams.consume(...args);
    consumers.push(h);
    return h;
  };
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    await streams?.close();
  });

  it('appends and reads back in order, paging with afterId', async () => {
    streams = make();
    const s = fresh();
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) ids.push(await streams.append(s, { id: `e${i}`, body: { i } }));
    expect([...ids].sort()).toHaveLength(25);
    const first = await streams.read(s, '0', 10);
    expect(first.map((e) => e.body.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(first[3].id).toBe('e3');
    expect(first.map((e) => e.streamId)).toEqual(ids.slice(0, 10));
    const rest = await streams.read(s, first.at(-1)!.streamId, 100);
    expect(rest.map((e) => e.body.i)).toEqual(Array.from({ length: 15 }, (_, i) => i + 10));
    const generated = await streams.append(s, { body: {} });
    expect((await streams.read(s, rest.at(-1)!.streamId))[0].id).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated).toBeTypeOf('string');
  });

  it('reads from any id: one of its own, one between entries, one past the end, across milliseconds', async () => {
    streams = make();
    const s = fresh();
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) {
      ids.push(await streams.append(s, { body: { i } }));
      if (i % 100 === 99) await sleep(3); // ids in several milliseconds, several per millisecond
    }
    const at = async (after: string, count = 5) =>
      (await streams.read(s, after, count)).map((e) => e.body.i);
    expect(await at(ids[150])).toEqual([151, 152, 153, 154, 155]);
    expect(await at(ids[299])).toEqual([]);
    expect(await at('0-0', 3)).toEqual([0, 1, 2]);
    // An id no entry has: what follows it in the numeric order (not the string order).
    const [ms, seq] = ids[200].split('-').map(Number);
    expect(await at(`${ms}-${seq}`, 1)).toEqual([201]);
    const firstOfMs = ids.findIndex((id) => Number(id.split('-')[0]) >= ms);
    expect(await at(`${ms - 1}-999999`, 1)).toEqual([firstOfMs]);
    expect(await at(`${ms}`, 1)).toEqual([
      ids[firstOfMs] === `${ms}-0` ? firstOfMs + 1 : firstOfMs,
    ]);
    expect(await at(`${Number(ids[299].split('-')[0]) + 1}-0`)).toEqual([]);
  });

  it('trims', async () => {
    streams = make();
    const s = fresh();
    for (let i = 0; i < 30; i++) await streams.append(s, { body: { i } });
    expect(await streams.trim(s, 10, true)).toBe(20);
    expect((await streams.read(s)).map((e) => e.body.i)).toEqual([
      20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
    ]);
  });

  it('consumer group: in order, acked after the handler, a failed entry retried before the next', async () => {
    streams = make();
    const s = fresh();
    for (let i = 0; i < 5; i++) await streams.append(s, { id: `e${i}`, body: { i } });
    const seen: number[] = [];
    let failed = false;
    const errors: unknown[] = [];
    const c = consume(
      s,
      'g',
      'c1',
      (e) => {
        seen.push(e.body.i as number);
        if (e.body.i === 2 && !failed) {
          failed = true;
          return Promise.reject(new Error('transient'));
        }
        return Promise.resolve();
      },
      { retryDelayMs: 50, blockMs: 100, onError: (err) => errors.push(err) },
    );
    await waitFor(() => seen.length >= 6, 'all entries');
    await streams.append(s, { id: 'e5', body: { i: 5 } });
    await waitFor(() => seen.length >= 7, 'a later entry');
    expect(seen).toEqual([0, 1, 2, 2, 3, 4, 5]);
    expect(errors).toHaveLength(1);
    await c.stop();

    // Everything was acked: a second consumer of the group, claiming anything idle, gets nothing.
    const again: unknown[] = [];
    consume(s, 'g', 'c2', (e) => again.push(e), {
      claimIdleMs: 0,
      claimIntervalMs: 10,
      blockMs: 50,
    });
    await sleep(300);
    expect(again).toEqual([]);
  });

  it('another consumer gets what a dead consumer left un-acked, but only after the idle time', async () => {
    streams = make();
    const s = fresh();
    for (let i = 0; i < 4; i++) await streams.append(s, { body: { i } });
    // A consumer whose handler never succeeds: it has read the batch (now pending on it) and
    // acks nothing. Stopping it is as good as a crash for the group.
    let deliveredAt = 0;
    const dead = consume(
      s,
      'g',
      'dead',
      () => {
        deliveredAt = Date.now();
        throw new Error('never acks');
      },
      { retryDelayMs: 10_000, onError: () => {} },
    );
    await waitFor(() => deliveredAt > 0, 'first delivery');
    await dead.stop();

    const got: Array<{ i: number; at: number }> = [];
    consume(s, 'g', 'alive', (e) => void got.push({ i: e.body.i as number, at: Date.now() }), {
      claimIdleMs: 400,
      claimIntervalMs: 50,
      blockMs: 100,
    });
    await waitFor(() => got.length === 4, 'claimed entries', 5000);
    expect(got.map((g) => g.i)).toEqual([0, 1, 2, 3]);
    expect(got[0].at - deliveredAt).toBeGreaterThanOrEqual(390);
  });

  it('startId "$" skips history; stop() ends a blocked read promptly', async () => {
    streams = make();
    const s = fresh();
    await streams.append(s, { body: { old: true } });
    const got: StreamEntry[] = [];
    const c = consume(s, 'late', 'c', (e) => void got.push(e), { startId: '$', blockMs: 5000 });
    await sleep(200);
    await streams.append(s, { body: { old: false } });
    await waitFor(() => got.length === 1, 'new entry');
    expect(got[0].body).toEqual({ old: false });
    await sleep(100); // now blocked in a 5 s read
    const t0 = Date.now();
    await c.stop();
    expect(Date.now() - t0).toBeLessThan(1000); // not the 5 s block
  });
});

describe.runIf(Boolean(testRedisUrl))(
  'RedisEventStream: group lost (Redis restarted without its data)',
  () => {
    it('recreates the group on NOGROUP and goes on consuming (regression: it looped on NOGROUP forever)', async () => {
      const client = createRedis(testRedisUrl!);
      clients.push(client);
      const streams = new RedisEventStream({ url: testRedisUrl!, client, keyPrefix: prefix });
      const s = `nogroup-${crypto.randomUUID().slice(0, 6)}`;
      const got: unknown[] = [];
      const errors: unknown[] = [];
      const h = streams.consume(s, 'g', 'c1', (e) => void got.push(e.body.i), {
        blockMs: 50,
        retryDelayMs: 50,
        onError: (err) => errors.push(err),
      });
      try {
        await streams.append(s, { body: { i: 1 } });
        await waitFor(() => got.length === 1, 'first entry');
        // What a restart without persistence leaves: no stream, no group.
        await client.del(`${prefix}${s}`);
        await sleep(200);
        await streams.append(s, { body: { i: 2 } });
        await waitFor(() => got.length === 2, 'the entry after the group was lost', 5000);
        expect(got).toEqual([1, 2]);
        expect(errors.some((e) => String(e).includes('NOGROUP'))).toBe(true);
      } finally {
        await h.stop();
        await streams.close();
      }
    });
  },
);
