import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { testRedisUrl } from '../../test/support/env.js';
import { Deduper } from './deduper.js';
import { sleep, testPrefix, waitFor } from './fixtures/wait.js';
import { type Messaging, createMessaging } from './index.js';
import {
  type PartitionConsumerHandle,
  type PartitionedEntry,
  fnv1a,
} from './partitioned-stream.js';

const prefix = testPrefix('partitioned');

describe('fnv1a and partitionOf', () => {
  it('matches the FNV-1a 32-bit reference values', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });

  it('spreads keys over all partitions, stably', () => {
    const m = createMessaging();
    const ps = m.partitioned('spread', 8);
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[ps.partitionOf(`uid-${i}`)]++;
    for (const c of counts) expect(c).toBeGreaterThan(700);
    expect(ps.partitionOf('uid-42')).toBe(fnv1a('uid-42') % 8);
    expect(() => m.partitioned('spread', 4)).toThrow(/already has 8/);
  });
});

describe('Deduper', () => {
  it('reports repeats and forgets the least recently seen beyond capacity', () => {
    const d = new Deduper(3);
    expect(['a', 'b', 'a', 'c', 'd'].map((id) => d.seen(id))).toEqual([
      false,
      false,
      true,
      false,
      false,
    ]);
    // 'b' was the least recently seen when 'd' arrived
    expect(d.seen('b')).toBe(false);
    expect(d.size).toBe(3);
  });
});

const modes: Array<[string, () => Messaging<Record<string, never>>]> = [
  ['in-process', () => createMessaging()],
];
if (testRedisUrl)
  modes.push(['redis', () => createMessaging({ redisUrl: testRedisUrl, keyPrefix: prefix })]);

afterAll(async () => {
  if (!testRedisUrl) return;
  const admin = new Redis(testRedisUrl);
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length) await admin.del(...keys);
  await admin.quit();
});

describe.each(modes)('PartitionedStream (%s, consumers in this process)', (mode, make) => {
  const open: Messaging<Record<string, never>>[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((m) => m.close()));
  });

  it('splits partitions between consumers, keeps per-key order, and hands over on stop', async () => {
    // In-process mode shares one messaging instance (one process); Redis mode gives each
    // consumer its own connections, as separate replicas would have.
    const shared = make();
    open.push(shared);
    const m1 = shared;
    const m2 = mode === 'redis' ? make() : shared;
    if (m2 !== shared) open.push(m2);
    const name = `objs-${crypto.randomUUID().slice(0, 6)}`;
    const handled: PartitionedEntry[] = [];
    // A long TTL with fast ticks: the handover below can only be this quick if stop() released.
    const opts = { leaseTtlMs: 10_000, rebalanceIntervalMs: 100, blockMs: 200 };
    const c1 = m1.partitioned(name, 4).consume('g', 'c1', (e) => void handled.push(e), opts);
    const c2: PartitionConsumerHandle = m2
      .partitioned(name, 4)
      .consume('g', 'c2', (e) => void handled.push(e), opts);
    await waitFor(() => c1.owned().length === 2 && c2.owned().length === 2, 'a balanced split');
    expect([...c1.owned(), ...c2.owned()].sort()).toEqual([0, 1, 2, 3]);

    const producer = m1.partitioned(name, 4);
    for (let v = 1; v <= 5; v++) {
      await Promise.all(
        Array.from({ length: 50 }, (_, o) => producer.append(`o${o}`, { v }, { id: `o${o}:${v}` })),
      );
    }
    await waitFor(() => handled.length >= 250, 'all entries');
    const byKey = new Map<string, number[]>();
    for (const e of handled) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e.body.v as number]);
    expect(byKey.size).toBe(50);
    for (const vs of byKey.values()) expect(vs).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(handled.map((e) => e.id)).size).toBe(250);
    for (const e of handled) expect(e.partition).toBe(producer.partitionOf(e.key));

    // A clean stop releases at once: the other consumer takes everything long before the TTL.
    await c2.stop();
    await waitFor(() => c1.owned().length === 4, 'takeover after stop', 3000);
    await producer.append('o1', { v: 6 }, { id: 'o1:6' });
    await waitFor(() => handled.some((e) => e.id === 'o1:6'), 'entry after takeover');
    await sleep(50);
    expect(handled).toHaveLength(251);
  });

  it('stops reading a partition whose lease it lost, and takes back one left free', async () => {
    const m = make();
    open.push(m);
    const name = `lost-${crypto.randomUUID().slice(0, 6)}`;
    const c = m
      .partitioned(name, 2)
      .consume('g', 'c', () => {}, { leaseTtlMs: 10_000, rebalanceIntervalMs: 50, blockMs: 100 });
    await waitFor(() => c.owned().length === 2, 'owns both');
    // As after a long pause: the lease expired and someone else took partition 1.
    await m.leases.release(`${name}:g:1`, 'c');
    expect(await m.leases.acquire(`${name}:g:1`, 'intruder', 10_000)).toBe(true);
    await waitFor(() => c.owned().join() === '0', 'gives up partition 1');
    await m.leases.release(`${name}:g:1`, 'intruder');
    await waitFor(() => c.owned().length === 2, 'takes partition 1 back');
  });
});
