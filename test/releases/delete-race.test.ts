/**
 * `deleteApp` against a `createRelease` of the same app at the same moment (MySQL): whichever
 * order the two transactions take, no release is left for an app that is gone. createRelease
 * holds the app row shared while it records the release; deleteApp locks it for update and
 * looks for active releases again inside its transaction. Each interleaving is forced with a
 * second connection holding a lock, so the tests do not depend on timing to reach it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createConnection, type Connection } from 'mysql2/promise';
import { describeServices } from '../support/env.js';
import {
  errorCode,
  startTestPhantom,
  type GqlResult,
  type TestPhantom,
} from '../support/harness.js';

const CREATE = `mutation($i: CreateReleaseInput!) { createRelease(input: $i) { id status } }`;

/** Resolves after `ms`; whether `p` settled by then. */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => setTimeout(r, ms));
  return settled;
}

describeServices('deleteApp racing createRelease (mysql)', () => {
  let t: TestPhantom;
  let sql: Connection;

  beforeAll(async () => {
    t = await startTestPhantom('mysql', { env: { PHANTOM_EMBEDDED_CLUSTERS: 'on' } });
    sql = await createConnection(t.databaseUrl!);
  }, 60_000);
  afterAll(async () => {
    await sql?.end();
    await t?.stop();
  });

  async function releasesOf(app: string): Promise<number> {
    const [rows] = await sql.query(`SELECT count(*) AS n FROM releases WHERE app = ?`, [app]);
    return Number((rows as { n: number }[])[0].n);
  }

  it('a deletion that holds the app row first: the release waits, then is refused NOT_FOUND', async () => {
    expect(
      (await t.gql(`mutation { createApp(input: { name: "race-one", kind: GO }) { id } }`)).errors,
    ).toBeUndefined();
    await sql.query('BEGIN');
    await sql.query(`SELECT id FROM apps WHERE name = 'race-one' FOR UPDATE`);
    const creating = t.gql(CREATE, {
      i: { app: 'race-one', env: 'prod', image: 'registry.local/race-one:1' },
    });
    // It must wait for the row: without the shared lock it would record a release at once.
    expect(await settledWithin(creating, 1500)).toBe(false);
    await sql.query(`DELETE FROM apps WHERE name = 'race-one'`);
    await sql.query('COMMIT');
    const r = await creating;
    expect(errorCode(r)).toBe('NOT_FOUND');
    expect(r.errors![0].message).toMatch(/race-one/);
    expect(await releasesOf('race-one')).toBe(0);
  });

  it('a release recorded while deleteApp waits for the app row: deleteApp is refused CONFLICT', async () => {
    expect(
      (await t.gql(`mutation { createApp(input: { name: "race-two", kind: GO }) { id } }`)).errors,
    ).toBeUndefined();
    // createRelease records its platform event last in its transaction: holding that table
    // stops it there, with its release row written and the app row held.
    await sql.query('LOCK TABLES platform_events WRITE');
    let creating!: Promise<GqlResult>;
    let deleting!: Promise<GqlResult>;
    try {
      creating = t.gql(CREATE, {
        i: { app: 'race-two', env: 'prod', image: 'registry.local/race-two:1' },
      });
      expect(await settledWithin(creating, 1000)).toBe(false);
      // Its check before the transaction cannot see the uncommitted release.
      deleting = t.gql(`mutation { deleteApp(name: "race-two") }`);
      expect(await settledWithin(deleting, 1000)).toBe(false);
    } finally {
      await sql.query('UNLOCK TABLES');
    }
    const created = await creating;
    expect(created.errors).toBeUndefined();
    expect(created.data.createRelease.status).toBeTruthy();
    const refused = await deleting;
    expect(errorCode(refused)).toBe('CONFLICT');
    expect(refused.errors![0].message).toMatch(/in progress in prod/);
    expect((await t.gql(`{ app(name: "race-two") { name } }`)).data.app.name).toBe('race-two');
    expect(await releasesOf('race-two')).toBe(1);
  });
});
