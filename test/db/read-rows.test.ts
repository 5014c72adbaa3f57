/**
 * readRows (src/db/read-rows.ts): the hot reads' direct path on MySQL keeps what going through
 * MikroORM's `execute` gave: the statement is counted, parameters are inlined safely, driver
 * errors are MikroORM's exceptions, a transaction's reads see its own writes, and every
 * connection taken from the pool goes back to it (also after an error).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriverException, TableNotFoundException } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { describeMysql, testDatabaseUrl } from '../support/env.js';
import { createScratchDatabase } from '../support/harness.js';
import { createOrm, migrate, type Orm, type SqlStats } from '../../src/db/orm.js';
import { readRows } from '../../src/db/read-rows.js';

function pool(orm: Orm): { numUsed(): number; numFree(): number } {
  return (orm.em as SqlEntityManager).getConnection('write').getKnex().client.pool as {
    numUsed(): number;
    numFree(): number;
  };
}

describeMysql('readRows (MySQL)', () => {
  let orm: Orm;
  let stats: SqlStats;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const db = await createScratchDatabase(testDatabaseUrl!);
    drop = db.drop;
    ({ orm, stats } = await createOrm({ databaseUrl: db.url, poolMax: 4 }));
    await migrate(orm);
  });
  afterAll(async () => {
    await orm?.close(true);
    await drop?.();
  });

  it('reads plain rows with inlined parameters, and the ORM hook counts the statement', async () => {
    const before = stats.queries;
    const rows = await readRows<{ a: number; b: string; c: string }>(
      orm.em.fork(),
      'select ? as a, ? as b, ? as c',
      [42, "it's \\ 'quoted'", 'x?y'],
    );
    expect(rows).toEqual([{ a: 42, b: "it's \\ 'quoted'", c: 'x?y' }]);
    expect(stats.queries).toBe(before + 1);
    expect(stats.recent.at(-1)).toBe('select ? as a, ? as b, ? as c');
  });

  it("answers a driver error as MikroORM's exception, and gives every connection back", async () => {
    const em = orm.em.fork();
    for (let i = 0; i < 10; i++) {
      const err = await readRows(em, 'select * from no_such_table where id = ?', [i]).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TableNotFoundException);
      expect(err).toBeInstanceOf(DriverException);
    }
    // More concurrent reads than the pool holds (4): they queue for connections, none is lost.
    const rows = await Promise.all(
      Array.from({ length: 20 }, (_, i) => readRows<{ n: number }>(em, 'select ? as n', [i])),
    );
    expect(rows.map((r) => r[0].n)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(pool(orm).numUsed()).toBe(0);
  });

  it("reads on the transaction's connection inside one (its own uncommitted writes)", async () => {
    await orm.em.fork().transactional(async (tx) => {
      await (tx as SqlEntityManager)
        .getConnection('write')
        .execute(
          `insert into users (username, display_name, password_hash, is_admin, created_at, updated_at) values ('in-tx', 'In Tx', 'x', 0, now(3), now(3))`,
          [],
          'run',
          (tx as SqlEntityManager).getTransactionContext(),
        );
      const inside = await readRows(tx, 'select username from users where username = ?', ['in-tx']);
      expect(inside).toEqual([{ username: 'in-tx' }]);
      // Outside the transaction (another connection of the pool) it is not there yet.
      const outside = await readRows(
        orm.em.fork(),
        'select username from users where username = ?',
        ['in-tx'],
      );
      expect(outside).toEqual([]);
    });
  });
});

describe('readRows (embedded SQLite)', () => {
  let orm: Orm;
  let stats: SqlStats;
  beforeAll(async () => {
    ({ orm, stats } = await createOrm({ sqlitePath: ':memory:' }));
    await migrate(orm);
  });
  afterAll(async () => {
    await orm?.close(true);
  });

  it("is MikroORM's execute: the same rows, counted", async () => {
    const before = stats.queries;
    const rows = await readRows<{ a: number; b: string }>(orm.em.fork(), 'select ? as a, ? as b', [
      7,
      "o'k",
    ]);
    expect(rows).toEqual([{ a: 7, b: "o'k" }]);
    expect(stats.queries).toBe(before + 1);
  });
});
