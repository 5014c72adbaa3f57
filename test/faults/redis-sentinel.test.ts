/**
 * Issue 9, Redis past one node: Phantom through Redis Sentinel (REDIS_SENTINELS,
 * REDIS_SENTINEL_NAME). A master, a replica and a sentinel, each a dedicated redis-server;
 * the master is killed while Phantom runs: the sentinel promotes the replica, and Phantom's
 * connections follow by themselves — no event is lost or duplicated on a live subscription,
 * sessions and sign-in work against the new master, without a restart.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl, testRedisUrl } from '../support/env.js';
import { startTestPhantom, type TestPhantom } from '../support/harness.js';
import {
  dedicatedRedis,
  freePort,
  hasRedisServer,
  type DedicatedRedis,
} from '../support/redis-server.js';
import { until } from '../support/until.js';
import { collectEvents, eventually } from '../events/support.js';
import { loadConfig } from '../../src/config.js';
import { redisTargetOptions } from '../../src/pubsub/redis-connection.js';

it('REDIS_SENTINELS and REDIS_SENTINEL_NAME make a Sentinel target, credentials and db from REDIS_URL', () => {
  const c = loadConfig({
    REDIS_URL: 'redis://:s3cret@ignored:6379/2',
    REDIS_SENTINELS: 'a:26379, b:26380',
    REDIS_SENTINEL_NAME: 'main',
  });
  expect(c.redisUrl).toBe('redis-sentinel://:s3cret@a:26379,b:26380/main/2');
  expect(redisTargetOptions(c.redisUrl!)).toEqual({
    options: {
      sentinels: [
        { host: 'a', port: 26379 },
        { host: 'b', port: 26380 },
      ],
      name: 'main',
      password: 's3cret',
      db: 2,
    },
  });
  expect(() => loadConfig({ REDIS_SENTINELS: 'a:1' })).toThrow(/REDIS_SENTINEL_NAME/);
  expect(() => loadConfig({ REDIS_SENTINELS: 'a', REDIS_SENTINEL_NAME: 'm' })).toThrow(
    /REDIS_SENTINELS/,
  );
  expect(redisTargetOptions('redis://h:1/0')).toEqual({ url: 'redis://h:1/0', options: {} });
});

describe.runIf(Boolean(testDatabaseUrl && testRedisUrl) && hasRedisServer)(
  'Redis Sentinel failover (MySQL + dedicated master, replica, sentinel)',
  () => {
    let master: DedicatedRedis;
    let replica: DedicatedRedis;
    let sentinel: ChildProcess;
    let sentinelPort: number;
    let sentinelDir: string;
    let t: TestPhantom;
    const scli = (...a: string[]) =>
      spawnSync('redis-cli', ['-p', String(sentinelPort), ...a])
        .stdout?.toString()
        .trim() ?? '';

    beforeAll(async () => {
      master = await dedicatedRedis();
      replica = await dedicatedRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
      await until('replica in sync', () =>
        /master_link_status:up/.test(replica.cli('info', 'replication')),
      );
      sentinelPort = await freePort();
      sentinelDir = mkdtempSync(join(tmpdir(), 'phantom-sentinel-'));
      const conf = join(sentinelDir, 'sentinel.conf');
      writeFileSync(
        conf,
        [
          `port ${sentinelPort}`,
          'bind 127.0.0.1',
          `dir ${sentinelDir}`,
          `sentinel monitor phantom-main 127.0.0.1 ${master.port} 1`,
          'sentinel down-after-milliseconds phantom-main 1000',
          'sentinel failover-timeout phantom-main 5000',
          '',
        ].join('\n'),
      );
      sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
      await until('sentinel sees the replica', () =>
        scli('sentinel', 'replicas', 'phantom-main').includes(String(replica.port)),
      );
      t = await startTestPhantom('mysql', {
        env: { REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`, REDIS_SENTINEL_NAME: 'phantom-main' },
      });
    }, 60_000);

    afterAll(async () => {
      await t?.stop();
      if (sentinel && sentinel.exitCode === null) {
        const exited = new Promise((r) => sentinel.once('exit', r));
        sentinel.kill('SIGKILL');
        await exited;
      }
      await replica?.dispose();
      await master?.dispose();
      if (sentinelDir) rmSync(sentinelDir, { recursive: true, force: true });
    }, 60_000);

    it('follows a failover: sessions, sign-in and a live subscription go on without a restart or a lost event', async () => {
      expect(t.config.redisUrl).toBe(`redis-sentinel://127.0.0.1:${sentinelPort}/phantom-main`);
      const user = await t.gql(
        `mutation { createUser(input: { username: "sentinel-user", password: "password-123" }) { id } }`,
      );
      expect(user.errors).toBeUndefined();
      const login = async () => {
        const r = await t.gql(
          `mutation { login(username: "sentinel-user", password: "password-123") { token } }`,
          {},
          null,
        );
        return r.errors ? undefined : (r.data.login.token as string);
      };
      const session = (await login())!;
      expect(session).toMatch(/^phs_/);
      // Sessions live in Redis: on the master now.
      expect(Number(master.cli('dbsize'))).toBeGreaterThan(0);

      const sub = collectEvents(t.ws(), { filter: { types: ['APP_CREATED'] } });
      const create = async (name: string) => {
        const r = await t.gql(
          `mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { name } }`,
          { n: name },
        );
        expect(r.errors).toBeUndefined();
      };
      await new Promise((r) => setTimeout(r, 300));
      for (const n of ['before-1', 'before-2']) await create(n);
      await eventually(() => sub.events.length === 2, 15_000);

      await master.kill();
      await until(
        'the sentinel promotes the replica',
        () =>
          scli('sentinel', 'get-master-addr-by-name', 'phantom-main').includes(
            String(replica.port),
          ),
        { timeoutMs: 30_000 },
      );
      // Database writes never waited for Redis; their events reach the subscriber once the bus follows the new master.
      for (const n of ['after-1', 'after-2', 'after-3']) await create(n);
      await eventually(() => sub.events.length === 5, 30_000);
      expect(sub.events.map((e) => e.app)).toEqual([
        'before-1',
        'before-2',
        'after-1',
        'after-2',
        'after-3',
      ]);
      const ids = sub.events.map((e) => Number(e.id));
      for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]);
      expect(sub.errors).toEqual([]);

      // The session written before the failover was replicated; a new sign-in writes to the new master.
      const me = await eventually(async () => {
        const r = await t.gql(`{ viewer { username } }`, {}, session);
        return r.data?.viewer?.username;
      }, 20_000);
      expect(me).toBe('sentinel-user');
      const again = await eventually(() => login(), 20_000);
      expect(again).toMatch(/^phs_/);
      expect(replica.cli('role').split('\n')[0]).toBe('master');
      sub.stop();
    }, 120_000);
  },
);
