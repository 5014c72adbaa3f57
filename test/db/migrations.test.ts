/**
 * The committed MySQL migrations produce exactly the schema the entities describe, and
 * `migrate` is idempotent. (MikroORM's schema diff is unreliable on MariaDB for JSON columns,
 * so we compare SHOW CREATE TABLE of a migrated database with a generated one.)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeMysql, testDatabaseUrl } from '../support/env.js';
import { createScratchDatabase } from '../support/harness.js';
import { createOrm, migrate, type Orm } from '../../src/db/orm.js';

/** Index and constraint order carries no meaning: compare them as a sorted set. */
function normalize(ddl: string): string {
  const lines = ddl
    .replace(/ AUTO_INCREMENT=\d+/, '')
    .split('\n')
    .map((l) => l.trim().replace(/,$/, ''));
  const isKey = (l: string) => /^(PRIMARY KEY|UNIQUE KEY|KEY|CONSTRAINT) /.test(l);
  return [...lines.filter((l) => !isKey(l)), ...lines.filter(isKey).sort()].join('\n');
}

async function tables(orm: Orm): Promise<Record<string, string>> {
  const conn = orm.em.getConnection();
  const names = (await conn.execute('show tables'))
    .map((r: any) => Object.values(r)[0] as string)
    .filter((n: string) => n !== 'mikro_orm_migrations')
    .sort();
  const out: Record<string, string> = {};
  for (const n of names) {
    const [row] = await conn.execute(`show create table \`${n}\``);
    out[n] = normalize(String(row['Create Table']));
  }
  return out;
}

describeMysql('MySQL migrations', () => {
  const drops: (() => Promise<void>)[] = [];
  let migrated: Orm;
  let generated: Orm;
  beforeAll(async () => {
    const a = await createScratchDatabase(testDatabaseUrl!);
    const b = await createScratchDatabase(testDatabaseUrl!);
    drops.push(a.drop, b.drop);
    migrated = (await createOrm({ databaseUrl: a.url })).orm;
    generated = (await createOrm({ databaseUrl: b.url })).orm;
  });
  afterAll(async () => {
    await migrated?.close(true);
    await generated?.close(true);
    for (const d of drops) await d();
  });

  it('apply once, then nothing is pending', async () => {
    const first = await migrate(migrated);
    expect(first.length).toBeGreaterThan(0);
    expect(await migrate(migrated)).toEqual([]);
    expect(await migrated.getMigrator().getPendingMigrations()).toEqual([]);
  });

  it('produce the same tables as the entity metadata', async () => {
    await generated.getSchemaGenerator().createSchema();
    const fromMigrations = await tables(migrated);
    const fromEntities = await tables(generated);
    expect(Object.keys(fromMigrations)).toEqual(Object.keys(fromEntities));
    for (const name of Object.keys(fromEntities)) {
      expect(fromMigrations[name], `table ${name}`).toBe(fromEntities[name]);
    }
  });
});
