/**
 * Every mutation × every kind of caller, allowed and refused, through the real HTTP API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  availableModes,
  createUserWithToken,
  errorCode,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { startTestClusters, type TestClusters } from '../k8s/support.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRepo, type TestRepo } from '../builds/support.js';

type Caller =
  | 'anonymous'
  | 'readToken'
  | 'outsider'
  | 'viewer'
  | 'developer'
  | 'owner'
  | 'admin'
  | 'adminWriteToken';
const CALLERS: Caller[] = [
  'anonymous',
  'readToken',
  'outsider',
  'viewer',
  'developer',
  'owner',
  'admin',
  'adminWriteToken',
];
type Outcome = 'OK' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'CONFLICT';

// Expected outcome per mutation and caller. Owner-only app edits; admin-only platform settings.
const ownerOnly: Record<Caller, Outcome> = {
  anonymous: 'UNAUTHENTICATED',
  readToken: 'FORBIDDEN',
  outsider: 'FORBIDDEN',
  viewer: 'FORBIDDEN',
  developer: 'FORBIDDEN',
  owner: 'OK',
  admin: 'OK',
  adminWriteToken: 'FORBIDDEN',
};
const anyWriter: Record<Caller, Outcome> = {
  anonymous: 'UNAUTHENTICATED',
  readToken: 'FORBIDDEN',
  outsider: 'OK',
  viewer: 'OK',
  developer: 'OK',
  owner: 'OK',
  admin: 'OK',
  adminWriteToken: 'OK',
};
const adminOnly: Record<Caller, Outcome> = {
  anonymous: 'UNAUTHENTICATED',
  readToken: 'FORBIDDEN',
  outsider: 'FORBIDDEN',
  viewer: 'FORBIDDEN',
  developer: 'FORBIDDEN',
  owner: 'FORBIDDEN',
  admin: 'OK',
  adminWriteToken: 'FORBIDDEN',
};
// Deciding a ticket: the app's OWNER or an admin acting as admin (the requester is someone else).
// Callers who cannot see the ticket (outsider, adminWriteToken) get NOT_FOUND, never FORBIDDEN.
const ticketDecider: Record<Caller, Outcome> = {
  anonymous: 'UNAUTHENTICATED',
  readToken: 'FORBIDDEN',
  outsider: 'NOT_FOUND',
  viewer: 'FORBIDDEN',
  developer: 'FORBIDDEN',
  owner: 'OK',
  admin: 'OK',
  adminWriteToken: 'NOT_FOUND',
};
// Reading a ticket: its requester, the app's members, admins acting as admin.
const ticketReader: Record<Caller, Outcome> = {
  anonymous: 'UNAUTHENTICATED',
  readToken: 'OK',
  outsider: 'NOT_FOUND',
  viewer: 'OK',
  developer: 'OK',
  owner: 'OK',
  admin: 'OK',
  adminWriteToken: 'NOT_FOUND',
};
// Releasing: DEVELOPER or above on the app, or an admin acting as admin.
const developerUp: Record<Caller, Outcome> = {
  anonymous: 'UNAUTHENTICATED',
  readToken: 'FORBIDDEN',
  outsider: 'FORBIDDEN',
  viewer: 'FORBIDDEN',
  developer: 'OK',
  owner: 'OK',
  admin: 'OK',
  adminWriteToken: 'FORBIDDEN',
};
/** Those allowed get CONFLICT (the release is in no state for it); the others their refusal. */
const allowedConflict = (m: Record<Caller, Outcome>): Record<Caller, Outcome> =>
  Object.fromEntries(Object.entries(m).map(([c, o]) => [c, o === 'OK' ? 'CONFLICT' : o])) as Record<
    Caller,
    Outcome
  >;
const anyReader: Record<Caller, Outcome> = {
  anonymous: 'UNAUTHENTICATED',
  readToken: 'OK',
  outsider: 'OK',
  viewer: 'OK',
  developer: 'OK',
  owner: 'OK',
  admin: 'OK',
  adminWriteToken: 'OK',
};

let seq = 0;
const uniq = (p: string) => `${p}-${++seq}`;

