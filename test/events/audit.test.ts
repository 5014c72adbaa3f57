import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableModes,
  createUserWithToken,
  errorCode,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { AuditEntry } from '../../src/domain/audit/audit-entry.entity.js';
import { eventually } from './support.js';

const AUDIT = `edges { cursor node { id at actor operationName rootField target app outcome errorCode args } } pageInfo { hasNextPage endCursor }`;

describe.each(availableModes)('audit log (%s)', (mode) => {
  let t: TestPhantom;
  let alice: string;
  let bob: string;
  const log = async (filter: Record<string, unknown> = {}, token?: string | null, first = 50) =>
    t.gql(
      `query($f: AuditFilter, $n: Int) { auditLog(filter: $f, first: $n) { ${AUDIT} } }`,
      { f: filter, n: first },
      token,
    );
  const entries = async (filter: Record<string, unknown> = {}, token?: string | null) => {
    const r = await log(filter, token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data.auditLog.edges.map((e: any) => e.node);
  };

  beforeAll(async () => {
    t = await startTestPhantom(mode);
    alice = await createUserWithToken(t, 'alice');
    bob = await createUserWithToken(t, 'bob');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('records a successful mutation: who, when, operation, root field, target, arguments', async () => {
    const r = await t.gql(
      `mutation MakeWeb($n: String!) { createApp(input: { name: $n, kind: GO, description: "front" }) { name } }`,
      { n: 'web' },
    );
    expect(r.errors).toBeUndefined();
    const [e] = await entries({ operation: 'createApp' });
    expect(e).toMatchObject({
      actor: 'admin',
      operationName: 'MakeWeb',
      rootField: 'createApp',
      target: 'web',
      app: 'web',
      outcome: 'OK',
      errorCode: null,
    });
    expect(e.args).toEqual({
      createApp: { input: { name: 'web', kind: 'GO', description: 'front' } },
    });
    expect(new Date(e.at).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect((await entries({ operation: 'MakeWeb' })).map((x: any) => x.id)).toEqual([e.id]);
  });

  it("leaves the schema's other fields alone: Apollo's per-field instrumentation never starts", async () => {
    // Mutations ran (beforeAll, the test above). A plugin with Apollo's willResolveField hook
    // made Apollo wrap every field of the schema from the first mutation on (its marker is a
    // symbol on the schema): the audit plugin hooks the Mutation type's resolvers instead.
    const marks = () =>
      Object.getOwnPropertySymbols(t.phantom.schema).map((s) => s.description ?? '');
    expect(
      (await t.gql(`mutation { createApp(input: { name: "plain-fields", kind: GO }) { name } }`))
        .errors,
    ).toBeUndefined();
    expect(marks()).not.toContain('apolloServerPluginsEnabled');
    const [e] = await entries({ operation: 'createApp', app: 'plain-fields' });
    expect(e).toMatchObject({ rootField: 'createApp', app: 'plain-fields', outcome: 'OK' });
  });

  it('records failures with their error code: domain errors, FORBIDDEN, invalid requests', async () => {
    await t.gql(`mutation { updateApp(name: "nope", input: { description: "x" }) { version } }`);
    await t.gql(
      `mutation { updateApp(name: "web", input: { description: "mine now" }) { version } }`,
      undefined,
      alice,
    );
    await t.gql(`mutation { createApp(input: { name: "bad", kind: COBOL }) { name } }`);
    const all = await entries();
    const byTarget = (target: string, actor: string) =>
      all.find((x: any) => x.target === target && x.actor === actor);
    expect(byTarget('nope', 'admin')).toMatchObject({
      rootField: 'updateApp',
      outcome: 'ERROR',
      errorCode: 'NOT_FOUND',
      app: 'nope',
    });
    expect(byTarget('web', 'alice')).toMatchObject({
      rootField: 'updateApp',
      outcome: 'ERROR',
      errorCode: 'FORBIDDEN',
      app: 'web',
    });
    const invalid = all.find((x: any) => x.rootField === 'createApp' && x.outcome === 'ERROR');
    expect(invalid.errorCode).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('never stores passwords, tokens or URL secrets, sent inline or as variables', async () => {
    await t.gql(
      `mutation { login(username: "alice", password: "inline-password-1") { token } }`,
      undefined,
      null,
    );
    expect(
      (
        await t.gql(
          `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }`,
          { u: 'alice', p: 'password-123' },
          null,
        )
      ).errors,
    ).toBeUndefined();
    await t.gql(
      `mutation($p: String!) { createUser(input: { username: "carol", password: $p }) { id } }`,
      { p: 'variable-password-2' },
    );
    await t.gql(
      `mutation { createApp(input: { name: "repo-app", kind: GO, repository: "https://ci:repo-secret-3@git.example.com/a.git?token=query-secret-4" }) { name } }`,
    );
    const [ok, wrong] = await entries({ operation: 'login' });
    expect(ok).toMatchObject({ actor: null, target: 'alice', outcome: 'OK' });
    expect(wrong).toMatchObject({ actor: null, target: 'alice', outcome: 'ERROR' });
    expect(wrong.errorCode).toMatch(/UNAUTHENTICATED|BAD_USER_INPUT/);
    for (const e of [ok, wrong])
      expect(e.args.login).toEqual({ username: 'alice', password: '[REDACTED]' });
    const created = (await entries({ operation: 'createUser' }))[0];
    expect(created.args.createUser.input).toMatchObject({
      username: 'carol',
      password: '[REDACTED]',
    });
    const stored = await t.phantom.platform.orm.em.fork().find(AuditEntry, {});
    const raw = JSON.stringify(stored.map((s) => s.args));
    for (const secret of [
      'inline-password-1',
      'variable-password-2',
      'repo-secret-3',
      'query-secret-4',
      'password-123',
      'phm_',
    ])
      expect(raw).not.toContain(secret);
    // createApiToken's answer (the token) is never in the log either.
    expect(raw).not.toMatch(/"token":"[^[]/);
  });

  it('lets admins read everything and app OWNERs only their apps', async () => {
    expect(
      (
        await t.gql(
          `mutation { createApp(input: { name: "alices", kind: NODE }) { name } }`,
          undefined,
          alice,
        )
      ).errors,
    ).toBeUndefined();
    await t.gql(
      `mutation { setAppMember(app: "alices", username: "bob", role: VIEWER) { name } }`,
      undefined,
      alice,
    );
    await t.gql(
      `mutation { updateApp(name: "alices", input: { description: "by bob" }) { version } }`,
      undefined,
      bob,
    );

    const mine = await entries({}, alice);
    expect(mine.length).toBeGreaterThanOrEqual(3);
    expect(new Set(mine.map((e: any) => e.app))).toEqual(new Set(['alices']));
    expect(mine.find((e: any) => e.actor === 'bob')).toMatchObject({
      outcome: 'ERROR',
      errorCode: 'FORBIDDEN',
    });
    expect(
      (await entries({ app: 'alices', actor: 'alice' }, alice)).every(
        (e: any) => e.actor === 'alice',
      ),
    ).toBe(true);

    expect(errorCode(await log({ app: 'web' }, alice))).toBe('FORBIDDEN');
    expect(errorCode(await log({ app: 'does-not-exist' }, alice))).toBe('FORBIDDEN');
    expect(errorCode(await log({}, bob))).toBe('FORBIDDEN');
    expect(errorCode(await log({ app: 'alices' }, bob))).toBe('FORBIDDEN');
    expect(errorCode(await log({}, null))).toBe('UNAUTHENTICATED');

    const admin = await entries();
    expect(
      admin.some((e: any) => e.app === 'web') && admin.some((e: any) => e.app === 'alices'),
    ).toBe(true);
  });

  // Review finding: a request with several root fields was filed under the first field's app,
  // so alice (OWNER of "alices") read the arguments of a change to another app.
  it('writes one entry per root field, each under its own app', async () => {
    const r = await t.gql(
      `mutation Two { a: updateApp(name: "alices", input: { description: "two fields" }) { version } b: setAppMember(app: "web", username: "bob", role: VIEWER) { name } }`,
    );
    expect(r.errors).toBeUndefined();
    const two = await entries({ operation: 'Two' });
    expect(two.map((e: any) => [e.rootField, e.app, e.outcome])).toEqual([
      ['setAppMember', 'web', 'OK'],
      ['updateApp', 'alices', 'OK'],
    ]);
    expect(two[0].args).toEqual({ setAppMember: { app: 'web', username: 'bob', role: 'VIEWER' } });
    expect(two[1].args).toEqual({
      updateApp: { name: 'alices', input: { description: 'two fields' } },
    });
    const asAlice = await entries({ operation: 'Two' }, alice);
    expect(asAlice.map((e: any) => e.rootField)).toEqual(['updateApp']);
    expect(JSON.stringify(asAlice)).not.toContain('"web"');
    // A failure is the failing field's: the other one stays OK.
    await t.gql(
      `mutation Half { a: updateApp(name: "alices", input: { description: "half" }) { version } b: updateApp(name: "nope", input: { description: "x" }) { version } }`,
    );
    expect(
      (await entries({ operation: 'Half' })).map((e: any) => [e.target, e.outcome, e.errorCode]),
    ).toEqual([
      ['nope', 'ERROR', 'NOT_FOUND'],
      ['alices', 'OK', null],
    ]);
  });

  // Review finding: mutations that name only an opaque id were stored without an app, so
  // the app's OWNERs could not read them.
  it("files notification-route changes named by id under the route's app", async () => {
    const created = await t.gql(
      `mutation($i: CreateNotificationRouteInput!) { createNotificationRoute(input: $i) { id app } }`,
      {
        i: {
          name: 'alices chat',
          app: 'alices',
          channel: 'WECOM',
          webhookUrl: 'http://hooks.invalid:9/hook',
        },
      },
      alice,
    );
    expect(created.errors).toBeUndefined();
    const id = created.data.createNotificationRoute.id;
    expect(
      (
        await t.gql(
          `mutation($id: ID!) { updateNotificationRoute(id: $id, input: { name: "renamed" }) { id } }`,
          { id },
          alice,
        )
      ).errors,
    ).toBeUndefined();
    const [e] = await entries({ operation: 'updateNotificationRoute' }, alice);
    expect(e).toMatchObject({ actor: 'alice', app: 'alices', outcome: 'OK' });
    expect(
      (await t.gql(`mutation($id: ID!) { deleteNotificationRoute(id: $id) }`, { id }, alice))
        .errors,
    ).toBeUndefined();
    const [d] = await entries({ operation: 'deleteNotificationRoute' }, alice);
    expect(d).toMatchObject({ actor: 'alice', app: 'alices', outcome: 'OK' });
  });

  // Review finding: entries were linked by app name, so the OWNER of a new app that reuses
  // a deleted app's name read the old app's history.
  it("does not show a deleted app's entries to the OWNER of a new app of the same name", async () => {
    expect(
      (
        await t.gql(
          `mutation { createApp(input: { name: "reused", kind: GO }) { name } }`,
          undefined,
          alice,
        )
      ).errors,
    ).toBeUndefined();
    expect(
      (
        await t.gql(
          `mutation { updateApp(name: "reused", input: { description: "alice's secret plans" }) { version } }`,
          undefined,
          alice,
        )
      ).errors,
    ).toBeUndefined();
    expect(
      (await t.gql(`mutation { deleteApp(name: "reused") }`, undefined, alice)).errors,
    ).toBeUndefined();
    expect(
      (
        await t.gql(
          `mutation { createApp(input: { name: "reused", kind: GO }) { name } }`,
          undefined,
          bob,
        )
      ).errors,
    ).toBeUndefined();
    expect(
      (
        await t.gql(
          `mutation { updateApp(name: "reused", input: { description: "bob's" }) { version } }`,
          undefined,
          bob,
        )
      ).errors,
    ).toBeUndefined();
    const asBob = await entries({ app: 'reused' }, bob);
    expect(asBob.map((e: any) => [e.actor, e.rootField])).toEqual([
      ['bob', 'updateApp'],
      ['bob', 'createApp'],
    ]);
    expect((await entries({}, bob)).every((e: any) => e.actor === 'bob')).toBe(true);
    // Admins still read the whole history of the name.
    expect((await entries({ app: 'reused' })).map((e: any) => e.rootField)).toEqual([
      'updateApp',
      'createApp',
      'deleteApp',
      'updateApp',
      'createApp',
    ]);
  });

  it('pages newest first and refuses bad cursors and filters with BAD_USER_INPUT', async () => {
    const all = await entries();
    const p1 = await log({}, undefined, 2);
    expect(p1.data.auditLog.edges.map((e: any) => e.node.id)).toEqual([all[0].id, all[1].id]);
    expect(p1.data.auditLog.pageInfo.hasNextPage).toBe(true);
    const p2 = await t.gql(
      `query($a: String) { auditLog(first: 2, after: $a) { edges { node { id } } } }`,
      { a: p1.data.auditLog.pageInfo.endCursor },
    );
    expect(p2.data.auditLog.edges.map((e: any) => e.node.id)).toEqual([all[2].id, all[3].id]);
    // Opaque global ids (a Relay store keys records by id alone; platform events have decimal ids).
    const local = (id: string) => {
      const [type, n] = Buffer.from(id, 'base64url').toString('utf8').split(':');
      expect(type).toBe('AuditEntry');
      return Number(n);
    };
    expect(all[0].id).not.toMatch(/^\d+$/);
    expect(local(all[0].id)).toBeGreaterThan(local(all[1].id));
    expect(errorCode(await t.gql(`{ auditLog(after: "nope") { edges { cursor } } }`))).toBe(
      'BAD_USER_INPUT',
    );
    expect(errorCode(await log({ actor: '' }))).toBe('BAD_USER_INPUT');
  });

  it('refuses mutations over WebSocket, where they would escape the audit log', async () => {
    const client = t.ws();
    const errors: any[] = [];
    await new Promise<void>((resolve) => {
      client.subscribe(
        { query: `mutation { deleteApp(name: "web") }` },
        {
          next: (r) => {
            if (r.errors) errors.push(...r.errors);
          },
          error: (e) => {
            errors.push(...(Array.isArray(e) ? e : [e]));
            resolve();
          },
          complete: resolve,
        },
      );
    });
    await eventually(() => errors.length > 0);
    expect(errors[0].extensions?.code).toBe('BAD_REQUEST');
    expect((await t.gql(`{ app(name: "web") { name } }`)).data.app).toEqual({ name: 'web' });
  });
  // Review finding: only direct root fields were collected, so a mutation sent through an
  // inline or named fragment left a single "(none)" entry with no app and no arguments;
  // @skip'ped fields were recorded as if they ran, and a repeated response key twice.
  it("records exactly the root fields that run: through fragments, without @skip'ped ones, once per response key", async () => {
    for (const n of ['victim1', 'victim2'])
      expect(
        (await t.gql(`mutation { createApp(input: { name: "${n}", kind: GO }) { name } }`)).errors,
      ).toBeUndefined();
    const row = (e: any) => [e.rootField, e.target, e.app, e.outcome, e.args];

    expect(
      (await t.gql(`mutation Inline { ... on Mutation { deleteApp(name: "victim1") } }`)).errors,
    ).toBeUndefined();
    expect((await t.gql(`{ app(name: "victim1") { name } }`)).data.app).toBeNull();
    expect((await entries({ operation: 'Inline' })).map(row)).toEqual([
      ['deleteApp', 'victim1', 'victim1', 'OK', { deleteApp: { name: 'victim1' } }],
    ]);

    const named = await t.gql(
      `mutation Named($n: String!) { ...Del } fragment Del on Mutation { ... { deleteApp(name: $n) } }`,
      { n: 'victim2' },
    );
    expect(named.errors).toBeUndefined();
    expect((await entries({ operation: 'Named' })).map(row)).toEqual([
      ['deleteApp', 'victim2', 'victim2', 'OK', { deleteApp: { name: 'victim2' } }],
    ]);

    // A fragment does not hide a failure either (here: validation, so nothing ran).
    await t.gql(
      `mutation BadFrag { ...Bad } fragment Bad on Mutation { createApp(input: { name: "bad2", kind: COBOL }) { name } }`,
    );
    expect(
      (await entries({ operation: 'BadFrag' })).map((e: any) => [
        e.rootField,
        e.outcome,
        e.errorCode,
      ]),
    ).toEqual([['createApp', 'ERROR', 'GRAPHQL_VALIDATION_FAILED']]);

    const skip = await t.gql(
      `mutation Skip($s: Boolean!) {
      a: updateApp(name: "web", input: { description: "skipped" }) @skip(if: $s) { version }
      b: updateApp(name: "alices", input: { description: "ran" }) @include(if: $s) { version }
      ... on Mutation @skip(if: true) { c: deleteApp(name: "web") }
    }`,
      { s: true },
    );
    expect(skip.errors).toBeUndefined();
    expect(Object.keys(skip.data)).toEqual(['b']);
    expect((await entries({ operation: 'Skip' })).map((e: any) => [e.rootField, e.app])).toEqual([
      ['updateApp', 'alices'],
    ]);

    const twice = await t.gql(
      `mutation Twice { x: updateApp(name: "web", input: { description: "twice" }) { version } x: updateApp(name: "web", input: { description: "twice" }) { name } }`,
    );
    expect(twice.errors).toBeUndefined();
    expect((await entries({ operation: 'Twice' })).map(row)).toEqual([
      [
        'updateApp',
        'web',
        'web',
        'OK',
        { updateApp: { name: 'web', input: { description: 'twice' } } },
      ],
    ]);
    expect((await entries()).some((e: any) => e.rootField === '(none)')).toBe(false);
  });
});
