/** PHANTOM_ADMIN_TOKEN: rotation revokes the old value; two replicas starting at once both come up. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeServices, testDatabaseUrl } from '../support/env.js';
import { createScratchDatabase, startTestPhantom, type TestPhantom } from '../support/harness.js';

describeServices('bootstrap admin token (MySQL)', () => {
  let dbUrl: string;
  let drop: () => Promise<void>;
  const running: TestPhantom[] = [];
  beforeAll(async () => {
    const db = await createScratchDatabase(testDatabaseUrl!);
    dbUrl = db.url;
    drop = db.drop;
  });
  afterAll(async () => {
    for (const r of running) await r.stop();
    await drop?.();
  });

  it('two replicas start together on a fresh database', async () => {
    const [a, b] = await Promise.all([
      startTestPhantom('mysql', { databaseUrl: dbUrl }),
      startTestPhantom('mysql', { databaseUrl: dbUrl }),
    ]);
    running.push(a, b);
    const envs = await b.gql(`{ environments { name } viewer { username } }`);
    expect(envs.data.environments.map((e: any) => e.name)).toEqual(['dev', 'test', 'prod']);
    expect(envs.data.viewer.username).toBe('admin');
  });

  it('a new PHANTOM_ADMIN_TOKEN revokes the previous one, at once on every replica', async () => {
    const [a] = running;
    expect((await a.gql(`{ viewer { username } }`)).data.viewer.username).toBe('admin'); // cached on the shared Redis now
    const rotated = await startTestPhantom('mysql', {
      databaseUrl: dbUrl,
      redisPrefix: a.config.redisPrefix,
      env: { PHANTOM_ADMIN_TOKEN: 'rotated-admin-token-0123456789' },
    });
    running.push(rotated);
    const stale = await a.gql(`{ viewer { username } }`);
    expect(stale.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const fresh = await rotated.gql(
      `{ viewer { username isAdmin } }`,
      {},
      'rotated-admin-token-0123456789',
    );
    expect(fresh.data.viewer).toEqual({ username: 'admin', isAdmin: true });
    const old = await rotated.gql(`{ viewer { username } }`);
    expect(old.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
