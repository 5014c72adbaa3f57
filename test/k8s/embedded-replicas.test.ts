/**
 * Hardening item 8, "embedded clusters and replicas": two `serve` processes on one MySQL +
 * Redis each started their own embedded clusters of the same names, so a deploy through one
 * was MISSING through the other, silently. Now the first claims the database's embedded
 * clusters (a row with a heartbeat) and a second refuses to start, saying what to do; a crashed
 * owner does not block a restart, and a graceful stop frees the claim.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeServices, testDatabaseUrl, testRedisUrl } from '../support/env.js';
import {
  createScratchDatabase,
  deleteRedisKeys,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { gqlAt, spawnPhantom, type PhantomProcess } from '../events/process.js';

describeServices('embedded clusters with two serve processes on one database', () => {
  const dirs: string[] = [];
  const procs: PhantomProcess[] = [];
  const redisPrefix = `phantom-test:${randomBytes(4).toString('hex')}:`;
  let db: { url: string; drop: () => Promise<void> };
  const start = (extra: Record<string, string>) =>
    spawnPhantom('serve', {
      databaseUrl: db.url,
      redisUrl: testRedisUrl!,
      redisPrefix,
      extra,
    }).then((p) => (procs.push(p), p));
  const embedded = () => {
    const dir = mkdtempSync(join(tmpdir(), 'phantom-embedded-'));
    dirs.push(dir);
    return { dir, env: { PHANTOM_EMBEDDED_CLUSTERS: 'on', PHANTOM_DATA_DIR: dir } };
  };
  const ownerRows = async () => {
    const c = await createConnection(db.url);
    try {
      const [rows] = await c.query('select owner, pid from embedded_cluster_owners');
      return rows as { owner: string; pid: number }[];
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    db = await createScratchDatabase(testDatabaseUrl!);
  });
  afterAll(async () => {
    // (Each once: PhantomProcess.stop waits for an 'exit' that a process already gone never emits again.)
    for (const p of procs) await p.stop();
    await deleteRedisKeys(testRedisUrl!, redisPrefix);
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('refuses a second owner with a message naming PHANTOM_KUBECONFIG and phantom sim; a crashed owner does not block the restart', async () => {
    const first = embedded();
    const a = await start(first.env);
    expect((await gqlAt(a.url, `{ clusters { name healthy } }`)).data.clusters).toEqual([
      { name: 'sim-1', healthy: true },
      { name: 'sim-2', healthy: true },
    ]);
    expect(await ownerRows()).toEqual([expect.objectContaining({ pid: a.child.pid })]);

    // A second replica with embedded clusters of its own: refused, non-zero exit, and told what to do.
    const refused = await start(embedded().env).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(refused).toMatch(/exited with 1/);
    expect(refused).toMatch(
      /Another Phantom process .* runs the embedded clusters on this database/,
    );
    expect(refused).toMatch(/set PHANTOM_KUBECONFIG/);
    expect(refused).toMatch(/phantom sim/);

    // What the message suggests works: a replica on the owner's clusters through PHANTOM_KUBECONFIG.
    const shared = await start({ PHANTOM_KUBECONFIG: join(first.dir, 'kubeconfig') });
    expect((await gqlAt(shared.url, `{ clusters { name healthy } }`)).data.clusters).toEqual([
      { name: 'sim-1', healthy: true },
      { name: 'sim-2', healthy: true },
    ]);
    procs.splice(procs.indexOf(shared), 1);
    await shared.stop();

    // The owner crashes (no graceful release): a restart takes over without waiting for the heartbeat to age.
    procs.splice(procs.indexOf(a), 1);
    const exited = new Promise((r) => a.child.once('exit', r));
    a.child.kill('SIGKILL');
    await exited;
    const b = await start(embedded().env);
    expect((await gqlAt(b.url, `{ clusters { name healthy } }`)).data.clusters).toHaveLength(2);
    expect(await ownerRows()).toEqual([expect.objectContaining({ pid: b.child.pid })]);
  }, 180_000);

  it('frees the claim on a graceful stop, so the next start need not wait (replicas in one process too)', async () => {
    const other = await createScratchDatabase(testDatabaseUrl!);
    const started: TestPhantom[] = [];
    const startOn = async () => {
      const t = await startTestPhantom('mysql', { databaseUrl: other.url, env: embedded().env });
      started.push(t);
      return t;
    };
    try {
      const first = await startOn();
      expect((await first.gql(`{ clusters { name } }`)).data.clusters).toHaveLength(2);
      await expect(startOn()).rejects.toThrow(
        /runs the embedded clusters on this database.*set PHANTOM_KUBECONFIG/s,
      );
      await first.stop();
      started.splice(started.indexOf(first), 1);
      const again = await startOn();
      expect((await again.gql(`{ clusters { name } }`)).data.clusters).toHaveLength(2);
    } finally {
      for (const t of started) await t.stop();
      await other.drop();
    }
  }, 120_000);
});
