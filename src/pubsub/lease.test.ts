import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testRedisUrl } from '../../test/support/env.js';
import { sleep, testPrefix, waitFor } from './fixtures/wait.js';
import { InProcessLeaseManager } from './in-process-lease.js';
import type { LeaseManager } from './lease.js';
import { createRedis } from './redis-connection.js';
import { RedisLeaseManager } from './redis-lease.js';

const prefix = testPrefix('lease');
let client: Redis | undefined;

const impls: Array<[string, () => LeaseManager]> = [
  ['InProcessLeaseManager', () => new InProcessLeaseManager()],
];
if (testRedisUrl) {
  client = createRedis(testRedisUrl);
  impls.push([
    'RedisLeaseManager',
    () => new RedisLeaseManager({ client: client!, keyPrefix: prefix }),
  ]);
}

afterAll(async () => {
  if (client) {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length) await client.del(...keys);
    await client.quit();
  }
});

describe.each(impls)('%s', (_name, make) => {
  it('has one holder at a time; only the holder renews or releases', async () => {
    const leases = make();
    const name = crypto.randomUUID();
    expect(await leases.acquire(name, 'a', 5000)).toBe(true);
    expect(await leases.acquire(name, 'b', 5000)).toBe(false);
    expect(await leases.acquire(name, 'a', 5000)).toBe(true); // re-entrant
    expect(await leases.holderOf(name)).toBe('a');
    expect(await leases.renew(name, 'b', 5000)).toBe(false);
    expect(await leases.release(name, 'b')).toBe(false);
    expect(await leases.holderOf(name)).toBe('a');
    expect(await leases.renew(name, 'a', 5000)).toBe(true);
    expect(await leases.release(name, 'a')).toBe(true);
    expect(await leases.holderOf(name)).toBeNull();
    expect(await leases.acquire(name, 'b', 5000)).toBe(true);
  });

  it('hands over on expiry, and a renew after expiry fails', async () => {
    const leases = make();
    const name = crypto.randomUUID();
    expect(await leases.acquire(name, 'a', 300)).toBe(true);
    expect(await leases.acquire(name, 'b', 300)).toBe(false);
    await sleep(400);
    expect(await leases.acquire(name, 'b', 5000)).toBe(true);
    expect(await leases.renew(name, 'a', 5000)).toBe(false);
    expect(await leases.holderOf(name)).toBe('b');
  });

  it('runWhileLeader: one leader among contenders; stop() hands over', async () => {
    const leases = make();
    const name = crypto.randomUUID();
    const events: string[] = [];
    const run = (who: string) =>
      leases.runWhileLeader(
        name,
        1000,
        () => void events.push(`+${who}`),
        () => void events.push(`-${who}`),
        { holder: who, intervalMs: 50 },
      );
    const a = run('a');
    await waitFor(() => a.isLeader(), 'a leads');
    const b = run('b');
    await sleep(300); // several tries: b must not get in while a renews
    expect(b.isLeader()).toBe(false);
    await a.stop();
    await waitFor(() => b.isLeader(), 'b takes over', 1000);
    await b.stop();
    expect(events).toEqual(['+a', '-a', '+b', '-b']);
    expect(await leases.holderOf(name)).toBeNull();
  });

  it('runWhileLeader: calls onLose when the lease is taken away', async () => {
    const leases = make();
    const name = crypto.randomUUID();
    let lost = false;
    const h = leases.runWhileLeader(
      name,
      5000,
      () => {},
      () => void (lost = true),
      { holder: 'a', intervalMs: 30 },
    );
    await waitFor(() => h.isLeader(), 'leading');
    // Someone else holds it now (as after an expiry during a long pause).
    await leases.release(name, 'a');
    await leases.acquire(name, 'intruder', 5000);
    await waitFor(() => lost, 'onLose');
    expect(h.isLeader()).toBe(false);
    await h.stop();
    expect(await leases.holderOf(name)).toBe('intruder');
  });

  it('runWhileLeader: a slow onAcquire does not hold up renewals', async () => {
    const leases = make();
    const name = crypto.randomUUID();
    const a = leases.runWhileLeader(
      name,
      300,
      () => sleep(900),
      () => {},
      { holder: 'a', intervalMs: 50 },
    );
    await waitFor(() => a.isLeader(), 'a leads');
    await sleep(600); // twice the TTL, still inside onAcquire
    expect(await leases.acquire(name, 'b', 300)).toBe(false);
    expect(await leases.holderOf(name)).toBe('a');
    await a.stop();
  });
});
