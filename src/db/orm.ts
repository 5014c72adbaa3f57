/**
 * Builds the MikroORM instance for either mode: MySQL/MariaDB (mysql2) with optional read
 * replicas, or the embedded SQLite file (libsql). The same entities and code run on both.
 */
import { MikroORM, type EntityManager, type Options } from '@mikro-orm/core';
import { MySqlDriver } from '@mikro-orm/mysql';
import { LibSqlDriver } from '@mikro-orm/libsql';
import { Migrator } from '@mikro-orm/migrations';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { entities } from './entities.js';
import { migrationsList } from './migrations/index.js';
import { sqlScope } from './sql-scope.js';
import { createConnection } from 'mysql2/promise';
import { createHash } from 'node:crypto';

const MIGRATION_LOCK_WAIT_SECONDS = 120;

export type Orm = MikroORM;

/** Counts SQL statements sent (tests assert constant query counts per request). */
export interface SqlStats {
  queries: number;
  /** Statements seen since the last reset, newest last (capped), for debugging a count. */
  recent: string[];
  /** Statements the most recently finished HTTP request caused (see sql-scope.ts). */
  lastRequestQueries: number;
}

export interface OrmOptions {
  /** mysql://user:pass@host:port/db; unset = embedded SQLite at `sqlitePath`. */
  databaseUrl?: string;
  replicaUrls?: string[];
  /** SQLite file for the embedded mode (default `.phantom/phantom.db`). */
  sqlitePath?: string;
  /** Log every statement through this function. */
  logQuery?: (sql: string) => void;
  /** MySQL: most connections to the primary (and to each replica). Default 10. */
  poolMax?: number;
}

export function connectionFromUrl(url: string) {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password || ''),
    dbName: decodeURIComponent(u.pathname.replace(/^\//, '')),
  };
}

export function isMysql(orm: Orm): boolean {
  return orm.config.get('driver') === MySqlDriver;
}

/** Whether `em` talks to MySQL/MariaDB (else the embedded SQLite): for SQL written per dialect. */
export function isMysqlEm(em: EntityManager): boolean {
  return em.config.get('driver') === MySqlDriver;
}

/** Creates (and connects) the ORM. Call `applySchema` or `migrate` afterwards. */
export async function createOrm(opts: OrmOptions): Promise<{ orm: Orm; stats: SqlStats }> {
  const stats: SqlStats = { queries: 0, recent: [], lastRequestQueries: 0 };
  const common: Partial<Options> = {
    entities,
    allowGlobalContext: false,
    forceUtcTimezone: true,
    extensions: [Migrator],
    // MySQL commits DDL implicitly, so a migration transaction would be a lie (MikroORM #805).
    migrations: {
      migrationsList,
      transactional: false,
      allOrNothing: false,
      snapshot: false,
      silent: true,
    },
    discovery: { disableDynamicFileAccess: true },
    onQuery: (sql: string) => {
      stats.queries++;
      const scope = sqlScope.getStore();
      if (scope) scope.queries++;
      stats.recent.push(sql);
      if (stats.recent.length > 200) stats.recent.shift();
      opts.logQuery?.(sql);
      return sql;
    },
  };
  let orm: MikroORM;
  if (opts.databaseUrl) {
    const main = connectionFromUrl(opts.databaseUrl);
    orm = await MikroORM.init({
      ...common,
      driver: MySqlDriver,
      ...main,
      timezone: '+00:00',
      pool: { min: 0, max: opts.poolMax ?? 10 },
      replicas: (opts.replicaUrls ?? []).map((r, i) => ({
        name: `replica-${i + 1}`,
        ...connectionFromUrl(r),
      })),
    });
  } else {
    const file = opts.sqlitePath ?? '.phantom/phantom.db';
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    orm = await MikroORM.init({ ...common, driver: LibSqlDriver, dbName: file });
  }
  return { orm, stats };
}

/**
 * Brings the schema up to date. MySQL: the committed migrations (`phantom migrate`).
 * SQLite (embedded): the schema generator, since the embedded file is disposable and the
 * migrations are written in MySQL's dialect (docs/adr/0002-migrations.md).
 */
export async function migrate(orm: Orm): Promise<string[]> {
  if (isMysql(orm)) {
    // Replicas starting together must not run the same DDL twice: one migrates, the others
    // wait on a named lock, then find nothing pending.
    const c = orm.config;
    const lockConn = await createConnection({
      host: c.get('host'),
      port: c.get('port'),
      user: c.get('user'),
      // Phantom configures a string (or none), never a password function.
      password: c.get<'password', string | undefined>('password'),
      database: c.get('dbName'),
    });
    try {
      // MySQL lock names are at most 64 characters: hash the database name.
      const lockName = `phantom:migrate:${createHash('md5')
        .update(String(c.get('dbName')))
        .digest('hex')}`;
      const [rows] = await lockConn.query('SELECT GET_LOCK(?, ?) AS got', [
        lockName,
        MIGRATION_LOCK_WAIT_SECONDS,
      ]);
      if ((rows as { got: number | null }[])[0]?.got !== 1) {
        throw new Error(
          `Another process has been migrating ${c.get('dbName')} for over ${MIGRATION_LOCK_WAIT_SECONDS}s; try again later.`,
        );
      }
      const done = await orm.getMigrator().up();
      return done.map((m) => m.name);
    } finally {
      await lockConn.end().catch(() => undefined);
    }
  }
  await orm.getSchemaGenerator().updateSchema();
  return ['schema-generator'];
}
