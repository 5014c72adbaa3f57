import { LockMode, type EntityManager } from '@mikro-orm/core';

/**
 * `FOR UPDATE` on MySQL/MariaDB. SQLite has no row locks (one writer at a time anyway), and
 * knex's SQLite dialect ignores the clause, so this returns no lock there.
 */
export function forUpdate(em: EntityManager): { lockMode?: LockMode } {
  const platform = em.getPlatform().constructor.name;
  return /MySql|MariaDb/.test(platform) ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {};
}

/**
 * `LOCK IN SHARE MODE` on MySQL/MariaDB (rows read stay as they are until the transaction
 * ends; other shared readers are not held back). Nothing on SQLite, as {@link forUpdate}.
 */
export function forShare(em: EntityManager): { lockMode?: LockMode } {
  const platform = em.getPlatform().constructor.name;
  return /MySql|MariaDb/.test(platform) ? { lockMode: LockMode.PESSIMISTIC_READ } : {};
}
