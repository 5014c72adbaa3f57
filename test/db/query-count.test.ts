/**
 * The N+1 guard: a page of apps with their members and users costs the same number of SQL
 * statements whatever the page size: the token check, one statement for the page and its
 * count, and one for its members and their users (issue 9, P1/P2).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeServices } from '../support/env.js';
import { createUserWithToken, startTestPhantom, type TestPhantom } from '../support/harness.js';

describeServices('SQL statements per request (MySQL)', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('mysql');
    await createUserWithToken(t, 'carol');
    for (let i = 0; i < 55; i++) {
      const name = `svc-${String(i).padStart(2, '0')}`;
      const r = await t.gql(
        `mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { name } }`,
        { n: name },
      );
      expect(r.errors).toBeUndefined();
      await t.gql(
        `mutation($n: String!) { setAppMember(app: $n, username: "carol", role: DEVELOPER) { name } }`,
        { n: name },
      );
    }
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
  });

  async function count(first: number): Promise<number> {
    const q = `query($f: Int) { apps(first: $f) { totalCount edges { node { name members { role user { username } } } } } }`;
    await t.gql(q, { f: first }); // warm the credential cache; not counted
    const r = await t.gql(q, { f: first });
    // Counted per request, so background work (the outbox relay) does not blur the number.
    const used = t.phantom.platform.sqlStats.lastRequestQueries;
    expect(r.errors).toBeUndefined();
    expect(r.data.apps.edges).toHaveLength(first);
    expect(r.data.apps.edges[0].node.members.map((m: any) => m.user.username).sort()).toEqual([
      'admin',
      'carol',
    ]);
    return used;
  }

  it('is constant for N = 5 and N = 50, and 3: the token check, the page, its members', async () => {
    const five = await count(5);
    const fifty = await count(50);
    expect(fifty).toBe(five);
    expect(fifty).toBe(3);
  });

  // Issue 9, P5: `workloads(env)` read the environment once per app (an N+1).
  async function countWithWorkloads(first: number): Promise<number> {
    const q = `query($f: Int) { apps(first: $f) { edges { node { name workloads(env: "prod") { cluster namespace } } } } }`;
    await t.gql(q, { f: first });
    const r = await t.gql(q, { f: first });
    const used = t.phantom.platform.sqlStats.lastRequestQueries;
    expect(r.errors).toBeUndefined();
    expect(r.data.apps.edges).toHaveLength(first);
    expect(r.data.apps.edges[0].node.workloads.map((w: any) => w.cluster)).toEqual([
      'sim-1',
      'sim-2',
    ]);
    return used;
  }

  it('with workloads(env): constant for N = 5 and N = 50, and at most 3', async () => {
    const five = await countWithWorkloads(5);
    const fifty = await countWithWorkloads(50);
    expect(fifty).toBe(five);
    expect(fifty).toBeLessThanOrEqual(3);
  });

  // Issue 9, P1: the count is a second scan, run only when `totalCount` is selected, inside the
  // page's statement; the members join reads the users' public columns, never their password
  // hashes. Only an empty page that asks for the count needs a statement of its own.
  it('counts only when totalCount is asked (also through a fragment), in the page statement; the members join leaves password_hash alone', async () => {
    const run = async (q: string, vars: Record<string, unknown> = { f: 20 }) => {
      await t.gql(q, vars);
      const before = t.phantom.platform.sqlStats.queries;
      const r = await t.gql(q, vars);
      expect(r.errors).toBeUndefined();
      const statements = t.phantom.platform.sqlStats.recent.slice(
        -(t.phantom.platform.sqlStats.queries - before),
      );
      return { used: t.phantom.platform.sqlStats.lastRequestQueries, statements, data: r.data };
    };
    const nodes = `edges { cursor node { name members { role user { username displayName } } } }`;
    const without = await run(`query($f: Int) { apps(first: $f) { ${nodes} } }`);
    const withCount = await run(`query($f: Int) { apps(first: $f) { totalCount ${nodes} } }`);
    const viaFragment = await run(
      `query($f: Int) { apps(first: $f) { ...C ${nodes} } } fragment C on AppConnection { totalCount }`,
    );
    expect(withCount.used).toBe(without.used);
    expect(viaFragment.used).toBe(withCount.used);
    expect(withCount.data.apps.totalCount).toBe(55);
    expect(viaFragment.data.apps.totalCount).toBe(55);
    expect(without.statements.some((s) => /count\(/i.test(s))).toBe(false);
    expect(withCount.statements.filter((s) => /count\(/i.test(s))).toHaveLength(1);
    const memberReads = withCount.statements.filter((s) => s.includes('app_members'));
    expect(memberReads).toHaveLength(1);
    for (const s of memberReads) expect(s).not.toMatch(/password_hash|`u`\.\*|`e1`\.\*|u\.\*/);
    // The members are plain rows of their own statement, not JSON built by the server.
    expect(withCount.statements.some((s) => /json_arrayagg|json_group_array/i.test(s))).toBe(false);
    // Members in membership order: the creator (admin, OWNER) first, then carol.
    expect(
      withCount.data.apps.edges[0].node.members.map((m: any) => [m.user.username, m.role]),
    ).toEqual([
      ['admin', 'OWNER'],
      ['carol', 'DEVELOPER'],
    ]);
    // Past the last page: no rows to carry the count, so it is read on its own.
    const last = withCount.data.apps.edges.at(-1).cursor;
    const tail = await run(
      `query($f: Int, $a: String) { apps(first: $f, after: $a) { totalCount ${nodes} } }`,
      { f: 100, a: last },
    );
    expect(tail.data.apps.totalCount).toBe(55);
    expect(tail.data.apps.edges).toHaveLength(35);
    const end = tail.data.apps.edges.at(-1).cursor;
    const empty = await run(
      `query($f: Int, $a: String) { apps(first: $f, after: $a) { totalCount ${nodes} } }`,
      { f: 5, a: end },
    );
    expect(empty.data.apps).toEqual({ totalCount: 55, edges: [] });
    // The count on its own (the page's subquery had no row to carry it), and no members to read.
    expect(empty.statements.filter((s) => /^select count\(/i.test(s))).toHaveLength(1);
    expect(empty.statements.some((s) => s.includes('app_members'))).toBe(false);
    expect(empty.used).toBe(withCount.used);
  });
});

