import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { describeRedis, testRedisUrl } from '../../test/support/env.js';
import { testPrefix, waitFor } from './fixtures/wait.js';
import { createMessaging } from './index.js';
import { createRedis } from './redis-connection.js';
import { RedisLeaseManager } from './redis-lease.js';

type Topics = { ping: { n: number } };
const prefix = testPrefix('messaging');

describe('createMessaging without a Redis URL', () => {
  it('is in-process and works end to end', async () => {
    const m = createMessaging<Topics>();
    expect(m.mode).toBe('in-process');
    const got: number[] = [];
    m.bus.subscribe('ping', (p) => got.push(p.n));
    await m.bus.publish('ping', { n: 1 });
    const sid = await m.streams.append('s', { body: { a: 1 } });
    expect((await m.streams.read('s'))[0].streamId).toBe(sid);
    expect(await m.leases.acquire('l', 'me', 1000)).toBe(true);
    await waitFor(() => got.length === 1, 'bus delivery');
    await m.close();
  });
});

describeRedis('createMessaging with a Redis URL', () => {
  const admin = new Redis(testRedisUrl!);
  afterAll(async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  });

  it('two instances (two replicas) share bus, streams and leases under the key prefix', async () => {
    const a = createMessaging<Topics>({ redisUrl: testRedisUrl, keyPrefix: prefix });
    const b = createMessaging<Topics>({ redisUrl: testRedisUrl, keyPrefix: prefix });
    expect(a.mode).toBe('redis');
    const got: number[] = [];
    b.bus.subscribe('ping', (p) => got.push(p.n));
    await b.bus.ready();
    await a.bus.publish('ping', { n: 7 });
    await waitFor(() => got[0] === 7, 'cross-instance delivery');

    await a.streams.append('events', { id: 'e1', body: { x: 1 } });
    expect((await b.streams.read('events')).map((e) => e.id)).toEqual(['e1']);
    expect(await admin.xlen(`${prefix}events`)).toBe(1);

    expect(await a.leases.acquire('relay', 'a', 5000)).toBe(true);
    expect(await b.leases.acquire('relay', 'b', 5000)).toBe(false);
    expect(await admin.get(`${prefix}lease:relay`)).toBe('a');

    await Promise.all([a.close(), b.close()]);
  });

  it('refuses a client with an ioredis keyPrefix (keys would be prefixed twice, channels not at all)', async () => {
    const client = createRedis(testRedisUrl!, { keyPrefix: 'x:' });
    expect(() => new RedisLeaseManager({ client })).toThrow(/without keyPrefix/);
    await client.quit();
  });
});
