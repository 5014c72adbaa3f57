/**
 * Hardening of people and tokens (issue "Hardening", items 3, 4, 7, 14, 16), through the real
 * HTTP API on MySQL + Redis and embedded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableModes, createUserWithToken, errorCode, startTestPhantom, type TestPhantom } from '../support/harness.js';

describe.each(availableModes)('hardening: people and tokens (%s)', (mode) => {
  let t: TestPhantom;
  let carol: string;
  let admin2Write: string;

  beforeAll(async () => {
    t = await startTestPhantom(mode);
    carol = await createUserWithToken(t, 'carol');
    admin2Write = await createUserWithToken(t, 'admin2', { isAdmin: true, scopes: ['READ', 'WRITE'] });
  });
  afterAll(async () => {
    await t?.stop();
  });

  // Item 4: revoking someone else's token is an admin action, so it needs the ADMIN scope.
  it('an admin user\'s READ+WRITE token cannot revoke another user\'s token (NOT_FOUND); an ADMIN-scoped one can', async () => {
    const made = await t.gql(`mutation { createApiToken(name: "carol-ci", scopes: [READ]) { token apiToken { id } } }`, {}, carol);
    const { id } = made.data.createApiToken.apiToken;
    const refused = await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) }`, { id }, admin2Write);
    expect(errorCode(refused)).toBe('NOT_FOUND');
    const still = await t.gql(`{ viewer { username } }`, {}, made.data.createApiToken.token);
    expect(still.data.viewer.username).toBe('carol');
    const byAdmin = await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) }`, { id });
    expect(byAdmin.data.revokeApiToken).toBe(true);
    // Own tokens stay revocable with WRITE alone.
    const own = await t.gql(`mutation { createApiToken(name: "own", scopes: [READ]) { apiToken { id } } }`, {}, admin2Write);
    const r = await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) }`, { id: own.data.createApiToken.apiToken.id }, admin2Write);
    expect(r.data.revokeApiToken).toBe(true);
  });

  // Item 16: two live tokens of one user with the same name cannot be told apart.
  it('refuses a second live token of the same name for one user with CONFLICT; a revoked name may be reused', async () => {
    const first = await t.gql(`mutation { createApiToken(name: "deploy bot", scopes: [READ]) { apiToken { id } } }`, {}, carol);
    expect(first.errors).toBeUndefined();
    for (const name of ['deploy bot', ' Deploy Bot ']) {
      const dup = await t.gql(`mutation($n: String!) { createApiToken(name: $n, scopes: [READ]) { token } }`, { n: name }, carol);
      expect(errorCode(dup)).toBe('CONFLICT');
      expect(dup.errors![0]!.extensions!.field).toBe('name');
    }
    // Another user may use the name.
    const other = await t.gql(`mutation { createApiToken(name: "deploy bot", scopes: [READ]) { token } }`, {}, admin2Write);
    expect(other.errors).toBeUndefined();
    // Concurrent creates of one new name: exactly one wins.
    const racing = await Promise.all(Array.from({ length: 4 }, () => t.gql(`mutation { createApiToken(name: "racer", scopes: [READ]) { token } }`, {}, carol)));
    expect(racing.filter((r) => !r.errors)).toHaveLength(1);
    expect(racing.filter((r) => r.errors).every((r) => errorCode(r) === 'CONFLICT')).toBe(true);
    await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) }`, { id: first.data.createApiToken.apiToken.id }, carol);
    const reused = await t.gql(`mutation { createApiToken(name: "deploy bot", scopes: [READ]) { token } }`, {}, carol);
    expect(reused.errors).toBeUndefined();
    const names = await t.gql(`{ apiTokens { name } }`, {}, carol);
    expect(names.data.apiTokens.filter((x: any) => x.name === 'deploy bot')).toHaveLength(1);
  });

  // Item 14: readers see other users' names, not who is an admin.
  it('shows username and displayName of others to any reader, isAdmin only of yourself (admins: of everyone)', async () => {
    const adminId = (await t.gql(`{ viewer { id } }`)).data.viewer.id;
    const carolId = (await t.gql(`{ viewer { id } }`, {}, carol)).data.viewer.id;
    const q = `query($id: ID!) { node(id: $id) { ... on User { username displayName isAdmin } } }`;
    expect((await t.gql(q, { id: adminId }, carol)).data.node).toEqual({ username: 'admin', displayName: 'Administrator', isAdmin: null });
    expect((await t.gql(q, { id: carolId }, carol)).data.node).toEqual({ username: 'carol', displayName: 'carol', isAdmin: false });
    expect((await t.gql(q, { id: carolId })).data.node.isAdmin).toBe(false);
    // An admin user whose credential lacks the ADMIN scope reads like anyone else.
    expect((await t.gql(q, { id: adminId }, admin2Write)).data.node.isAdmin).toBeNull();
    // Through app members too.
    await t.gql(`mutation { createApp(input: { name: "members", kind: GO }) { name } }`);
    await t.gql(`mutation { setAppMember(app: "members", username: "carol", role: VIEWER) { name } }`);
    const m = await t.gql(`{ app(name: "members") { members { user { username isAdmin } } } }`, {}, carol);
    expect(m.data.app.members).toEqual(expect.arrayContaining([{ user: { username: 'admin', isAdmin: null } }, { user: { username: 'carol', isAdmin: false } }]));
    // The one who signs in sees their own flag.
    const s = await t.gql(`mutation { login(username: "admin2", password: "password-123") { user { isAdmin } } }`, {}, null);
    expect(s.data.login.user.isAdmin).toBe(true);
  });

  it('answers non-canonical global ids with NOT_FOUND (one object, one id)', async () => {
    const app = await t.gql(`mutation { createApp(input: { name: "canon", kind: GO }) { id } }`);
    const id = app.data.createApp.id as string;
    const local = Buffer.from(id, 'base64url').toString().split(':')[1]!;
    const q = `query($id: ID!) { node(id: $id) { id } }`;
    expect((await t.gql(q, { id }, carol)).data.node.id).toBe(id);
    const spell = (s: string) => Buffer.from(s).toString('base64url');
    for (const other of [spell(`App:0x${Number(local).toString(16)}`), spell(`App: ${local}`), spell(`App:0${local}`), spell(`App:${local}.0`), spell(`App:${local}e0`), `${id}=`]) {
      const r = await t.gql(q, { id: other }, carol);
      expect(errorCode(r)).toBe('NOT_FOUND');
    }
    // Ids in mutation arguments too.
    const tok = await t.gql(`mutation { createApiToken(name: "canon", scopes: [READ]) { apiToken { id } } }`, {}, carol);
    const tokLocal = Buffer.from(tok.data.createApiToken.apiToken.id, 'base64url').toString().split(':')[1]!;
    const r = await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) }`, { id: spell(`ApiToken:0${tokLocal}`) }, carol);
    expect(errorCode(r)).toBe('NOT_FOUND');
  });
});
