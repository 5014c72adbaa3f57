/**
 * Read-model query of the users list (`Query.users`, admins only): the public columns as
 * plain rows, never `password_hash`, no managed entities.
 */
import type { EntityManager } from '@mikro-orm/core';
// Both drivers (mysql, libsql) are SQL drivers: their EntityManager has the query builder.
import type { SqlEntityManager } from '@mikro-orm/mysql';
import { User } from './user.entity.js';

/** A user as the list reads it. */
export interface UserRow {
  id: number;
  username: string;
  displayName: string;
  isAdmin: boolean;
}

const bool = (v: unknown): boolean => v === true || v === 1 || v === '1';

/** Up to `limit` users ordered by username after `afterUsername`. */
export async function findUserRows(
  em: EntityManager,
  limit: number,
  afterUsername?: string,
): Promise<UserRow[]> {
  const qb = (em as SqlEntityManager)
    .createQueryBuilder(User, 'u')
    .select(['id', 'username', 'displayName', 'isAdmin']);
  if (afterUsername) qb.where({ username: { $gt: afterUsername } });
  qb.orderBy({ username: 'asc' }).limit(limit);
  const rows = await qb.execute<Record<string, unknown>[]>('all', true);
  return rows.map((r) => ({
    id: Number(r.id),
    username: r.username as string,
    displayName: r.displayName as string,
    isAdmin: bool(r.isAdmin),
  }));
}
