/**
 * Hardening item 5, "a frozen Redis freezes Phantom": a dedicated redis-server is stopped with
 * SIGSTOP (its connections stay open, nothing answers). Regression: every request that touched
 * Redis hung until SIGCONT, /readyz too, and a sign-in failed as INTERNAL_SERVER_ERROR.
 * Now: requests that need only the database answer (the cache falls back to it), /readyz
 * answers 503 naming redis, sign-in and sessions answer UNAVAILABLE, and all is well after SIGCONT.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeServices, testDatabaseUrl } from '../support/env.js';
import { ADMIN_TOKEN, createScratchDatabase } from '../support/harness.js';
import { dedicatedRedis, hasRedisServer, type DedicatedRedis } from '../support/redis-server.js';
import { until } from '../support/until.js';
import { loadConfig } from '../../src/config.js';
import { startPhantom, type Phantom } from '../../src/main.js';
import { startWorker, type PhantomWorker } from '../../src/worker.js';

// Generous: a request that waits for Redis would wait until SIGCONT, which comes much later.
const REQUEST_LIMIT_MS = 15_000;

describeServices('a frozen Redis (SIGSTOP)', () => {
  let redis: DedicatedRedis;
  let phantom: Phantom;
  let worker: PhantomWorker;
  let dropDb: () => Promise<void>;

  beforeAll(async () => {
    if (!hasRedisServer) return;
    redis = await dedicatedRedis();
    const db = await createScratchDatabase(testDatabaseUrl!);
    dropDb = db.drop;
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      PHANTOM_ADMIN_TOKEN: ADMIN_TOKEN,
      PHANTOM_EMBEDDED_CLUSTERS: 'off',
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      PHANTOM_REDIS_PREFIX: 'frozen-test:',
      REDIS_COMMAND_TIMEOUT_MS: '500',
    });
    phantom = await startPhantom(config);
    worker = await startWorker(config);
  }, 60_000);
  afterAll(async () => {
    redis?.thaw();
    await worker?.stop().catch(() => undefined);
    await phantom?.stop().catch(() => undefined);
    await redis?.dispose();
    await dropDb?.();
  });

  const gql = async (query: string, token: string | null = ADMIN_TOKEN) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(phantom.server.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query }),
      signal: AbortSignal.timeout(REQUEST_LIMIT_MS),
    });
    return { status: res.status, ...((await res.json()) as { data?: any; errors?: any[] }) };
  };
  const readyz = async (base = phantom.server.url.replace(/\/graphql$/, '')) => {
    const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(REQUEST_LIMIT_MS) });
    return { status: res.status, body: (await res.json()) as any };
  };

  it.runIf(hasRedisServer)(
    'serves database reads and writes, says 503 for redis and UNAVAILABLE for sign-in while frozen; recovers after SIGCONT',
    async () => {
      expect(
        (
          await gql(
            `mutation { createUser(input: { username: "dora", password: "password-123" }) { id } }`,
          )
        ).errors,
      ).toBeUndefined();
      const signIn = () =>
        gql(`mutation { login(username: "dora", password: "password-123") { token } }`, null);
      const session = (await signIn()).data.login.token as string;
      expect(
        (await gql(`mutation { createApp(input: { name: "warm", kind: GO }) { name } }`)).errors,
      ).toBeUndefined();
      expect((await gql(`{ app(name: "warm") { name } }`)).data.app).toEqual({ name: 'warm' }); // now in the cache
      expect((await readyz()).status).toBe(200);

      redis.freeze();
      try {
        // Reads (token check, cached app, a list) and a write go to the database alone.
        const read = await gql(
          `{ viewer { username } app(name: "warm") { name } apps(first: 5) { totalCount } }`,
        );
        expect(read.errors).toBeUndefined();
        expect(read.data).toEqual({
          viewer: { username: 'admin' },
          app: { name: 'warm' },
          apps: { totalCount: 1 },
        });
        const write = await gql(
          `mutation { createApp(input: { name: "while-frozen", kind: GO }) { name } }`,
        );
        expect(write.errors).toBeUndefined();
        expect((await gql(`{ app(name: "while-frozen") { name } }`)).data.app).toEqual({
          name: 'while-frozen',
        });

        const ready = await readyz();
        expect(ready.status).toBe(503);
        expect(ready.body).toEqual({
          status: 'unavailable',
          checks: { database: true, redis: false },
          failed: ['redis'],
        });
        // The worker's listener too.
        expect(await readyz(worker.health.url)).toEqual({
          status: 503,
          body: {
            status: 'not ready',
            role: 'worker',
            checks: { database: true, redis: false },
            failed: ['redis'],
          },
        });

        // Sessions live only in Redis: a clear, stable code instead of INTERNAL_SERVER_ERROR.
        const login = await signIn();
        expect(login.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
        expect(login.errors?.[0]?.message).toMatch(/session store \(Redis\)/);
        const viaSession = await gql(`{ viewer { username } }`, session);
        expect(viaSession.status).toBe(503);
        expect(viaSession.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
      } finally {
        redis.thaw();
      }

      await until('sign-in works again', async () => !(await signIn()).errors, {
        timeoutMs: 20_000,
      });
      expect((await gql(`{ viewer { username } }`, session)).data).toEqual({
        viewer: { username: 'dora' },
      });
      expect(await readyz()).toEqual({
        status: 200,
        body: { status: 'ready', checks: { database: true, redis: true } },
      });
      expect((await readyz(worker.health.url)).status).toBe(200);
    },
    90_000,
  );
});
