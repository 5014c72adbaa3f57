/**
 * The rights fields the web console draws its buttons from — `App.viewerCanOperate` (scale,
 * restart), `App.viewerCanEdit` (updateApp), `Settings.viewerCanEdit` (the admin rules) —
 * must agree with the commands themselves for every kind of caller; and `Query.users` is for
 * platform admins only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableModes,
  createUserWithToken,
  errorCode,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';

type Caller =
  'readToken' | 'outsider' | 'viewer' | 'developer' | 'owner' | 'admin' | 'adminWriteToken';
const CALLERS: Caller[] = [
  'readToken',
  'outsider',
  'viewer',
  'developer',
  'owner',
  'admin',
  'adminWriteToken',
];

describe.each(availableModes)('console rights fields (%s)', (mode) => {
  let t: TestPhantom;
  const tokens = {} as Record<Caller, string | undefined>;

  beforeAll(async () => {
    t = await startTestPhantom(mode, { env: { PHANTOM_EMBEDDED_CLUSTERS: 'on' } });
    for (const q of [
      `mutation { createApp(input: { name: "shop", kind: NODE, container: { replicas: 1 } }) { id } }`,
    ]) {
      expect((await t.gql(q)).errors).toBeUndefined();
    }
    tokens.admin = undefined; // the harness's admin token (ADMIN scope)
    tokens.outsider = await createUserWithToken(t, 'outsider');
    tokens.viewer = await createUserWithToken(t, 'vic');
    tokens.developer = await createUserWithToken(t, 'dev');
    tokens.owner = await createUserWithToken(t, 'olga');
    tokens.readToken = await createUserWithToken(t, 'reader', { scopes: ['READ'] });
    tokens.adminWriteToken = await createUserWithToken(t, 'ada', {
      isAdmin: true,
      scopes: ['READ', 'WRITE'],
    });
    for (const [u, role] of [
      ['vic', 'VIEWER'],
      ['dev', 'DEVELOPER'],
      ['olga', 'OWNER'],
      ['reader', 'OWNER'],
      ['ada', 'VIEWER'],
    ]) {
      const r = await t.gql(
        `mutation($u: String!, $r: AppRole!) { setAppMember(app: "shop", username: $u, role: $r) { name } }`,
        { u, r: role },
      );
      expect(r.errors).toBeUndefined();
    }
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('App.viewerCanOperate is true exactly for the callers scaleApp and restartApp accept', async () => {
    const seen: Record<string, boolean> = {};
    for (const caller of CALLERS) {
      const field = await t.gql(`{ app(name: "shop") { viewerCanOperate } }`, {}, tokens[caller]);
      expect(field.errors, caller).toBeUndefined();
      const scale = await t.gql(
        `mutation { scaleApp(app: "shop", env: "dev", replicas: 1) { cluster } }`,
        {},
        tokens[caller],
      );
      const restart = await t.gql(
        `mutation { restartApp(app: "shop", env: "dev") { cluster } }`,
        {},
        tokens[caller],
      );
      expect(field.data.app.viewerCanOperate, caller).toBe(!scale.errors);
      expect(errorCode(restart) ?? 'OK', caller).toBe(errorCode(scale) ?? 'OK');
      seen[caller] = field.data.app.viewerCanOperate;
    }
    expect(seen).toEqual({
      readToken: false,
      outsider: false,
      viewer: false,
      developer: true,
      owner: true,
      admin: true,
      adminWriteToken: false,
    });
  }, 60_000);

  it('App.viewerCanEdit is true exactly for the callers updateApp accepts', async () => {
    const seen: Record<string, boolean> = {};
    for (const caller of CALLERS) {
      const field = await t.gql(`{ app(name: "shop") { viewerCanEdit } }`, {}, tokens[caller]);
      expect(field.errors, caller).toBeUndefined();
      const update = await t.gql(
        `mutation($d: String!) { updateApp(name: "shop", input: { description: $d }) { version } }`,
        { d: `by ${caller}` },
        tokens[caller],
      );
      expect(field.data.app.viewerCanEdit, caller).toBe(!update.errors);
      seen[caller] = field.data.app.viewerCanEdit;
    }
    expect(seen).toEqual({
      readToken: false,
      outsider: false,
      viewer: false,
      developer: false,
      owner: true,
      admin: true,
      adminWriteToken: false,
    });
  }, 60_000);

  it('Settings.viewerCanEdit is true exactly for the callers the rules commands accept', async () => {
    const seen: Record<string, boolean> = {};
    for (const caller of CALLERS) {
      const field = await t.gql(`{ settings { viewerCanEdit } }`, {}, tokens[caller]);
      expect(field.errors, caller).toBeUndefined();
      const created = await t.gql(
        `mutation($n: String!) { createMaintenanceWindow(input: { name: $n, reason: "test", envs: ["dev"], startsAt: "2030-01-01T00:00:00Z", endsAt: "2030-01-02T00:00:00Z" }) { id } }`,
        { n: `w-${caller}` },
        tokens[caller],
      );
      expect(field.data.settings.viewerCanEdit, caller).toBe(!created.errors);
      if (!created.errors)
        expect(
          (
            await t.gql(`mutation($id: ID!) { deleteMaintenanceWindow(id: $id) }`, {
              id: created.data.createMaintenanceWindow.id,
            })
          ).errors,
        ).toBeUndefined();
      seen[caller] = field.data.settings.viewerCanEdit;
    }
    expect(seen).toEqual({
      readToken: false,
      outsider: false,
      viewer: false,
      developer: false,
      owner: false,
      admin: true,
      adminWriteToken: false,
    });
  }, 60_000);

  it('Query.users: every user by username, a page at a time, for platform admins only', async () => {
    const first = await t.gql(
      `{ users(first: 2) { edges { node { username isAdmin } } pageInfo { hasNextPage endCursor } } }`,
    );
    expect(first.errors).toBeUndefined();
    const nodes: { username: string; isAdmin: boolean | null }[] = first.data.users.edges.map(
      (e: any) => e.node,
    );
    expect(first.data.users.pageInfo.hasNextPage).toBe(true);
    const rest = await t.gql(
      `query($a: String) { users(first: 100, after: $a) { edges { node { username isAdmin } } pageInfo { hasNextPage } } }`,
      { a: first.data.users.pageInfo.endCursor },
    );
    expect(rest.errors).toBeUndefined();
    nodes.push(...rest.data.users.edges.map((e: any) => e.node));
    const names = nodes.map((n) => n.username);
    expect(rest.data.users.pageInfo.hasNextPage).toBe(false);
    for (const u of ['ada', 'dev', 'olga', 'outsider', 'reader', 'vic']) expect(names).toContain(u);
    expect(names).toEqual([...names].sort());
    // The admin flag is shown to admins for everyone.
    expect(nodes.find((n) => n.username === 'ada')?.isAdmin).toBe(true);
    expect(nodes.find((n) => n.username === 'dev')?.isAdmin).toBe(false);
    for (const caller of ['readToken', 'outsider', 'owner', 'adminWriteToken'] as Caller[]) {
      expect(
        errorCode(await t.gql(`{ users { edges { node { username } } } }`, {}, tokens[caller])),
        caller,
      ).toBe('FORBIDDEN');
    }
    expect(errorCode(await t.gql(`{ users { edges { node { username } } } }`, {}, null))).toBe(
      'UNAUTHENTICATED',
    );
    expect(
      errorCode(await t.gql(`{ users(after: "nonsense") { edges { node { username } } } }`)),
    ).toBe('BAD_USER_INPUT');
  });
});
