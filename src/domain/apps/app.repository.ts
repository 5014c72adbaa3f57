/**
 * Read-model queries of the apps list (issue 9, P1): plain rows of the columns a page needs,
 * no managed entities (an `apps` page used to create 7 entities per app: app, members, users).
 * Writes still go through the entities in app.service.ts.
 */
import type { EntityManager } from '@mikro-orm/core';
// Both drivers (mysql, libsql) are SQL drivers: their EntityManager has the query builder.
import type { QueryBuilder, SqlEntityManager } from '@mikro-orm/mysql';
import { App } from './app.entity.js';
import { AppMember } from './app-member.entity.js';
import type { AppKind, AppRole } from './app-kind.js';
import type { ContainerSpec, ReleaseConfig } from './app-spec.js';
import type { AppRecord } from './app.service.js';

/** An `apps` row as the list reads it (column values, JSON parsed, dates as Dates): a record before its release settings get their defaults. */
export type AppRow = Omit<AppRecord, 'releaseConfig'> & { releaseConfig: Partial<ReleaseConfig> };

/** One membership with the public columns of its user (never `password_hash`). */
export interface MemberRow {
  appId: number;
  role: AppRole;
  user: { id: number; username: string; displayName: string; isAdmin: boolean };
}

/** Filters of the apps list; all given ones must match. */
export interface AppListFilter {
  /** Substring of the name. */
  name?: string | null;
  kind?: AppKind | null;
  /** Apps this user is a member of. */
  member?: string | null;
}

const APP_COLUMNS = [
  'id',
  'name',
  'kind',
  'description',
  'repository',
  'buildCommand',
  'startCommand',
  'stopCommand',
  'container',
  'releaseConfig',
  'version',
  'createdAt',
  'updatedAt',
] as const;

// MariaDB's JSON is LONGTEXT and SQLite has no JSON type: both drivers may hand back text.
const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
/** Drivers hand dates back as Date (mysql2), ISO strings or epoch numbers (SQLite). */
function date(v: unknown): Date {
  if (v instanceof Date) return v;
  if (typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v)))
    return new Date(Number(v));
  return new Date(String(v));
}
const bool = (v: unknown): boolean => v === true || v === 1 || v === '1';
const sql = (em: EntityManager) => em as SqlEntityManager;

function applyFilter(qb: QueryBuilder<App>, filter: AppListFilter): void {
  if (filter.name)
    qb.andWhere({ name: { $like: `%${filter.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%` } });
  if (filter.kind) qb.andWhere({ kind: filter.kind });
  if (filter.member) {
    // A semi-join instead of a separate read of the member's app ids: one statement.
    qb.andWhere(
      'a.id in (select m.app_id from app_members m join users u on u.id = m.user_id where u.username = ?)',
      [filter.member],
    );
  }
}

/** Up to `limit` apps ordered by name after `afterName`, as plain rows. */
export async function findAppRows(
  em: EntityManager,
  filter: AppListFilter,
  limit: number,
  afterName?: string,
): Promise<AppRow[]> {
  const qb = sql(em)
    .createQueryBuilder(App, 'a')
    .select([...APP_COLUMNS]);
  applyFilter(qb, filter);
  if (afterName) qb.andWhere({ name: { $gt: afterName } });
  qb.orderBy({ name: 'asc' }).limit(limit);
  const rows = await qb.execute<Record<string, unknown>[]>('all', true);
  return rows.map((r) => ({
    id: Number(r.id),
    name: r.name as string,
    kind: r.kind as AppKind,
    description: r.description as string,
    repository: r.repository as string,
    buildCommand: r.buildCommand as string,
    startCommand: r.startCommand as string,
    stopCommand: r.stopCommand as string,
    container: json<ContainerSpec>(r.container),
    releaseConfig: json<Partial<ReleaseConfig>>(r.releaseConfig) ?? {},
    version: Number(r.version),
    createdAt: date(r.createdAt),
    updatedAt: date(r.updatedAt),
  }));
}

/** How many apps match `filter` (all pages). */
export async function countApps(em: EntityManager, filter: AppListFilter): Promise<number> {
  const qb = sql(em).createQueryBuilder(App, 'a').count('a.id');
  applyFilter(qb, filter);
  const row = await qb.execute<{ count: number | string }>('get', false);
  return Number(row?.count ?? 0);
}

/** The members of `appIds` with their users' public columns, in membership order. */
export async function findMemberRows(
  em: EntityManager,
  appIds: readonly number[],
  primary = false,
): Promise<MemberRow[]> {
  if (!appIds.length) return [];
  const qb = sql(em)
    .createQueryBuilder(AppMember, 'm', primary ? 'write' : 'read')
    .select(['m.app_id', 'm.role', 'u.id as user_id', 'u.username', 'u.display_name', 'u.is_admin'])
    .join('m.user', 'u')
    .where({ app: { $in: [...appIds] } })
    .orderBy({ id: 'asc' });
  const rows = await qb.execute<Record<string, unknown>[]>('all', false);
  return rows.map((r) => ({
    appId: Number(r.app_id),
    role: r.role as AppRole,
    user: {
      id: Number(r.user_id),
      username: r.username as string,
      displayName: r.display_name as string,
      isAdmin: bool(r.is_admin),
    },
  }));
}