describe.each(availableModes)('authorization matrix (%s)', (mode) => {
  let t: TestPhantom;
  const tokens = {} as Record<Caller | 'requester', string | null>;

  let clusters: TestClusters;
  let root: string;
  let repo: TestRepo;

  beforeAll(async () => {
    // Simulated clusters for releases (prod waits for approval, so nothing needs to deploy).
    clusters = await startTestClusters();
    root = mkdtempSync(join(tmpdir(), 'phantom-authz-'));
    repo = makeRepo({ 'README.md': 'matrix' }, root);
    t = await startTestPhantom(mode, {
      env: { PHANTOM_KUBECONFIG: clusters.kubeconfigPath, PHANTOM_DATA_DIR: join(root, 'data') },
    });
    tokens.anonymous = null;
    tokens.admin = ADMIN_TOKEN;
    tokens.owner = await createUserWithToken(t, 'owner');
    tokens.developer = await createUserWithToken(t, 'dev');
    tokens.viewer = await createUserWithToken(t, 'viewer');
    tokens.outsider = await createUserWithToken(t, 'outsider');
    tokens.readToken = await createUserWithToken(t, 'reader', { scopes: ['READ'] });
    tokens.adminWriteToken = await createUserWithToken(t, 'admin2', {
      isAdmin: true,
      scopes: ['READ', 'WRITE'],
    });
    tokens.requester = await createUserWithToken(t, 'requester');
  });
  afterAll(async () => {
    await t?.stop();
    await clusters?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** A release of a fresh app to prod (by the admin), waiting for approval; returns its id. */
  async function waitingRelease(): Promise<string> {
    const app = await freshApp();
    const r = await t.gql(
      `mutation($a: String!) { createRelease(input: { app: $a, env: "prod", image: "registry.local/x:1" }) { id } }`,
      { a: app },
    );
    expect(r.errors).toBeUndefined();
    return r.data.createRelease.id;
  }

  /** A fresh app owned by `owner`, with dev as DEVELOPER, viewer as VIEWER, reader as OWNER (its token is READ-only). */
  async function freshApp(): Promise<string> {
    const name = uniq('app');
    const c = await t.gql(
      `mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { name } }`,
      { n: name },
      tokens.owner,
    );
    expect(c.errors).toBeUndefined();
    for (const [u, role] of [
      ['dev', 'DEVELOPER'],
      ['viewer', 'VIEWER'],
      ['reader', 'OWNER'],
    ]) {
      const m = await t.gql(
        `mutation($n: String!, $u: String!, $r: AppRole) { setAppMember(app: $n, username: $u, role: $r) { name } }`,
        { n: name, u, r: role },
        tokens.owner,
      );
      expect(m.errors).toBeUndefined();
    }
    return name;
  }

  /** A fresh app that builds (a real repository whose build sleeps, so a build of it stays open). */
  async function buildableApp(): Promise<string> {
    const name = await freshApp();
    const u = await t.gql(
      `mutation($n: String!, $r: String!) { updateApp(name: $n, input: { repository: $r, buildCommand: "sleep 30" }) { name } }`,
      { n: name, r: repo.url },
      tokens.owner,
    );
    expect(u.errors).toBeUndefined();
    return name;
  }

  /** A build that has not ended (triggered by the admin). */
  async function openBuild(): Promise<string> {
    const r = await t.gql(`mutation($a: String!) { triggerBuild(app: $a) { id } }`, {
      a: await buildableApp(),
    });
    expect(r.errors).toBeUndefined();
    return r.data.triggerBuild.id;
  }

  /** A fresh token of the caller's own user (made through a session), to revoke. */
  async function ownTokenId(caller: Caller): Promise<string> {
    const user: Record<Caller, string | null> = {
      anonymous: null,
      readToken: 'reader',
      outsider: 'outsider',
      viewer: 'viewer',
      developer: 'dev',
      owner: 'owner',
      admin: null,
      adminWriteToken: 'admin2',
    };
    const name = user[caller];
    if (!name) {
      // Token names are unique per user among live tokens: each case makes its own.
      const t2 = await t.gql(
        `mutation($n: String!) { createApiToken(name: $n, scopes: [READ]) { apiToken { id } } }`,
        { n: uniq('to-revoke') },
      );
      return t2.data.createApiToken.apiToken.id;
    }
    const s = await t.gql(
      `mutation($u: String!) { login(username: $u, password: "password-123") { token } }`,
      { u: name },
      null,
    );
    const made = await t.gql(
      `mutation($n: String!) { createApiToken(name: $n, scopes: [READ]) { apiToken { id } } }`,
      { n: uniq('to-revoke') },
      s.data.login.token,
    );
    return made.data.createApiToken.apiToken.id;
  }

  /** An open access request on a fresh app, by a user who is none of the callers; returns its id. */
  async function openTicket(): Promise<string> {
    const app = await freshApp();
    const r = await t.gql(
      `mutation($a: String!) { requestAccess(app: $a, role: DEVELOPER, reason: "matrix") { id } }`,
      { a: app },
      tokens.requester,
    );
    expect(r.errors).toBeUndefined();
    return r.data.requestAccess.id;
  }

  /** A fresh maintenance window (by the admin), in 2030 so it stops no release here. */
  async function freshWindow(): Promise<{ id: string; name: string }> {
    const r = await t.gql(
      `mutation($n: String!) { createMaintenanceWindow(input: { name: $n, envs: ["prod"], startsAt: "2030-01-01T00:00:00Z", endsAt: "2030-01-02T00:00:00Z", reason: "matrix" }) { id name } }`,
      { n: uniq('window') },
    );
    expect(r.errors).toBeUndefined();
    return r.data.createMaintenanceWindow;
  }

  /** A fresh admin rule (by the admin): a maintenance window, a dependency rule, or a whitelist entry of a fresh app; returns its id. */
  async function freshRule(kind: 'window' | 'dependency' | 'whitelist'): Promise<string> {
    if (kind === 'window') return (await freshWindow()).id;
    if (kind === 'dependency') {
      const r = await t.gql(
        `mutation($a: String!) { createDependencyRule(input: { artifact: $a, minVersion: "1.0" }) { id } }`,
        { a: uniq('artifact') },
      );
      expect(r.errors).toBeUndefined();
      return r.data.createDependencyRule.id;
    }
    const r = await t.gql(
      `mutation($a: String!, $r: String!) { createWhitelistEntry(input: { app: $a, rule: $r, reason: "matrix", expiresAt: "2030-01-01T00:00:00Z" }) { id } }`,
      { a: await freshApp(), r: (await freshWindow()).name },
    );
    expect(r.errors).toBeUndefined();
    return r.data.createWhitelistEntry.id;
  }

  const cases: [
    string,
    Record<Caller, Outcome>,
    (
      caller: Caller,
    ) =>
      | { query: string; variables: Record<string, unknown> }
      | Promise<{ query: string; variables: Record<string, unknown> }>,
  ][] = [
    [
      'createApp',
      anyWriter,
      () => ({
        query: `mutation($n: String!) { createApp(input: { name: $n, kind: NODE }) { name } }`,
        variables: { n: uniq('new') },
      }),
    ],
    [
      'updateApp',
      ownerOnly,
      async () => ({
        query: `mutation($n: String!) { updateApp(name: $n, input: { description: "changed" }) { version } }`,
        variables: { n: await freshApp() },
      }),
    ],
    [
      'deleteApp',
      ownerOnly,
      async () => ({
        query: `mutation($n: String!) { deleteApp(name: $n) }`,
        variables: { n: await freshApp() },
      }),
    ],
    [
      'setAppMember',
      ownerOnly,
      async () => ({
        query: `mutation($n: String!) { setAppMember(app: $n, username: "outsider", role: VIEWER) { name } }`,
        variables: { n: await freshApp() },
      }),
    ],
    [
      'createUser',
      adminOnly,
      () => ({
        query: `mutation($u: String!) { createUser(input: { username: $u }) { username } }`,
        variables: { u: uniq('user') },
      }),
    ],
    [
      'upsertEnvironment',
      adminOnly,
      () => ({
        query: `mutation($n: String!) { upsertEnvironment(input: { name: $n, requiresApproval: false, targets: [{ cluster: "sim-1", namespace: "x" }] }) { name } }`,
        variables: { n: uniq('env') },
      }),
    ],
    [
      'createApiToken',
      anyWriter,
      () => ({
        query: `mutation { createApiToken(name: "t", scopes: [READ]) { token } }`,
        variables: {},
      }),
    ],
    [
      'apps (query)',
      anyReader,
      () => ({ query: `{ apps(first: 1) { totalCount } }`, variables: {} }),
    ],
    [
      'app (query)',
      anyReader,
      async () => ({
        query: `query($n: String!) { app(name: $n) { name members { role } } }`,
        variables: { n: await freshApp() },
      }),
    ],
    [
      'environments (query)',
      anyReader,
      () => ({ query: `{ environments { name } }`, variables: {} }),
    ],
    ['viewer (query)', anyReader, () => ({ query: `{ viewer { username } }`, variables: {} })],
    ['node (query)', anyReader, () => ({ query: `{ node(id: "QXBwOjE") { id } }`, variables: {} })],
    // Any writer below OWNER on the app; its OWNER already holds the role (CONFLICT).
    [
      'requestAccess',
      { ...anyWriter, owner: 'CONFLICT' },
      async () => ({
        query: `mutation($a: String!) { requestAccess(app: $a, role: OWNER, reason: "please") { id } }`,
        variables: { a: await freshApp() },
      }),
    ],
    [
      'approveTicket',
      ticketDecider,
      async () => ({
        query: `mutation($id: ID!) { approveTicket(id: $id) { status } }`,
        variables: { id: await openTicket() },
      }),
    ],
    [
      'rejectTicket',
      ticketDecider,
      async () => ({
        query: `mutation($id: ID!) { rejectTicket(id: $id, comment: "no") { status } }`,
        variables: { id: await openTicket() },
      }),
    ],
    [
      'ticket (query)',
      ticketReader,
      async () => ({
        query: `query($id: ID!) { ticket(id: $id) { id viewerCanDecide } }`,
        variables: { id: await openTicket() },
      }),
    ],
    [
      'tickets (query)',
      anyReader,
      () => ({ query: `{ tickets(first: 5) { edges { node { id } } } }`, variables: {} }),
    ],
    [
      'createRelease',
      developerUp,
      async () => ({
        query: `mutation($a: String!) { createRelease(input: { app: $a, env: "prod", image: "registry.local/x:1" }) { id status } }`,
        variables: { a: await freshApp() },
      }),
    ],
    [
      'cancelRelease',
      developerUp,
      async () => ({
        query: `mutation($id: ID!) { cancelRelease(id: $id) { cancelRequested } }`,
        variables: { id: await waitingRelease() },
      }),
    ],
    [
      'promoteRelease',
      allowedConflict(developerUp),
      async () => ({
        query: `mutation($id: ID!) { promoteRelease(id: $id) { status } }`,
        variables: { id: await waitingRelease() },
      }),
    ],
    [
      'rollbackRelease',
      allowedConflict(developerUp),
      async () => ({
        query: `mutation($id: ID!) { rollbackRelease(id: $id) { id } }`,
        variables: { id: await waitingRelease() },
      }),
    ],
    [
      'release (query)',
      anyReader,
      async () => ({
        query: `query($id: ID!) { release(id: $id) { id status steps { name } } }`,
        variables: { id: await waitingRelease() },
      }),
    ],
    [
      'releases (query)',
      anyReader,
      () => ({ query: `{ releases(first: 5) { edges { node { id } } } }`, variables: {} }),
    ],
    // Builds: DEVELOPER or above triggers and cancels; every signed-in reader reads.
    [
      'triggerBuild',
      developerUp,
      async () => ({
        query: `mutation($a: String!) { triggerBuild(app: $a) { id status } }`,
        variables: { a: await buildableApp() },
      }),
    ],
    [
      'cancelBuild',
      developerUp,
      async () => ({
        query: `mutation($id: ID!) { cancelBuild(id: $id) { id } }`,
        variables: { id: await openBuild() },
      }),
    ],
    [
      'build (query)',
      anyReader,
      async () => ({
        query: `query($id: ID!) { build(id: $id) { id status log { nextOffset } } }`,
        variables: { id: await openBuild() },
      }),
    ],
    [
      'revokeApiToken (own)',
      anyWriter,
      async (caller) => ({
        query: `mutation($id: ID!) { revokeApiToken(id: $id) }`,
        variables: { id: await ownTokenId(caller) },
      }),
    ],
    // Admin rules: admins edit, every signed-in reader reads.
    [
      'settings (query)',
      anyReader,
      () => ({
        query: `{ settings { maintenanceWindows { id } dependencyRules { id } whitelist { id } } }`,
        variables: {},
      }),
    ],
    [
      'createMaintenanceWindow',
      adminOnly,
      () => ({
        query: `mutation($n: String!) { createMaintenanceWindow(input: { name: $n, envs: ["prod"], startsAt: "2030-01-01T00:00:00Z", endsAt: "2030-01-02T00:00:00Z", reason: "matrix" }) { id } }`,
        variables: { n: uniq('window') },
      }),
    ],
    [
      'updateMaintenanceWindow',
      adminOnly,
      async () => ({
        query: `mutation($id: ID!, $n: String!) { updateMaintenanceWindow(id: $id, input: { name: $n, envs: ["prod"], weekly: { days: [SAT], startTime: "22:00", endTime: "06:00" }, timezone: "Europe/Berlin", reason: "matrix" }) { id } }`,
        variables: { id: await freshRule('window'), n: uniq('window') },
      }),
    ],
    [
      'deleteMaintenanceWindow',
      adminOnly,
      async () => ({
        query: `mutation($id: ID!) { deleteMaintenanceWindow(id: $id) }`,
        variables: { id: await freshRule('window') },
      }),
    ],
    [
      'createDependencyRule',
      adminOnly,
      () => ({
        query: `mutation($a: String!) { createDependencyRule(input: { artifact: $a, bannedVersions: ["2.15.0"] }) { id } }`,
        variables: { a: uniq('artifact') },
      }),
    ],
    [
      'deleteDependencyRule',
      adminOnly,
      async () => ({
        query: `mutation($id: ID!) { deleteDependencyRule(id: $id) }`,
        variables: { id: await freshRule('dependency') },
      }),
    ],
    [
      'createWhitelistEntry',
      adminOnly,
      async () => ({
        query: `mutation($a: String!, $r: String!) { createWhitelistEntry(input: { app: $a, rule: $r, reason: "matrix", expiresAt: "2030-01-01T00:00:00Z" }) { id } }`,
        variables: { a: await freshApp(), r: (await freshWindow()).name },
      }),
    ],
    [
      'deleteWhitelistEntry',
      adminOnly,
      async () => ({
        query: `mutation($id: ID!) { deleteWhitelistEntry(id: $id) }`,
        variables: { id: await freshRule('whitelist') },
      }),
    ],
  ];

  for (const [name, expected, make] of cases) {
    for (const caller of CALLERS) {
      it(`${name} as ${caller} → ${expected[caller]}`, async () => {
        const { query, variables } = await make(caller);
        const r = await t.gql(query, variables, tokens[caller]);
        if (expected[caller] === 'OK') {
          expect(r.errors).toBeUndefined();
          expect(r.data).toBeTruthy();
        } else {
          expect(errorCode(r)).toBe(expected[caller]);
        }
      });
    }
  }

  it("revokeApiToken: own token yes, someone else's reads as NOT_FOUND, admin may revoke any", async () => {
    const created = await t.gql(
      `mutation { createApiToken(name: "mine", scopes: [READ, WRITE]) { token apiToken { id scopes } } }`,
      {},
      tokens.owner,
    );
    const id = created.data.createApiToken.apiToken.id;
    const other = await t.gql(
      `mutation($id: ID!) { revokeApiToken(id: $id) }`,
      { id },
      tokens.developer,
    );
    expect(errorCode(other)).toBe('NOT_FOUND');
    const works = await t.gql(`{ viewer { username } }`, {}, created.data.createApiToken.token);
    expect(works.data.viewer.username).toBe('owner');
    const admin = await t.gql(
      `mutation($id: ID!) { revokeApiToken(id: $id) }`,
      { id },
      tokens.admin,
    );
    expect(admin.data.revokeApiToken).toBe(true);
    const revoked = await t.gql(`{ viewer { username } }`, {}, created.data.createApiToken.token);
    expect(errorCode(revoked)).toBe('UNAUTHENTICATED');
    expect(revoked.status).toBe(401);
  });

  it('a token cannot grant scopes its holder lacks', async () => {
    const r = await t.gql(
      `mutation { createApiToken(name: "escalate", scopes: [ADMIN]) { token } }`,
      {},
      tokens.owner,
    );
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0].extensions!.field).toBe('scopes');
  });
});
