/**
 * Hardening of what the API stores and shows (issue "Hardening", items 2, 12, 13, 15),
 * through the real HTTP API on MySQL + Redis and embedded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableModes,
  createUserWithToken,
  errorCode,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { collectEvents, eventually, newestEventId } from '../events/support.js';

describe.each(availableModes)('hardening: stored data (%s)', (mode) => {
  let t: TestPhantom;
  let owner: string;

  beforeAll(async () => {
    t = await startTestPhantom(mode);
    owner = await createUserWithToken(t, 'owner1');
    const c = await t.gql(
      `mutation { createApp(input: { name: "shop", kind: GO, repository: "https://git.example.com/team/shop.git" }) { name } }`,
      {},
      owner,
    );
    expect(c.errors).toBeUndefined();
  });
  afterAll(async () => {
    await t?.stop();
  });

  // Item 13: a repository URL is shown to every reader, so it must not hold a credential.
  it('refuses credentials in repository URLs with BAD_USER_INPUT and says how to give them instead', async () => {
    for (const repository of [
      'https://bob:PW@git.example.com/x.git',
      'https://ghp_token123@github.com/x.git',
      'ssh://git:PW@git.example.com/x.git',
    ]) {
      for (const q of [
        `mutation($r: String!) { createApp(input: { name: "leaky", kind: GO, repository: $r }) { name } }`,
        `mutation($r: String!) { updateApp(name: "shop", input: { repository: $r }) { repository } }`,
      ]) {
        const r = await t.gql(q, { r: repository }, owner);
        expect(errorCode(r)).toBe('BAD_USER_INPUT');
        expect(r.errors![0].extensions!.field).toBe('repository');
        expect(r.errors![0].message).toMatch(/deploy key/);
      }
    }
    const app = await t.gql(`{ app(name: "shop") { repository } }`);
    expect(app.data.app.repository).toBe('https://git.example.com/team/shop.git');
    expect((await t.gql(`{ app(name: "leaky") { name } }`)).data.app).toBeNull();
    // An ssh user name is an account, not a secret.
    for (const repository of [
      'ssh://git@git.example.com/team/shop.git',
      'git@git.example.com:team/shop.git',
    ]) {
      const ok = await t.gql(
        `mutation($r: String!) { updateApp(name: "shop", input: { repository: $r }) { repository } }`,
        { r: repository },
        owner,
      );
      expect(ok.data.updateApp.repository).toBe(repository);
    }
  });

  it('shows a repository saved with a credential before the check without it', async () => {
    const em = t.phantom.platform.orm.em.fork();
    await em
      .getConnection()
      .execute(
        `update apps set repository = 'https://bob:PW@git.example.com/old.git' where name = 'shop'`,
      );
    await t.phantom.platform.deps.cache.invalidate('app:shop');
    const r = await t.gql(
      `{ app(name: "shop") { repository } apps { edges { node { repository } } } }`,
      {},
      owner,
    );
    expect(r.data.app.repository).toBe('https://git.example.com/old.git');
    expect(JSON.stringify(r.data)).not.toContain('PW');
  });

  // Item 15: the events about notification routes name the route and its channel; only
  // those who may read the routes see them, in history and live.
  it('shows notification-route events only to those who may read the routes, in history and live', async () => {
    const dev = await createUserWithToken(t, 'dev1');
    await t.gql(
      `mutation { setAppMember(app: "shop", username: "dev1", role: DEVELOPER) { name } }`,
      {},
      owner,
    );
    const after = await newestEventId(t);
    const live = collectEvents(t.ws(dev), { after });
    const ownerLive = collectEvents(t.ws(owner), { after });
    const made = await t.gql(
      `mutation { createNotificationRoute(input: { name: "shop secret chat", app: "shop", channel: SLACK, webhookUrl: "https://hooks.slack.com/services/T/B/x" }) { id } }`,
      {},
      owner,
    );
    expect(made.errors).toBeUndefined();
    const global = await t.gql(
      `mutation { createNotificationRoute(input: { name: "all apps", channel: SLACK, webhookUrl: "https://hooks.slack.com/services/T/B/y" }) { id } }`,
    );
    expect(global.errors).toBeUndefined();
    // An ordinary app event afterwards: the developer gets it, so the route events were withheld, not late.
    await t.gql(
      `mutation { updateApp(name: "shop", input: { description: "after the routes" }) { version } }`,
      {},
      owner,
    );
    const routeEvents = (events: any[]) =>
      events.filter(
        (e) => e.type === 'SETTINGS_CHANGED' && e.payload.setting === 'notificationRoute',
      );
    await eventually(
      () =>
        live.events.some((e) => e.type === 'APP_UPDATED') &&
        ownerLive.events.some((e) => e.type === 'APP_UPDATED'),
    );
    expect(routeEvents(live.events)).toEqual([]);
    expect(routeEvents(ownerLive.events).map((e) => e.payload.name)).toEqual(['shop secret chat']);
    live.stop();
    ownerLive.stop();

    const history = async (token?: string | null) => {
      const r = await t.gql(
        `{ platformEvents(first: 100, filter: { types: [SETTINGS_CHANGED] }) { edges { node { type app payload } } } }`,
        {},
        token,
      );
      if (r.errors) throw new Error(JSON.stringify(r.errors));
      return routeEvents(r.data.platformEvents.edges.map((e: any) => e.node)).map(
        (e) => e.payload.name,
      );
    };
    expect(await history(dev)).toEqual([]);
    expect(await history(owner)).toEqual(['shop secret chat']);
    expect(await history()).toEqual(['shop secret chat', 'all apps']);
  });

  // Item 2: a string with an unpaired surrogate was applied while its audit entry (a JSON
  // column) was refused: the change escaped the audit log. Such input is now refused before
  // anything runs, and the refusal itself is audited.
  it('refuses unpaired surrogates in any input with BAD_USER_INPUT naming the variable; nothing changes, nothing escapes the audit log', async () => {
    const em = () => t.phantom.platform.orm.em.fork();
    const auditRows = async () =>
      Number(
        (await em().getConnection('write').execute('select count(*) as c from audit_log'))[0].c,
      );
    const before = await auditRows();
    const bad = 'ok\udfff';
    const upd = await t.gql(
      `mutation Sneak($i: UpdateAppInput!) { updateApp(name: "shop", input: $i) { startCommand } }`,
      { i: { startCommand: bad } },
      owner,
    );
    expect(upd.status).toBe(200); // a document error, answered as application/json
    expect(upd.data).toBeUndefined();
    expect(upd.errors![0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: '$i.startCommand',
    });
    const admin = await t.gql(
      `mutation($u: String!, $d: String) { createUser(input: { username: $u, displayName: $d }) { id } }`,
      { u: 'sneaky', d: bad },
    );
    expect(admin.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: '$d' });
    // Once an event payload's name: an INTERNAL_SERVER_ERROR after the change.
    const named = await t.gql(
      `mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { name } }`,
      { n: `x${bad}` },
      owner,
    );
    expect(errorCode(named)).toBe('BAD_USER_INPUT');
    // Object keys and list items too, and queries.
    const key = await t.gql(
      `query($f: PlatformEventFilter) { platformEvents(filter: $f) { edges { cursor } } }`,
      { f: { types: ['APP_CREATED', bad] } },
      owner,
    );
    expect(key.errors![0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: '$f.types.1',
    });

    // Nothing changed.
    expect((await t.gql(`{ app(name: "shop") { startCommand } }`)).data.app.startCommand).toBe('');
    expect(
      Number(
        (
          await em()
            .getConnection('write')
            .execute(`select count(*) as c from users where username = 'sneaky'`)
        )[0].c,
      ),
    ).toBe(0);
    // Every refused mutation is in the audit log (one root field each), its text made storable.
    expect(await auditRows()).toBe(before + 3);
    const log = await t.gql(
      `{ auditLog(first: 3) { edges { node { actor operationName rootField outcome errorCode args } } } }`,
    );
    const [app, user, update] = log.data.auditLog.edges.map((e: any) => e.node);
    expect(update).toMatchObject({
      actor: 'owner1',
      operationName: 'Sneak',
      rootField: 'updateApp',
      outcome: 'ERROR',
      errorCode: 'BAD_USER_INPUT',
    });
    expect(update.args.updateApp.input.startCommand).toBe('ok\ufffd');
    expect(user).toMatchObject({
      actor: 'admin',
      rootField: 'createUser',
      errorCode: 'BAD_USER_INPUT',
    });
    expect(app).toMatchObject({ rootField: 'createApp', errorCode: 'BAD_USER_INPUT' });

    // Subscriptions: refused the same way over graphql-ws.
    const sub = collectEvents(t.ws(owner), { filter: { app: bad } });
    await eventually(() => sub.errors.length > 0);
    expect(JSON.stringify(sub.errors)).toContain('BAD_USER_INPUT');
    expect(JSON.stringify(sub.errors)).toContain('$f.app');
    sub.stop();
  });

  // Found by an adversarial probe: NUL (U+0000) in any string that reached SQL was an
  // INTERNAL_SERVER_ERROR on the embedded SQLite (the statement text ended at it), and a
  // refused login or token with one left no audit entry (its fallback held the NUL too).
  it('refuses NUL in variables, literals and hand-made cursors with BAD_USER_INPUT, and audits the refused mutation', async () => {
    const nul = 'x\u0000y';
    const byVar = await t.gql(`query($n: String!) { app(name: $n) { name } }`, { n: nul });
    expect(byVar.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: '$n' });
    const byLiteral = await t.gql(`{ app(name: "x\\u0000y") { name } }`);
    expect(byLiteral.errors![0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'app.name',
    });
    const cursor = Buffer.from(JSON.stringify({ n: nul })).toString('base64url');
    const byCursor = await t.gql(`query($a: String) { apps(after: $a) { totalCount } }`, {
      a: cursor,
    });
    expect(byCursor.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT' });

    const log = async () =>
      (
        await t.gql(
          `{ auditLog(first: 1) { edges { node { rootField outcome errorCode args } } } }`,
        )
      ).data.auditLog.edges[0]?.node;
    const login = await t.gql(
      `mutation($u: String!) { login(username: $u, password: "guess-123456") { token } }`,
      { u: `admin${nul}` },
      null,
    );
    expect(login.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: '$u' });
    expect(await log()).toMatchObject({
      rootField: 'login',
      outcome: 'ERROR',
      errorCode: 'BAD_USER_INPUT',
      args: { login: { username: 'adminx\ufffdy' } },
    });
  });
});
