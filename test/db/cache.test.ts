/**
 * Cache-aside in Redis: reads hit the cache, writers invalidate after commit, so a change
 * is visible at once, also through another replica sharing the Redis.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeServices } from '../support/env.js';
import {
  createUserWithToken,
  errorCode,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';

describeServices('Redis cache-aside (MySQL + Redis, two replicas)', () => {
  let a: TestPhantom;
  let b: TestPhantom;
  beforeAll(async () => {
    a = await startTestPhantom('mysql');
    b = await startTestPhantom('mysql', {
      databaseUrl: a.databaseUrl,
      redisPrefix: a.config.redisPrefix,
    });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('serves app-by-name from the cache and shows an update at once', async () => {
    await a.gql(
      `mutation { createApp(input: { name: "cached", kind: NODE, description: "v1" }) { name } }`,
    );
    await b.gql(`{ app(name: "cached") { description } }`);
    const hits = b.phantom.platform.cache.hits;
    const read = await b.gql(`{ app(name: "cached") { description version } }`);
    expect(read.data.app).toEqual({ description: 'v1', version: 1 });
    expect(b.phantom.platform.cache.hits).toBeGreaterThan(hits);
    // The app comes from the cache; the one statement is the token check, which reads its row
    // on every request so that a revocation always wins (docs/adr/0008-credential-cache.md).
    expect(b.phantom.platform.sqlStats.lastRequestQueries).toBe(1);

    const upd = await a.gql(
      `mutation { updateApp(name: "cached", input: { description: "v2" }) { version } }`,
    );
    expect(upd.errors).toBeUndefined();
    const after = await b.gql(`{ app(name: "cached") { description version } }`);
    expect(after.data.app).toEqual({ description: 'v2', version: 2 });

    await a.gql(`mutation { deleteApp(name: "cached") }`);
    const gone = await b.gql(`{ app(name: "cached") { description } }`);
    expect(gone.data.app).toBeNull();
  });

  it("invalidates a user's cached roles when membership changes", async () => {
    const dave = await createUserWithToken(a, 'dave');
    await a.gql(`mutation { createApp(input: { name: "roles", kind: GO }) { name } }`);
    const refused = await b.gql(
      `mutation { updateApp(name: "roles", input: { description: "x" }) { version } }`,
      {},
      dave,
    );
    expect(errorCode(refused)).toBe('FORBIDDEN');
    await a.gql(`mutation { setAppMember(app: "roles", username: "dave", role: OWNER) { name } }`);
    const allowed = await b.gql(
      `mutation { updateApp(name: "roles", input: { description: "x" }) { version } }`,
      {},
      dave,
    );
    expect(allowed.errors).toBeUndefined();
    await a.gql(`mutation { setAppMember(app: "roles", username: "dave", role: VIEWER) { name } }`);
    const again = await b.gql(
      `mutation { updateApp(name: "roles", input: { description: "y" }) { version } }`,
      {},
      dave,
    );
    expect(errorCode(again)).toBe('FORBIDDEN');
  });

  it('keeps sessions in Redis: a session from one replica works on the other', async () => {
    await createUserWithToken(a, 'erin');
    const s = await a.gql(
      `mutation { login(username: "erin", password: "password-123") { token } }`,
      {},
      null,
    );
    const me = await b.gql(`{ viewer { username } }`, {}, s.data.login.token);
    expect(me.data.viewer.username).toBe('erin');
    await b.gql(`mutation { logout }`, {}, s.data.login.token);
    const out = await a.gql(`{ viewer { username } }`, {}, s.data.login.token);
    expect(errorCode(out)).toBe('UNAUTHENTICATED');
  });
});