describeServices('the wide columns of a page of apps (MySQL)', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('mysql');
    for (let i = 0; i < 3; i++) {
      const r = await t.gql(
        `mutation($n: String!) { createApp(input: { name: $n, kind: GO, description: "the app", container: { replicas: 3, cpu: "300m" }, releaseConfig: { strategy: RECREATE } }) { name } }`,
        { n: `wide-${i}` },
      );
      expect(r.errors).toBeUndefined();
    }
  });
  afterAll(async () => {
    await t?.stop();
  });

  const pageStatement = async (q: string) => {
    const before = t.phantom.platform.sqlStats.queries;
    const r = await t.gql(q);
    expect(r.errors).toBeUndefined();
    const statements = t.phantom.platform.sqlStats.recent.slice(
      -(t.phantom.platform.sqlStats.queries - before),
    );
    const page = statements.filter((s) => /from apps a/.test(s));
    expect(page).toHaveLength(1);
    return { sql: page[0], data: r.data };
  };

  // Issue 9, P1: the texts, commands and the two JSON columns (which the driver parses) are
  // read only when a node shows one of them, directly or through a fragment.
  it('reads the details only when a node selects one, through fragments too, and then shows them', async () => {
    const narrow = await pageStatement(
      `{ apps(first: 3) { edges { node { id name kind version createdAt members { role } } } } }`,
    );
    expect(narrow.sql).not.toMatch(/container|release_config|description|build_command/);
    expect(narrow.data.apps.edges.map((e: any) => e.node.name)).toEqual([
      'wide-0',
      'wide-1',
      'wide-2',
    ]);
    expect(narrow.data.apps.edges[0].node).toMatchObject({ kind: 'GO', version: 1 });
    for (const [q, read] of [
      [`{ apps(first: 3) { edges { node { name container { replicas cpu } } } } }`, 'container'],
      [
        `{ apps(first: 3) { edges { ...E } } } fragment E on AppEdge { node { ... on App { releaseConfig { strategy } } } }`,
        'releaseConfig',
      ],
      [`{ apps(first: 3) { edges { node { name description } } } }`, 'description'],
    ] as const) {
      const wide = await pageStatement(q);
      expect(wide.sql).toMatch(/container/);
      const node = wide.data.apps.edges[0].node;
      if (read === 'container') expect(node.container).toEqual({ replicas: 3, cpu: '300m' });
      if (read === 'releaseConfig') expect(node.releaseConfig).toEqual({ strategy: 'RECREATE' });
      if (read === 'description') expect(node.description).toBe('the app');
    }
  });
});

