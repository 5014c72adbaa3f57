/**
 * Issue 9, Redis past one node: Phantom on a Redis Cluster of three masters
 * (REDIS_CLUSTER_NODES), each a dedicated redis-server started here with cluster mode on.
 * Sessions (set, read, delete), cache invalidation (several keys at once), the outbox relay's
 * lease, the platform-events stream and the bus all work with keys spread over the masters —
 * no CROSSSLOT refusals.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl, testRedisUrl } from '../support/env.js';
import { startTestPhantom, type TestPhantom } from '../support/harness.js';
import { dedicatedRedis, hasRedisServer, type DedicatedRedis } from '../support/redis-server.js';
import { until } from '../support/until.js';
import { collectEvents, eventually } from '../events/support.js';
import { loadConfig } from '../../src/config.js';
import { redisClusterTarget } from '../../src/pubsub/redis-connection.js';

it('REDIS_CLUSTER_NODES makes a cluster target; not together with sentinels', () => {
  const c = loadConfig({ REDIS_URL: 'redis://:pw@x:1', REDIS_CLUSTER_NODES: 'a:7000,b:7001' });
  expect(c.redisUrl).toBe('redis-cluster://:pw@a:7000,b:7001');
  expect(redisClusterTarget(c.redisUrl!)).toEqual({
    nodes: [
      { host: 'a', port: 7000 },
      { host: 'b', port: 7001 },
    ],
    password: 'pw',
  });
  expect(redisClusterTarget('redis://a:1')).toBeNull();
  expect(() =>
    loadConfig({ REDIS_CLUSTER_NODES: 'a:1', REDIS_SENTINELS: 'b:2', REDIS_SENTINEL_NAME: 'm' }),
  ).toThrow(/not both/);
  expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'a' })).toThrow(/REDIS_CLUSTER_NODES/);
});

describe.runIf(Boolean(testDatabaseUrl && testRedisUrl) && hasRedisServer)(
  'Redis Cluster (MySQL + three dedicated masters)',
  () => {
    const nodes: DedicatedRedis[] = [];
    let t: TestPhantom;

    beforeAll(async () => {
      for (let i = 0; i < 3; i++)
        nodes.push(
          await dedicatedRedis({
            args: [
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              'nodes.conf',
              '--cluster-node-timeout',
              '2000',
            ],
          }),
        );
      const created = spawnSync('redis-cli', [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      expect(created.status, created.stdout.toString() + created.stderr.toString()).toBe(0);
      for (const n of nodes)
        await until('cluster state ok', () => /cluster_state:ok/.test(n.cli('cluster', 'info')));
      t = await startTestPhantom('mysql', {
        env: { REDIS_CLUSTER_NODES: nodes.map((n) => `127.0.0.1:${n.port}`).join(',') },
      });
    }, 60_000);

    afterAll(async () => {
      await t?.stop();
      for (const n of nodes) await n.dispose();
    }, 30_000);

    it('runs sessions, cache invalidation, the relay lease, the event stream and the bus on keys spread over the masters', async () => {
      expect(t.config.redisUrl).toMatch(/^redis-cluster:\/\//);
      const sub = collectEvents(t.ws(), { filter: { types: ['APP_CREATED', 'APP_UPDATED'] } });
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < 6; i++) {
        const r = await t.gql(
          `mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { name } }`,
          { n: `cl-${i}` },
        );
        expect(r.errors).toBeUndefined();
      }
      // Cached reads then an update: the invalidation deletes several keys at once.
      for (let i = 0; i < 6; i++)
        expect(
          (await t.gql(`query($n: String!) { app(name: $n) { name version } }`, { n: `cl-${i}` }))
            .data.app.version,
        ).toBe(1);
      const up = await t.gql(
        `mutation { updateApp(name: "cl-0", input: { description: "changed" }, expectedVersion: 1) { version } }`,
      );
      expect(up.errors).toBeUndefined();
      expect((await t.gql(`{ app(name: "cl-0") { description version } }`)).data.app).toEqual({
        description: 'changed',
        version: 2,
      });
      await eventually(() => sub.events.length === 7, 20_000);
      expect(sub.events.map((e) => e.type)).toEqual([
        ...Array(6).fill('APP_CREATED'),
        'APP_UPDATED',
      ]);
      expect(sub.errors).toEqual([]);

      // Sessions: sign in, use, sign out.
      expect(
        (
          await t.gql(
            `mutation { createUser(input: { username: "cluster-user", password: "password-123" }) { id } }`,
          )
        ).errors,
      ).toBeUndefined();
      const login = await t.gql(
        `mutation { login(username: "cluster-user", password: "password-123") { token } }`,
        {},
        null,
      );
      expect(login.errors).toBeUndefined();
      const token = login.data.login.token as string;
      expect((await t.gql(`{ viewer { username } }`, {}, token)).data.viewer.username).toBe(
        'cluster-user',
      );
      expect((await t.gql(`mutation { logout }`, {}, token)).errors).toBeUndefined();
      expect(
        (await t.gql(`{ viewer { username } }`, {}, token)).errors?.[0]?.extensions?.code,
      ).toBe('UNAUTHENTICATED');

      // deleteApp drops the app's key and its members' roles keys in one call: keys in different
      // slots. A stale cached app after the delete would mean the invalidation was refused.
      expect(
        (await t.gql(`mutation { createApp(input: { name: "cl-del", kind: GO }) { name } }`))
          .errors,
      ).toBeUndefined();
      expect(
        (
          await t.gql(
            `mutation { setAppMember(app: "cl-del", username: "cluster-user", role: OWNER) { name } }`,
          )
        ).errors,
      ).toBeUndefined();
      expect((await t.gql(`{ app(name: "cl-del") { name } }`)).data.app).toEqual({
        name: 'cl-del',
      });
      expect((await t.gql(`mutation { deleteApp(name: "cl-del") }`)).data?.deleteApp).toBe(true);
      expect((await t.gql(`{ app(name: "cl-del") { name } }`)).data.app).toBeNull();

      // The keys really are spread: more than one master holds some.
      const holding = nodes.filter((n) => Number(n.cli('dbsize')) > 0);
      expect(holding.length).toBeGreaterThan(1);
      sub.stop();
    }, 90_000);
  },
);

describe.runIf(Boolean(testDatabaseUrl && testRedisUrl) && hasRedisServer)(
  'Redis Cluster failover (MySQL + three masters with a replica each)',
  () => {
    const nodes: DedicatedRedis[] = [];
    let t: TestPhantom;

    beforeAll(async () => {
      for (let i = 0; i < 6; i++)
        nodes.push(
          await dedicatedRedis({
            args: [
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              'nodes.conf',
              '--cluster-node-timeout',
              '1000',
            ],
          }),
        );
      const created = spawnSync('redis-cli', [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ]);
      expect(created.status, created.stdout.toString() + created.stderr.toString()).toBe(0);
      for (const n of nodes)
        await until('cluster state ok', () => /cluster_state:ok/.test(n.cli('cluster', 'info')));
      // Every replica has caught up with its master before Phantom starts.
      await until('replicas in sync', () =>
        nodes.every(
          (n) =>
            n.cli('role').split('\n')[0] === 'master' ||
            /master_link_status:up/.test(n.cli('info', 'replication')),
        ),
      );
      t = await startTestPhantom('mysql', {
        env: { REDIS_CLUSTER_NODES: nodes.map((n) => `127.0.0.1:${n.port}`).join(',') },
      });
    }, 90_000);

    afterAll(async () => {
      await t?.stop();
      for (const n of nodes) await n.dispose();
    }, 30_000);

    it('follows a master failover: a live subscription loses no event, sign-in and sessions go on', async () => {
      const create = async (name: string) => {
        const r = await t.gql(
          `mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { name } }`,
          { n: name },
        );
        expect(r.errors).toBeUndefined();
      };
      expect(
        (
          await t.gql(
            `mutation { createUser(input: { username: "failover-user", password: "password-123" }) { id } }`,
          )
        ).errors,
      ).toBeUndefined();
      const login = async () => {
        const r = await t.gql(
          `mutation { login(username: "failover-user", password: "password-123") { token } }`,
          {},
          null,
        );
        return r.errors ? undefined : (r.data.login.token as string);
      };
      const sub = collectEvents(t.ws(), { filter: { types: ['APP_CREATED'] } });
      await new Promise((r) => setTimeout(r, 300));
      for (const n of ['fo-before-1', 'fo-before-2']) await create(n);
      await eventually(() => sub.events.length === 2, 15_000);

      // Kill a master that holds keys; its replica must take over its slots.
      const masters = nodes.filter((n) => n.cli('role').split('\n')[0] === 'master');
      expect(masters).toHaveLength(3);
      const victim = masters.find((n) => Number(n.cli('dbsize')) > 0)!;
      expect(victim).toBeDefined();
      const heir = nodes.find(
        (n) =>
          n !== victim &&
          new RegExp(`master_port:${victim.port}\\b`).test(n.cli('info', 'replication')),
      )!;
      expect(heir).toBeDefined();
      await victim.kill();
      const survivor = nodes.find((n) => n !== victim && n !== heir)!;
      await until(
        'the replica takes over and the cluster is whole again',
        () =>
          heir.cli('role').split('\n')[0] === 'master' &&
          /cluster_state:ok/.test(survivor.cli('cluster', 'info')),
        { timeoutMs: 30_000 },
      );

      // Database writes never waited for Redis; their events reach the subscriber once the
      // clients follow the new slot map.
      for (const n of ['fo-after-1', 'fo-after-2', 'fo-after-3']) await create(n);
      await eventually(() => sub.events.length === 5, 30_000);
      expect(sub.events.map((e) => e.app)).toEqual([
        'fo-before-1',
        'fo-before-2',
        'fo-after-1',
        'fo-after-2',
        'fo-after-3',
      ]);
      const ids = sub.events.map((e) => Number(e.id));
      for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]);
      expect(sub.errors).toEqual([]);

      // Sign-in writes a session to whichever master holds its slot now.
      const token = await eventually(() => login(), 20_000);
      expect(token).toMatch(/^phs_/);
      expect((await t.gql(`{ viewer { username } }`, {}, token)).data.viewer.username).toBe(
        'failover-user',
      );
      sub.stop();
    }, 120_000);
  },
);
