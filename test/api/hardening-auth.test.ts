/**
 * Hardening of people and tokens (issue "Hardening", items 3, 4, 7, 14, 16), through the real
 * HTTP API on MySQL + Redis and embedded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableModes,
  createUserWithToken,
  errorCode,
  startTestPhantom,
  type GqlResult,
  type TestPhantom,
} from '../support/harness.js';

/** A request from client `address` (forwarded by a trusted proxy on loopback). */
async function gqlFrom(
  t: TestPhantom,
  address: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GqlResult> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-forwarded-for': address,
  };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(t.url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as any;
  return { status: res.status, data: body.data ?? undefined, errors: body.errors };
}

const LOGIN = `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token user { username } } }`;

describe.each(availableModes)('hardening: people and tokens (%s)', (mode) => {
  let t: TestPhantom;
  let carol: string;
  let admin2Write: string;

  beforeAll(async () => {
    // The tests speak for several clients through X-Forwarded-For, as a load balancer on loopback would.
    t = await startTestPhantom(mode, { env: { PHANTOM_TRUST_PROXY: 'loopback' } });
    carol = await createUserWithToken(t, 'carol');
    admin2Write = await createUserWithToken(t, 'admin2', {
      isAdmin: true,
      scopes: ['READ', 'WRITE'],
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  // Item 4: revoking someone else's token is an admin action, so it needs the ADMIN scope.
  it("an admin user's READ+WRITE token cannot revoke another user's token (NOT_FOUND); an ADMIN-scoped one can", async () => {
    const made = await t.gql(
      `mutation { createApiToken(name: "carol-ci", scopes: [READ]) { token apiToken { id } } }`,
      {},
      carol,
    );
    const { id } = made.data.createApiToken.apiToken;
    const refused = await t.gql(
      `mutation($id: ID!) { revokeApiToken(id: $id) }`,
      { id },
      admin2Write,
    );
    expect(errorCode(refused)).toBe('NOT_FOUND');
    const still = await t.gql(`{ viewer { username } }`, {}, made.data.createApiToken.token);
    expect(still.data.viewer.username).toBe('carol');
    const byAdmin = await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) }`, { id });
    expect(byAdmin.data.revokeApiToken).toBe(true);
    // Own tokens stay revocable with WRITE alone.
    const own = await t.gql(
      `mutation { createApiToken(name: "own", scopes: [READ]) { apiToken { id } } }`,
      {},
      admin2Write,
    );
    const r = await t.gql(
      `mutation($id: ID!) { revokeApiToken(id: $id) }`,
      { id: own.data.createApiToken.apiToken.id },
      admin2Write,
    );
    expect(r.data.revokeApiToken).toBe(true);
  });

  // Item 16: two live tokens of one user with the same name cannot be told apart.
  it('refuses a second live token of the same name for one user with CONFLICT; a revoked name may be reused', async () => {
    const first = await t.gql(
      `mutation { createApiToken(name: "deploy bot", scopes: [READ]) { apiToken { id } } }`,
      {},
      carol,
    );
    expect(first.errors).toBeUndefined();
    for (const name of ['deploy bot', ' Deploy Bot ']) {
      const dup = await t.gql(
        `mutation($n: String!) { createApiToken(name: $n, scopes: [READ]) { token } }`,
        { n: name },
        carol,
      );
      expect(errorCode(dup)).toBe('CONFLICT');
      expect(dup.errors![0].extensions!.field).toBe('name');
    }
    // Another user may use the name.
    const other = await t.gql(
      `mutation { createApiToken(name: "deploy bot", scopes: [READ]) { token } }`,
      {},
      admin2Write,
    );
    expect(other.errors).toBeUndefined();
    // Concurrent creates of one new name: exactly one wins.
    const racing = await Promise.all(
      Array.from({ length: 4 }, () =>
        t.gql(`mutation { createApiToken(name: "racer", scopes: [READ]) { token } }`, {}, carol),
      ),
    );
    expect(racing.filter((r) => !r.errors)).toHaveLength(1);
    expect(racing.filter((r) => r.errors).every((r) => errorCode(r) === 'CONFLICT')).toBe(true);
    await t.gql(
      `mutation($id: ID!) { revokeApiToken(id: $id) }`,
      { id: first.data.createApiToken.apiToken.id },
      carol,
    );
    const reused = await t.gql(
      `mutation { createApiToken(name: "deploy bot", scopes: [READ]) { token } }`,
      {},
      carol,
    );
    expect(reused.errors).toBeUndefined();
    const names = await t.gql(`{ apiTokens { name } }`, {}, carol);
    expect(names.data.apiTokens.filter((x: any) => x.name === 'deploy bot')).toHaveLength(1);
  });

  // Item 14: readers see other users' names, not who is an admin.
  it('shows username and displayName of others to any reader, isAdmin only of yourself (admins: of everyone)', async () => {
    const adminId = (await t.gql(`{ viewer { id } }`)).data.viewer.id;
    const carolId = (await t.gql(`{ viewer { id } }`, {}, carol)).data.viewer.id;
    const q = `query($id: ID!) { node(id: $id) { ... on User { username displayName isAdmin } } }`;
    expect((await t.gql(q, { id: adminId }, carol)).data.node).toEqual({
      username: 'admin',
      displayName: 'Administrator',
      isAdmin: null,
    });
    expect((await t.gql(q, { id: carolId }, carol)).data.node).toEqual({
      username: 'carol',
      displayName: 'carol',
      isAdmin: false,
    });
    expect((await t.gql(q, { id: carolId })).data.node.isAdmin).toBe(false);
    // An admin user whose credential lacks the ADMIN scope reads like anyone else.
    expect((await t.gql(q, { id: adminId }, admin2Write)).data.node.isAdmin).toBeNull();
    // Through app members too.
    await t.gql(`mutation { createApp(input: { name: "members", kind: GO }) { name } }`);
    await t.gql(
      `mutation { setAppMember(app: "members", username: "carol", role: VIEWER) { name } }`,
    );
    const m = await t.gql(
      `{ app(name: "members") { members { user { username isAdmin } } } }`,
      {},
      carol,
    );
    expect(m.data.app.members).toEqual(
      expect.arrayContaining([
        { user: { username: 'admin', isAdmin: null } },
        { user: { username: 'carol', isAdmin: false } },
      ]),
    );
    // The one who signs in sees their own flag.
    const s = await t.gql(
      `mutation { login(username: "admin2", password: "password-123") { user { isAdmin } } }`,
      {},
      null,
    );
    expect(s.data.login.user.isAdmin).toBe(true);
  });

  it('answers non-canonical global ids with NOT_FOUND (one object, one id)', async () => {
    const app = await t.gql(`mutation { createApp(input: { name: "canon", kind: GO }) { id } }`);
    const id = app.data.createApp.id as string;
    const local = Buffer.from(id, 'base64url').toString().split(':')[1];
    const q = `query($id: ID!) { node(id: $id) { id } }`;
    expect((await t.gql(q, { id }, carol)).data.node.id).toBe(id);
    const spell = (s: string) => Buffer.from(s).toString('base64url');
    for (const other of [
      spell(`App:0x${Number(local).toString(16)}`),
      spell(`App: ${local}`),
      spell(`App:0${local}`),
      spell(`App:${local}.0`),
      spell(`App:${local}e0`),
      `${id}=`,
    ]) {
      const r = await t.gql(q, { id: other }, carol);
      expect(errorCode(r)).toBe('NOT_FOUND');
    }
    // Ids in mutation arguments too.
    const tok = await t.gql(
      `mutation { createApiToken(name: "canon", scopes: [READ]) { apiToken { id } } }`,
      {},
      carol,
    );
    const tokLocal = Buffer.from(tok.data.createApiToken.apiToken.id, 'base64url')
      .toString()
      .split(':')[1];
    const r = await t.gql(
      `mutation($id: ID!) { revokeApiToken(id: $id) }`,
      { id: spell(`ApiToken:0${tokLocal}`) },
      carol,
    );
    expect(errorCode(r)).toBe('NOT_FOUND');
  });

  // Item 3: the database collation folds case, trailing spaces and accents; the throttle key did not.
  it('normalizes usernames at creation and sign-in; the throttle keys on the user across spellings and addresses', async () => {
    const created = await t.gql(
      `mutation { createUser(input: { username: " Viewer1 ", password: "password-123" }) { username } }`,
    );
    expect(created.data.createUser.username).toBe('viewer1');
    expect(
      errorCode(
        await t.gql(
          `mutation { createUser(input: { username: "VIEWER1", password: "password-123" }) { username } }`,
        ),
      ),
    ).toBe('CONFLICT');
    await t.gql(
      `mutation { createUser(input: { username: "owner1", password: "password-123" }) { username } }`,
    );
    const login = (address: string, u: string, p = 'password-123') =>
      gqlFrom(t, address, LOGIN, { u, p });
    // A spelling that cannot be a username names nobody, even where the collation would fold it.
    expect(errorCode(await login('10.0.0.1', 'ówner1'))).toBe('UNAUTHENTICATED');
    expect((await login('10.0.0.1', 'VIEWER1 ')).data.login.user.username).toBe('viewer1');
    const spellings = ['viewer1', 'VIEWER1', 'viewer1 ', '\tViewer1'];
    for (let i = 0; i < 10; i++)
      expect(errorCode(await login('10.0.0.1', spellings[i % 4], `guess-${i}`))).toBe(
        'UNAUTHENTICATED',
      );
    for (const u of spellings) expect(errorCode(await login('10.0.0.1', u))).toBe('RATE_LIMITED');
    // Another address is still throttled on the user key.
    expect(errorCode(await login('10.0.0.2', 'viewer1'))).toBe('RATE_LIMITED');
    // Other users are not.
    expect((await login('10.0.0.1', 'owner1')).data.login.user.username).toBe('owner1');
  });

  // Item 7: anonymous failures cannot grow the audit log without bound, nor guess without limit from one address.
  it('throttles failed sign-ins per client address and bounds the audit entries of anonymous failures', async () => {
    const em = () => t.phantom.platform.orm.em.fork();
    const anonymousFailures = async () =>
      Number(
        (
          await em()
            .getConnection('write')
            .execute(
              `select count(*) as c from audit_log where actor is null and outcome = 'ERROR'`,
            )
        )[0].c,
      );
    // Failed sign-ins from one address, whatever the names: after 50, the right password is refused too.
    for (let batch = 0; batch < 5; batch++) {
      const tries = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          gqlFrom(t, '10.0.0.7', LOGIN, { u: `nobody${batch}-${i}`, p: 'wrong-password' }),
        ),
      );
      expect(tries.map(errorCode)).toEqual(Array(10).fill('UNAUTHENTICATED'));
    }
    const limited = await gqlFrom(t, '10.0.0.7', LOGIN, { u: 'carol', p: 'password-123' });
    expect(errorCode(limited)).toBe('RATE_LIMITED');
    expect(limited.errors![0].message).toMatch(/address/);
    // Another client signs in as carol.
    expect(
      (await gqlFrom(t, '10.0.0.8', LOGIN, { u: 'carol', p: 'password-123' })).data.login.user
        .username,
    ).toBe('carol');

    // A request refused before execution is one failed entry per root field: 15 a request.
    const before = await anonymousFailures();
    const aliases = Array.from(
      { length: 15 },
      (_, i) => `a${i}: login(username: "nobody", password: $p) { token }`,
    ).join(' ');
    for (let r = 0; r < 5; r++) {
      const res = await gqlFrom(t, '10.0.0.9', `mutation Flood($p: String!) { ${aliases} }`, {});
      expect(res.errors?.length).toBeGreaterThan(0);
    }
    // 75 failed anonymous entries from 10.0.0.9: 50 recorded, one notice, nothing more.
    expect((await anonymousFailures()) - before).toBe(51);
    const log = await t.gql(
      `{ auditLog(first: 100, filter: { operation: "Flood" }) { edges { node { actor args } } } }`,
    );
    const notices = log.data.auditLog.edges
      .map((e: any) => e.node)
      .filter((n: any) => n.args.auditBound);
    expect(notices).toHaveLength(1);
    expect(notices[0].args.auditBound).toContain('10.0.0.9');
    expect(log.data.auditLog.edges).toHaveLength(51);
    // Signed-in callers' failures are always recorded.
    const beforeSigned = await t.gql(`{ auditLog(first: 1) { edges { node { id } } } }`);
    await gqlFrom(
      t,
      '10.0.0.7',
      `mutation { updateApp(name: "nope", input: { description: "x" }) { version } }`,
      {},
      carol,
    );
    const afterSigned = await t.gql(
      `{ auditLog(first: 1) { edges { node { id actor errorCode } } } }`,
    );
    expect(afterSigned.data.auditLog.edges[0].node).toMatchObject({
      actor: 'carol',
      errorCode: 'NOT_FOUND',
    });
    expect(afterSigned.data.auditLog.edges[0].node.id).not.toBe(
      beforeSigned.data.auditLog.edges[0].node.id,
    );
  });
});