describeServices('App.releases on a page of apps (MySQL)', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('mysql');
    for (let i = 0; i < 12; i++) {
      const r = await t.gql(
        `mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { name } }`,
        { n: `rel-${String(i).padStart(2, '0')}` },
      );
      expect(r.errors).toBeUndefined();
    }
    // Releases written as rows (the engine is not what is measured here): app i has i releases, half in dev.
    const conn = t.phantom.platform.orm.em.fork().getConnection('write');
    const apps = await conn.execute<{ id: number; name: string }[]>(
      'select id, name from apps order by name',
    );
    for (const [i, a] of apps.entries()) {
      for (let j = 0; j < i; j++) {
        await conn.execute(
          "insert into releases (app_id, app, env, image, status, strategy, spec, targets, steps, clusters, prechecks, description, created_by, created_by_id, created_at, updated_at) values (?, ?, ?, ?, 'SUCCEEDED', 'ROLLING', '{}', '[]', '[]', '[]', '[]', '', 'admin', 1, now(3), now(3))",
          [a.id, a.name, j % 2 ? 'prod' : 'dev', `img:${i}-${j}`],
        );
      }
    }
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
  });

  async function read(first: number, env: string | null): Promise<{ used: number; apps: any[] }> {
    const q = `query($f: Int, $e: String) { apps(first: $f) { edges { node { name releases(first: 3, env: $e) { edges { node { image env } } pageInfo { hasNextPage } } } } } }`;
    await t.gql(q, { f: first, e: env });
    const r = await t.gql(q, { f: first, e: env });
    expect(r.errors).toBeUndefined();
    return {
      used: t.phantom.platform.sqlStats.lastRequestQueries,
      apps: r.data.apps.edges.map((e: any) => e.node),
    };
  }

  it('is one statement for the releases of every app on the page, each app getting its own newest first', async () => {
    const small = await read(2, null);
    const large = await read(12, null);
    expect(large.used).toBe(small.used);
    const byName = Object.fromEntries(large.apps.map((a: any) => [a.name, a.releases]));
    expect(byName['rel-00'].edges).toEqual([]);
    expect(byName['rel-02'].edges.map((e: any) => e.node.image)).toEqual(['img:2-1', 'img:2-0']);
    expect(byName['rel-02'].pageInfo.hasNextPage).toBe(false);
    expect(byName['rel-07'].edges.map((e: any) => e.node.image)).toEqual([
      'img:7-6',
      'img:7-5',
      'img:7-4',
    ]);
    expect(byName['rel-07'].pageInfo.hasNextPage).toBe(true);
    const dev = await read(12, 'dev');
    expect(dev.used).toBe(small.used);
    const devOf7 = dev.apps.find((a: any) => a.name === 'rel-07').releases;
    expect(devOf7.edges.map((e: any) => e.node.image)).toEqual(['img:7-6', 'img:7-4', 'img:7-2']);
    expect(devOf7.edges.every((e: any) => e.node.env === 'dev')).toBe(true);
    expect(devOf7.pageInfo.hasNextPage).toBe(true);
  });
});
