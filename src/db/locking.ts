import { LockMode, type EntityManager } from '@mikro-orm/core';

/** Row locks exist on MySQL/MariaDB; SQLite has none (one writer at a time anyway), and knex's SQLite dialect ignores the clause. */
function rowLock(em: EntityManager, mode: LockMode): { lockMode?: LockMode } {
  const platform = em.getPlatform().constructor.name;
  return /MySql|MariaDb/.test(platform) ? { lockMode: mode } : {};
}

/** `FOR UPDATE` on MySQL/MariaDB; no lock on SQLite. */
export function forUpdate(em: EntityManager): { lockMode?: LockMode } {
  return rowLock(em, LockMode.PESSIMISTIC_WRITE);
}

/**
 * `LOCK IN SHARE MODE` on MySQL/MariaDB (rows read stay as they are until the transaction
 * ends; other shared readers are not held back); no lock on SQLite.
 */
export function forShare(em: EntityManager): { lockMode?: LockMode } {
  return rowLock(em, LockMode.PESSIMISTIC_READ);
}
