/**
 * DATABASE_REPLICA_URLS: reads prefer the replica, writes and credential checks use the
 * primary. The "replica" here is a second database with the same schema and different rows,
 * so where a read came from is visible.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeServices, testDatabaseUrl } from '../support/env.js';
import { createScratchDatabase, startTestPhantom, type TestPhantom } from '../support/harness.js';
import { createOrm, migrate, type Orm } from '../../src/db/orm.js';
import { findAppPage } from '../../src/domain/apps/app.repository.js';

describeServices('read replicas (MySQL)', () => {
  let t: TestPhantom;
  let dropReplica: () => Promise<void>;
  beforeAll(async () => {
    const replica = await createScratchDatabase(testDatabaseUrl!);
    dropReplica = replica.drop;
    const { orm } = await createOrm({ databaseUrl: replica.url });
    await migrate(orm);
    await orm.em.getConnection().execute(
      `insert into apps (name, kind, description, repository, build_command, start_command, stop_command, container, release_config, version, created_at, updated_at)
       values ('only-on-replica', 'GO', 'from the replica', '', '', '', '', '{"replicas":1,"cpu":"100m","memory":"128Mi","port":8080,"healthCheckPath":"/healthz","hpa":null}', '{"strategy":"ROLLING","autoRollback":true,"autoReleaseEnvs":[]}', 1, now(3), now(3))`,
    );
    await orm.close(true);
    t = await startTestPhantom('mysql', { env: { DATABASE_REPLICA_URLS: replica.url } });
  });
  afterAll(async () => {
    await t?.stop();
    await dropReplica?.();
  });

  it('reads from the replica, writes to the primary, checks credentials on the primary', async () => {
    // The admin token exists only on the primary: if credential checks used the replica this would be UNAUTHENTICATED.
    const list = await t.gql(
      `{ apps(filter: { name: "only-on-replica" }) { edges { node { description } } } }`,
    );
    expect(list.errors).toBeUndefined();
    expect(list.data.apps.edges).toEqual([{ node: { description: 'from the replica' } }]);
    const created = await t.gql(
      `mutation { createApp(input: { name: "on-primary", kind: NODE }) { name version } }`,
    );
    expect(created.errors).toBeUndefined();
    // Read-your-writes where it matters, although this "replica" never receives the writes:
    // the mutation's answer, and the app-by-name cache (filled from the primary).
    const withMembers = await t.gql(
      `mutation { createApp(input: { name: "mine", kind: GO }) { members { user { username } role } } }`,
    );
    expect(withMembers.data.createApp.members).toEqual([
      { user: { username: 'admin' }, role: 'OWNER' },
    ]);
    await t.gql(`mutation { updateApp(name: "mine", input: { description: "v2" }) { version } }`);
    const read = await t.gql(`{ app(name: "mine") { description version } }`);
    expect(read.data.app).toEqual({ description: 'v2', version: 2 });
    const primary = t.phantom.platform.orm.em.fork();
    const rows = await primary
      .getConnection('write')
      .execute(`select name from apps where name = 'on-primary'`);
    expect(rows).toHaveLength(1);
  });
});

describeServices('DATABASE_POOL_MAX', () => {
  it('sizes the primary pool: more statements at once than that wait for a connection', async () => {
    const t = await startTestPhantom('mysql', { env: { DATABASE_POOL_MAX: '3' } });
    try {
      const pool = (t.phantom.platform.orm.em.getConnection('write') as any).getKnex().client.pool;
      expect(pool.max).toBe(3);
      const conn = t.phantom.platform.orm.em.fork().getConnection('write');
      let maxUsed = 0;
      let maxPending = 0;
      const running = Promise.all(
        Array.from({ length: 6 }, () => conn.execute('select sleep(0.3) as s')),
      );
      const probe = setInterval(() => {
        maxUsed = Math.max(maxUsed, pool.numUsed());
        maxPending = Math.max(maxPending, pool.numPendingAcquires());
      }, 10);
      await running;
      clearInterval(probe);
      expect(maxUsed).toBe(3);
      expect(maxPending).toBeGreaterThan(0);
    } finally {
      await t.stop();
    }
  }, 60_000);
});

describeServices('a page of apps and its members, with two read replicas (MySQL)', () => {
  // Two replicas at different points of replication: `ahead` has the app "new" and its owner,
  // `behind` has neither. Either answer is a state that existed; "new" without members is not.
  let orm: Orm;
  const drops: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    const urls: string[] = [];
    for (const withNew of [null, true, false]) {
      const db = await createScratchDatabase(testDatabaseUrl!);
      drops.push(db.drop);
      urls.push(db.url);
      const { orm: one } = await createOrm({ databaseUrl: db.url });
      await migrate(one);
      const conn = one.em.getConnection();
      await conn.execute(
        `insert into users (id, username, display_name, password_hash, is_admin, created_at, updated_at) values (1, 'owner', 'Owner', 'x', 0, now(3), now(3))`,
      );
      const apps = withNew ? ['new', 'old'] : ['old'];
      for (const [i, name] of apps.entries()) {
        await conn.execute(
          `insert into apps (id, name, kind, description, repository, build_command, start_command, stop_command, container, release_config, version, created_at, updated_at)
           values (?, ?, 'GO', '', '', '', '', '', '{"replicas":1,"cpu":"100m","memory":"128Mi","port":8080,"healthCheckPath":"/healthz","hpa":null}', '{"strategy":"ROLLING","autoRollback":true,"autoReleaseEnvs":[]}', 1, now(3), now(3))`,
          [name === 'old' ? 1 : 2 + i, name],
        );
        await conn.execute(
          `insert into app_members (app_id, user_id, role, created_at) values (?, 1, 'OWNER', now(3))`,
          [name === 'old' ? 1 : 2 + i],
        );
      }
      await one.close(true);
    }
    ({ orm } = await createOrm({ databaseUrl: urls[0], replicaUrls: urls.slice(1) }));
  });
  afterAll(async () => {
    await orm?.close(true);
    for (const drop of drops) await drop();
  });

  it('reads the members where it read the page: never an app without its owner', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const { rows, totalCount } = await findAppPage(orm.em.fork(), {
        filter: {},
        limit: 10,
        members: true,
        count: true,
      });
      const page = rows.map(
        (r) => `${r.name}:${(r.memberRows ?? []).map((m) => m.user.username).join(',')}`,
      );
      seen.add(page.join(' '));
      expect(totalCount).toBe(rows.length);
    }
    // Both replicas answered (MikroORM picks one at random per page), each consistently.
    expect([...seen].sort()).toEqual(['new:owner old:owner', 'old:owner']);
  });
});
