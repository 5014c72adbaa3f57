import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableModes,
  createUserWithToken,
  errorCode,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';

describe.each(availableModes)('sign-in, sessions and tokens (%s)', (mode) => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom(mode);
    await createUserWithToken(t, 'bob');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('logs in, uses the session, logs out', async () => {
    const bad = await t.gql(
      `mutation { login(username: "bob", password: "wrong-password") { token } }`,
      {},
      null,
    );
    expect(errorCode(bad)).toBe('UNAUTHENTICATED');
    const nobody = await t.gql(
      `mutation { login(username: "nobody", password: "wrong-password") { token } }`,
      {},
      null,
    );
    expect(nobody.errors![0].message).toBe(bad.errors![0].message);
    const s = await t.gql(
      `mutation { login(username: "bob", password: "password-123") { token expiresAt user { username isAdmin } } }`,
      {},
      null,
    );
    expect(s.data.login.user).toEqual({ username: 'bob', isAdmin: false });
    expect(new Date(s.data.login.expiresAt).getTime()).toBeGreaterThan(Date.now() + 3600_000);
    const token = s.data.login.token as string;
    const me = await t.gql(`{ viewer { username } }`, {}, token);
    expect(me.data.viewer.username).toBe('bob');
    const out = await t.gql(`mutation { logout }`, {}, token);
    expect(out.data.logout).toBe(true);
    const after = await t.gql(`{ viewer { username } }`, {}, token);
    expect(errorCode(after)).toBe('UNAUTHENTICATED');
    expect(after.status).toBe(401);
  });

  it('throttles password guessing per username with RATE_LIMITED', async () => {
    await createUserWithToken(t, 'victim');
    for (let i = 0; i < 10; i++) {
      const r = await t.gql(
        `mutation { login(username: "victim", password: "guess-${i}") { token } }`,
        {},
        null,
      );
      expect(errorCode(r)).toBe('UNAUTHENTICATED');
    }
    const limited = await t.gql(
      `mutation { login(username: "victim", password: "password-123") { token } }`,
      {},
      null,
    );
    expect(errorCode(limited)).toBe('RATE_LIMITED');
    // Other users are not affected.
    const other = await t.gql(
      `mutation { login(username: "bob", password: "password-123") { token } }`,
      {},
      null,
    );
    expect(other.data.login.token).toMatch(/^phs_/);
  });

  it('stores tokens hashed, shows the secret once, lists them without it', async () => {
    const s = await t.gql(
      `mutation { login(username: "bob", password: "password-123") { token } }`,
      {},
      null,
    );
    const c = await t.gql(
      `mutation { createApiToken(name: "ci bot", scopes: [READ]) { token apiToken { id name scopes createdAt lastUsedAt } } }`,
      {},
      s.data.login.token,
    );
    const secret = c.data.createApiToken.token as string;
    expect(secret).toMatch(/^pht_[A-Za-z0-9_-]{40,}$/);
    expect(c.data.createApiToken.apiToken).toMatchObject({
      name: 'ci bot',
      scopes: ['READ'],
      lastUsedAt: null,
    });
    const ro = await t.gql(
      `mutation { createApp(input: { name: "ro", kind: GO }) { name } }`,
      {},
      secret,
    );
    expect(errorCode(ro)).toBe('FORBIDDEN');
    const reads = await t.gql(`{ apps { totalCount } }`, {}, secret);
    expect(reads.errors).toBeUndefined();
    const list = await t.gql(`{ apiTokens { name scopes lastUsedAt } }`, {}, s.data.login.token);
    expect(list.data.apiTokens.map((x: any) => x.name)).toContain('ci bot');
    expect(JSON.stringify(list.data)).not.toContain(secret);
    // Only the hash is stored.
    const em = t.phantom.platform.orm.em.fork();
    const rows = await em.getConnection().execute('select token_hash from api_tokens');
    expect(rows.map((r: any) => r.token_hash)).not.toContain(secret);
    expect(rows.every((r: any) => /^[0-9a-f]{64}$/.test(r.token_hash))).toBe(true);
    expect(rows.map((r: any) => r.token_hash)).toContain(
      createHash('sha256').update(secret).digest('hex'),
    );
  });

  it('answers concurrent creates of one username with one success and CONFLICTs, never an internal error', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        t.gql(
          `mutation { createUser(input: { username: "twin", password: "password-123" }) { id } }`,
        ),
      ),
    );
    const codes = results.map((r) => (r.errors ? r.errors[0].extensions!.code : 'OK'));
    expect(codes.filter((c) => c === 'OK')).toHaveLength(1);
    expect(codes.filter((c) => c !== 'OK').every((c) => c === 'CONFLICT')).toBe(true);
  });

  it('says clearly what is wrong with a bad Authorization header', async () => {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Token abc' },
      body: JSON.stringify({ query: '{ viewer { username } }' }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as any;
    expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(body.errors[0].message).toMatch(/Bearer/);
    const unknown = await t.gql(`{ viewer { username } }`, {}, 'pht_not-a-real-token');
    expect(errorCode(unknown)).toBe('UNAUTHENTICATED');
  });

  it('authenticates graphql-ws connections from connection_init', async () => {
    const ok = t.ws();
    const r = await new Promise<any>((resolve, reject) => {
      let got: any;
      ok.subscribe(
        { query: '{ viewer { username } }' },
        { next: (v) => (got = v), error: reject, complete: () => resolve(got) },
      );
    });
    expect(r.data.viewer.username).toBe('admin');

    const anon = t.ws(null);
    const a = await new Promise<any>((resolve, reject) => {
      let got: any;
      anon.subscribe(
        { query: '{ viewer { username } }' },
        { next: (v) => (got = v), error: reject, complete: () => resolve(got) },
      );
    });
    expect(a.errors[0].extensions.code).toBe('UNAUTHENTICATED');

    const bad = t.ws('pht_wrong');
    const closed = await new Promise<any>((resolve) => {
      bad.subscribe(
        { query: '{ viewer { username } }' },
        { next: () => undefined, error: (e) => resolve(e), complete: () => resolve('completed') },
      );
    });
    expect(closed.code).toBe(4401);
    expect(String(closed.reason)).toMatch(/token/i);
  });
});
