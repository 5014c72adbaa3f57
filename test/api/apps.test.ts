import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableModes,
  createUserWithToken,
  errorCode,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';

const APP_FIELDS = `id name kind description repository buildCommand startCommand stopCommand version createdAt updatedAt
  container { replicas cpu memory port healthCheckPath hpa { minReplicas maxReplicas targetCpuUtilization } }
  releaseConfig { strategy autoRollback autoReleaseEnvs } members { user { username } role }`;

describe.each(availableModes)('apps over HTTP (%s)', (mode) => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom(mode);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('creates an app with defaults and the creator as OWNER', async () => {
    const r = await t.gql(
      `mutation { createApp(input: { name: "web", kind: NODE, container: { replicas: 2, cpu: "250m", memory: "256Mi", port: 8080 } }) { ${APP_FIELDS} } }`,
    );
    expect(r.errors).toBeUndefined();
    const app = r.data.createApp;
    expect(app).toMatchObject({
      name: 'web',
      kind: 'NODE',
      version: 1,
      container: {
        replicas: 2,
        cpu: '250m',
        memory: '256Mi',
        port: 8080,
        healthCheckPath: '/healthz',
        hpa: null,
      },
      releaseConfig: { strategy: 'ROLLING', autoRollback: true, autoReleaseEnvs: [] },
      members: [{ user: { username: 'admin' }, role: 'OWNER' }],
    });
    const again = await t.gql(
      `{ app(name: "web") { id name } node(id: "${app.id}") { id ... on App { name } } }`,
    );
    expect(again.data.app).toEqual({ id: app.id, name: 'web' });
    expect(again.data.node).toEqual({ id: app.id, name: 'web' });
  });

  it('refuses a duplicate name with CONFLICT', async () => {
    const r = await t.gql(`mutation { createApp(input: { name: "web", kind: GO }) { id } }`);
    expect(errorCode(r)).toBe('CONFLICT');
    expect(r.errors![0].extensions!.field).toBe('name');
  });

  it.each([
    ['name', `{ name: "Bad_Name", kind: NODE }`],
    ['name', `{ name: "${'a'.repeat(41)}", kind: NODE }`],
    // web's canary Deployment is web-canary: an app of that name would share it.
    ['name', `{ name: "web-canary", kind: NODE }`],
    ['container.cpu', `{ name: "ok1", kind: NODE, container: { cpu: "lots" } }`],
    ['container.memory', `{ name: "ok2", kind: NODE, container: { memory: "12Qi" } }`],
    ['container.memory', `{ name: "ok2b", kind: NODE, container: { memory: "1" } }`],
    ['container.memory', `{ name: "ok2c", kind: NODE, container: { memory: "5Ei" } }`],
    ['container.cpu', `{ name: "ok2d", kind: NODE, container: { cpu: "0.0001" } }`],
    ['container.cpu', `{ name: "ok2e", kind: NODE, container: { cpu: "1000" } }`],
    ['container.replicas', `{ name: "ok3", kind: NODE, container: { replicas: 501 } }`],
    [
      'container.hpa.minReplicas',
      `{ name: "ok4", kind: NODE, container: { hpa: { minReplicas: 5, maxReplicas: 2 } } }`,
    ],
    ['container.port', `{ name: "ok5", kind: NODE, container: { port: 70000 } }`],
    ['buildCommand', `{ name: "ok6", kind: NODE, buildCommand: "${'x'.repeat(4001)}" }`],
    ['repository', `{ name: "ok7", kind: NODE, repository: "not a url" }`],
  ])('refuses bad %s with BAD_USER_INPUT naming the field', async (field, input) => {
    const r = await t.gql(`mutation { createApp(input: ${input}) { id } }`);
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0].extensions!.field).toBe(field);
    expect(r.errors![0].message.length).toBeGreaterThan(10);
  });

  it('refuses auto-release environments that do not exist, on create and on update', async () => {
    const created = await t.gql(
      `mutation { createApp(input: { name: "auto-env", kind: GO, releaseConfig: { autoReleaseEnvs: ["dev", "nope"] } }) { id } }`,
    );
    expect(created.errors![0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'releaseConfig.autoReleaseEnvs',
    });
    expect(created.errors![0].message).toMatch(/nope/);
    expect((await t.gql(`{ app(name: "auto-env") { id } }`)).data.app).toBeNull();

    const ok = await t.gql(
      `mutation { createApp(input: { name: "auto-env", kind: GO, releaseConfig: { autoReleaseEnvs: ["dev"] } }) { releaseConfig { autoReleaseEnvs } } }`,
    );
    expect(ok.data.createApp.releaseConfig.autoReleaseEnvs).toEqual(['dev']);
    const upd = await t.gql(
      `mutation { updateApp(name: "auto-env", input: { releaseConfig: { autoReleaseEnvs: ["nope"] } }) { version } }`,
    );
    expect(errorCode(upd)).toBe('BAD_USER_INPUT');
    const after = await t.gql(
      `{ app(name: "auto-env") { version releaseConfig { autoReleaseEnvs } } }`,
    );
    expect(after.data.app.releaseConfig.autoReleaseEnvs).toEqual(['dev']);
    expect(after.data.app.version).toBe(1);
    // Leaves the list as the next tests expect it.
    expect((await t.gql(`mutation { deleteApp(name: "auto-env") }`)).data.deleteApp).toBe(true);
  });

  it('counts lengths in characters: 1,500 emoji fit a 2,000-character description', async () => {
    const description = '🚀'.repeat(1500);
    const r = await t.gql(
      `mutation($d: String) { createApp(input: { name: "emoji", kind: GO, description: $d }) { description } }`,
      { d: description },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.createApp.description).toBe(description);
    const tooLong = await t.gql(
      `mutation($d: String) { updateApp(name: "emoji", input: { description: $d }) { version } }`,
      { d: '🚀'.repeat(2001) },
    );
    expect(tooLong.errors![0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'description',
    });
    expect((await t.gql(`mutation { deleteApp(name: "emoji") }`)).data.deleteApp).toBe(true);
  });

  it('updates with optimistic concurrency: a stale expectedVersion is a CONFLICT', async () => {
    const u1 = await t.gql(
      `mutation { updateApp(name: "web", expectedVersion: 1, input: { description: "front end", container: { hpa: { minReplicas: 2, maxReplicas: 6 } } }) { version description container { replicas hpa { minReplicas maxReplicas targetCpuUtilization } } } }`,
    );
    expect(u1.errors).toBeUndefined();
    expect(u1.data.updateApp).toEqual({
      version: 2,
      description: 'front end',
      container: { replicas: 2, hpa: { minReplicas: 2, maxReplicas: 6, targetCpuUtilization: 80 } },
    });
    const stale = await t.gql(
      `mutation { updateApp(name: "web", expectedVersion: 1, input: { description: "lost update" }) { version } }`,
    );
    expect(errorCode(stale)).toBe('CONFLICT');
    const read = await t.gql(`{ app(name: "web") { description version } }`);
    expect(read.data.app).toEqual({ description: 'front end', version: 2 });
    const missing = await t.gql(
      `mutation { updateApp(name: "nope", input: { description: "x" }) { version } }`,
    );
    expect(errorCode(missing)).toBe('NOT_FOUND');
  });

  it('lists apps with Relay pagination and filters', async () => {
    for (const [name, kind] of [
      ['api', 'GO'],
      ['api-gateway', 'GO'],
      ['batch', 'JAVA'],
      ['docs', 'STATIC'],
    ] as const) {
      const r = await t.gql(
        `mutation { createApp(input: { name: "${name}", kind: ${kind} }) { id } }`,
      );
      expect(r.errors).toBeUndefined();
    }
    const p1 = await t.gql(
      `{ apps(first: 2) { totalCount edges { cursor node { name } } pageInfo { hasNextPage hasPreviousPage endCursor } } }`,
    );
    expect(p1.data.apps.totalCount).toBe(5);
    expect(p1.data.apps.edges.map((e: any) => e.node.name)).toEqual(['api', 'api-gateway']);
    expect(p1.data.apps.pageInfo.hasNextPage).toBe(true);
    const p2 = await t.gql(
      `query($a: String) { apps(first: 10, after: $a) { edges { node { name } } pageInfo { hasNextPage hasPreviousPage } } }`,
      { a: p1.data.apps.pageInfo.endCursor },
    );
    expect(p2.data.apps.edges.map((e: any) => e.node.name)).toEqual(['batch', 'docs', 'web']);
    expect(p2.data.apps.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true });
    const byName = await t.gql(
      `{ apps(filter: { name: "api" }) { totalCount edges { node { name } } } }`,
    );
    expect(byName.data.apps.edges.map((e: any) => e.node.name)).toEqual(['api', 'api-gateway']);
    const byKind = await t.gql(`{ apps(filter: { kind: GO, name: "gate" }) { totalCount } }`);
    expect(byKind.data.apps.totalCount).toBe(1);
    const tooMany = await t.gql(`{ apps(first: 101) { totalCount } }`);
    expect(errorCode(tooMany)).toBe('BAD_USER_INPUT');
    const badCursor = await t.gql(`{ apps(after: "garbage") { totalCount } }`);
    expect(errorCode(badCursor)).toBe('BAD_USER_INPUT');
  });

  it('manages members; the last owner cannot be removed; filter by member', async () => {
    await createUserWithToken(t, 'alice');
    const add = await t.gql(
      `mutation { setAppMember(app: "docs", username: "alice", role: DEVELOPER) { members { user { username } role } } }`,
    );
    expect(add.data.setAppMember.members).toEqual([
      { user: { username: 'admin' }, role: 'OWNER' },
      { user: { username: 'alice' }, role: 'DEVELOPER' },
    ]);
    const mine = await t.gql(`{ apps(filter: { member: "alice" }) { edges { node { name } } } }`);
    expect(mine.data.apps.edges.map((e: any) => e.node.name)).toEqual(['docs']);
    // A page reads its members in its own statement: the same answer as the per-app loader.
    const fields = `${APP_FIELDS} members { role user { id username displayName isAdmin } }`;
    const page = await t.gql(
      `{ apps(filter: { member: "alice" }) { totalCount edges { node { ${fields} } } } }`,
    );
    const one = await t.gql(`{ app(name: "docs") { ${fields} } }`);
    expect(page.errors).toBeUndefined();
    expect(page.data.apps.totalCount).toBe(1);
    expect(page.data.apps.edges[0].node).toEqual(one.data.app);
    expect(page.data.apps.edges[0].node.members.map((m: any) => [m.user.username, m.role])).toEqual(
      [
        ['admin', 'OWNER'],
        ['alice', 'DEVELOPER'],
      ],
    );
    const last = await t.gql(
      `mutation { setAppMember(app: "docs", username: "admin", role: null) { name } }`,
    );
    expect(errorCode(last)).toBe('CONFLICT');
    const nobody = await t.gql(
      `mutation { setAppMember(app: "docs", username: "ghost", role: VIEWER) { name } }`,
    );
    expect(errorCode(nobody)).toBe('NOT_FOUND');
    const remove = await t.gql(
      `mutation { setAppMember(app: "docs", username: "alice", role: null) { members { user { username } } } }`,
    );
    expect(remove.data.setAppMember.members).toEqual([{ user: { username: 'admin' } }]);
  });

  it('leaves version and updatedAt alone on member changes and empty updates', async () => {
    const before = await t.gql(`{ app(name: "api") { version updatedAt } }`);
    await t.gql(`mutation { setAppMember(app: "api", username: "alice", role: VIEWER) { name } }`);
    const empty = await t.gql(
      `mutation { updateApp(name: "api", input: {}) { version updatedAt } }`,
    );
    expect(empty.data.updateApp).toEqual(before.data.app);
    const same = await t.gql(
      `mutation { updateApp(name: "api", input: { kind: GO }) { version } }`,
    );
    expect(same.data.updateApp.version).toBe(before.data.app.version);
    const after = await t.gql(`{ app(name: "api") { version updatedAt } }`);
    expect(after.data.app).toEqual(before.data.app);
    const ok = await t.gql(
      `mutation($v: Int) { updateApp(name: "api", expectedVersion: $v, input: { description: "now" }) { version } }`,
      { v: before.data.app.version },
    );
    expect(ok.data.updateApp.version).toBe(before.data.app.version + 1);
  });

  it('deletes an app', async () => {
    const d = await t.gql(`mutation { deleteApp(name: "batch") }`);
    expect(d.data.deleteApp).toBe(true);
    const gone = await t.gql(`{ app(name: "batch") { name } }`);
    expect(gone.data.app).toBeNull();
    const again = await t.gql(`mutation { deleteApp(name: "batch") }`);
    expect(errorCode(again)).toBe('NOT_FOUND');
  });

  it('lists environments and lets admins upsert them', async () => {
    const envs = await t.gql(
      `{ environments { name requiresApproval targets { cluster namespace } } }`,
    );
    expect(envs.data.environments.map((e: any) => e.name)).toEqual(['dev', 'test', 'prod']);
    expect(envs.data.environments[2].targets).toEqual([
      { cluster: 'sim-1', namespace: 'prod' },
      { cluster: 'sim-2', namespace: 'prod' },
    ]);
    const up = await t.gql(
      `mutation { upsertEnvironment(input: { name: "staging", requiresApproval: true, targets: [{ cluster: "sim-2", namespace: "staging" }], position: 25 }) { name requiresApproval } }`,
    );
    expect(up.data.upsertEnvironment).toEqual({ name: 'staging', requiresApproval: true });
    const bad = await t.gql(
      `mutation { upsertEnvironment(input: { name: "x", requiresApproval: true, targets: [{ cluster: "sim-2", namespace: "Bad NS" }] }) { name } }`,
    );
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.errors![0].extensions!.field).toBe('targets.0.namespace');
    const after = await t.gql(`{ environments { name } }`);
    expect(after.data.environments.map((e: any) => e.name)).toEqual([
      'dev',
      'test',
      'staging',
      'prod',
    ]);
  });
});
