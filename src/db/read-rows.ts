/**
 * Plain rows of one read statement, for the hot read paths (the token check, a page of apps
 * and its members: issue 9, P1).
 *
 * MikroORM's `Connection.execute` runs a statement through knex: a `raw` builder, knex's
 * runner with its query events and bindings pass, then the mysql2 connection. On MySQL,
 * outside a transaction, this takes a connection from the same knex pool (so the same
 * connection settings: time zone, big numbers, date handling) and runs the statement on it
 * directly, with the parameters inlined by MikroORM's own `formatQuery` as `execute` does.
 * The statement still goes through the ORM's `onQuery` hook (the SQL counters of
 * src/db/orm.ts see it), and a driver error is converted as MikroORM converts it. Inside a
 * transaction (the statement must run on the transaction's connection) and on the embedded
 * SQLite, it is `execute` itself.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { isMysqlEm } from './orm.js';

/** The part of a mysql2 (callback API) connection used here. */
interface RawConnection {
  query(sql: string, cb: (err: Error | null, rows: unknown) => void): void;
}
/** The part of knex's client used here: its pool of driver connections. */
interface KnexClient {
  acquireConnection(): Promise<RawConnection>;
  releaseConnection(connection: RawConnection): Promise<unknown>;
}

/** A connection of the ORM: the primary's, or one read replica's. */
export type SqlConnection = ReturnType<SqlEntityManager['getConnection']>;

/**
 * The connection for reads that must agree with each other (a page and its members): MikroORM
 * picks a replica at random on every `getConnection('read')`, so two reads each asking for
 * one could see two replicas at different points of replication (an app read on one, its
 * members, not yet there, on the other). Pass it to each {@link readRows} of the answer.
 */
export function readConnection(em: EntityManager, primary = false): SqlConnection {
  return (em as SqlEntityManager).getConnection(primary ? 'write' : 'read');
}

/**
 * The rows `statement` (with `?` placeholders for `params`) reads: on a read replica when
 * there is one, on the primary when `on` is true, on `on` when it is a connection
 * ({@link readConnection}); on the transaction's connection inside one.
 */
export async function readRows<T = Record<string, unknown>>(
  em: EntityManager,
  statement: string,
  params: readonly unknown[],
  on: boolean | SqlConnection = false,
): Promise<T[]> {
  const sqlEm = em as SqlEntityManager;
  const connection = typeof on === 'boolean' ? readConnection(em, on) : on;
  const tx: unknown = sqlEm.getTransactionContext();
  const values = [...params];
  if (tx !== undefined || !isMysqlEm(em))
    return connection.execute<T[]>(statement, values, 'all', tx);
  const client = connection.getKnex().client as unknown as KnexClient;
  const sql = em.config.get('onQuery')(statement, values);
  const platform = em.getPlatform();
  const text = platform.formatQuery(sql, values);
  const raw = await client.acquireConnection();
  try {
    return await new Promise<T[]>((resolve, reject) =>
      raw.query(text, (err, rows) => (err ? reject(err) : resolve(rows as T[]))),
    );
  } catch (e) {
    throw platform.getExceptionConverter().convertException(e as Error);
  } finally {
    void client.releaseConnection(raw);
  }
}
