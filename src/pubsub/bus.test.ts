import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { describeRedis, testRedisUrl } from '../../test/support/env.js';
import type { Bus } from './bus.js';
import { sleep, testPrefix, waitFor } from './fixtures/wait.js';
import { InProcessBus } from './in-process-bus.js';
import { RedisBus } from './redis-bus.js';

type Topics = {
  releaseProgress: { releaseId: string; step: number; at?: unknown };
  podEvents: { pod: string };
};

const prefix = testPrefix('bus');

/** Behaviour both implementations must share; `pair()` gives (publisher side, subscriber side). */
function sharedSuite(
  pair: (onError?: (err: unknown) => void) => Promise<[Bus<Topics>, Bus<Topics>]>,
): void {
  let open: Bus<Topics>[] = [];
  const make = async (onError?: (err: unknown) => void): Promise<[Bus<Topics>, Bus<Topics>]> => {
    const p = await pair(onError);
    open.push(...p);
    return p;
  };
  afterEach(async () => {
    await Promise.all(open.map((b) => b.close()));
    open = [];
  });

  it('delivers a published payload to a subscriber, JSON round-tripped', async () => {
    const [a, b] = await make();
    const got: Topics['releaseProgress'][] = [];
    b.subscribe('releaseProgress', (p) => got.push(p));
    await b.ready();
    await a.publish('releaseProgress', { releaseId: 'r1', step: 1, at: new Date(0) });
    await waitFor(() => got.length === 1, 'delivery');
    expect(got[0]).toEqual({ releaseId: 'r1', step: 1, at: '1970-01-01T00:00:00.000Z' });
  });

  it('keeps keyed topics apart and unsubscribes', async () => {
    const [a, b] = await make();
    const shop: string[] = [];
    const all: string[] = [];
    const off = b.subscribe('podEvents', (p) => shop.push(p.pod), 'shop:prod');
    b.subscribe('podEvents', (p) => all.push(p.pod));
    await b.ready();
    await a.publish('podEvents', { pod: 'x' }, 'cart:prod');
    await a.publish('podEvents', { pod: 'y' }, 'shop:prod');
    await a.publish('podEvents', { pod: 'z' });
    await waitFor(() => shop.length === 1 && all.length === 1, 'keyed delivery');
    expect(shop).toEqual(['y']);
    expect(all).toEqual(['z']);
    off();
    await b.ready();
    await a.publish('podEvents', { pod: 'w' }, 'shop:prod');
    await a.publish('podEvents', { pod: 'v' });
    await waitFor(() => all.length === 2, 'later delivery');
    expect(shop).toEqual(['y']);
  });

  it('survives a throwing handler: other handlers still get the message', async () => {
    const errors: unknown[] = [];
    const [a, b] = await make((e) => errors.push(e));
    const got: number[] = [];
    b.subscribe('releaseProgress', () => {
      throw new Error('boom');
    });
    b.subscribe('releaseProgress', (p) => got.push(p.step));
    await b.ready();
    await a.publish('releaseProgress', { releaseId: 'r', step: 7 });
    await waitFor(
      () => got.length === 1 && errors.length === 1,
      'delivery despite a throwing handler',
    );
  });

  it('asyncIterator yields several topics in order and cleans up on return()', async () => {
    const [a, b] = await make();
    const it = b.asyncIterator(['releaseProgress', 'podEvents']);
    await b.ready();
    await a.publish('releaseProgress', { releaseId: 'r', step: 1 });
    await a.publish('podEvents', { pod: 'p' });
    expect((await it.next()).value).toEqual({ releaseId: 'r', step: 1 });
    expect((await it.next()).value).toEqual({ pod: 'p' });
    const pending = it.next();
    await it.return!();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect((b as unknown as { channelCount: number }).channelCount).toBe(0);
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('close() ends open iterators', async () => {
    const [, b] = await make();
    const it = b.asyncIterator('podEvents', { key: 'a:b' });
    const pending = it.next();
    await b.close();
    expect((await pending).done).toBe(true);
  });
}

describe('InProcessBus', () => {
  sharedSuite((onError) => {
    const bus = new InProcessBus<Topics>({ onError });
    return Promise.resolve([bus, bus]);
  });

  it('never runs a handler inside publish (async, like Redis)', async () => {
    const bus = new InProcessBus<Topics>();
    let ran = false;
    bus.subscribe('podEvents', () => (ran = true));
    const p = bus.publish('podEvents', { pod: 'a' });
    expect(ran).toBe(false);
    await p;
    await sleep(0);
    expect(ran).toBe(true);
    await bus.close();
  });

  it('rejects topic names containing ":"', () => {
    const bus = new InProcessBus<Record<string, unknown>>();
    expect(() => bus.subscribe('a:b', () => {})).toThrow(/may not contain/);
  });
});

describeRedis('RedisBus (two replicas: two buses, separate connections)', () => {
  const url = testRedisUrl!;
  const admin = new Redis(url);
  afterAll(async () => {
    await admin.quit();
  });

  sharedSuite((onError) =>
    Promise.resolve([
      new RedisBus<Topics>({ url, keyPrefix: prefix, onError }),
      new RedisBus<Topics>({ url, keyPrefix: prefix, onError }),
    ]),
  );

  it('unsubscribes in Redis when the last local handler goes', async () => {
    const bus = new RedisBus<Topics>({ url, keyPrefix: prefix });
    const channel = `${prefix}podEvents:k`;
    const off1 = bus.subscribe('podEvents', () => {}, 'k');
    const off2 = bus.subscribe('podEvents', () => {}, 'k');
    await bus.ready();
    expect(await admin.pubsub('NUMSUB', channel)).toEqual([channel, 1]);
    off1();
    await bus.ready();
    expect(await admin.pubsub('NUMSUB', channel)).toEqual([channel, 1]);
    off2();
    await bus.ready();
    expect(await admin.pubsub('NUMSUB', channel)).toEqual([channel, 0]);
    const it = bus.asyncIterator('podEvents', { key: 'k' });
    await bus.ready();
    expect(await admin.pubsub('NUMSUB', channel)).toEqual([channel, 1]);
    await it.return!();
    await bus.ready();
    expect(await admin.pubsub('NUMSUB', channel)).toEqual([channel, 0]);
    await bus.close();
  });

  it('isolates key prefixes', async () => {
    const a = new RedisBus<Topics>({ url, keyPrefix: prefix });
    const other = new RedisBus<Topics>({ url, keyPrefix: `${prefix}other:` });
    const got: string[] = [];
    other.subscribe('podEvents', (p) => got.push(p.pod));
    a.subscribe('podEvents', (p) => got.push(`a:${p.pod}`));
    await Promise.all([a.ready(), other.ready()]);
    await a.publish('podEvents', { pod: 'x' });
    await waitFor(() => got.length >= 1, 'own delivery');
    await sleep(50);
    expect(got).toEqual(['a:x']);
    await Promise.all([a.close(), other.close()]);
  });
});
