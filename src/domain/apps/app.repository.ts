/**
 * Read-model queries of the apps list (issue 9, P1): plain rows of the columns a page needs,
 * no managed entities (an `apps` page used to create 7 entities per app: app, members, users)
 * and no query builder (it was 18% of a page's CPU time): parameterized SQL strings, written
 * once for both dialects (MySQL/MariaDB and the embedded SQLite). Writes still go through the
 * entities in app.service.ts.
 */
import { columnDate } from '../../db/columns.js';
import { readConnection, readRows, type SqlConnection } from '../../db/read-rows.js';
import type { EntityManager } from '@mikro-orm/core';
// Both drivers (mysql, libsql) are SQL drivers: their EntityManager has the SQL connection.
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

/** The `apps` columns a record needs, as the page statement selects them (never `select *`). */
const APP_COLUMNS_SQL =
  'a.id, a.name, a.kind, a.description, a.repository, a.build_command, a.start_command, a.stop_command, a.container, a.release_config, a.version, a.created_at, a.updated_at';
/** Without the details (texts, commands, container spec, release settings): see `AppPageQuery.details`. */
const APP_SUMMARY_COLUMNS_SQL = 'a.id, a.name, a.kind, a.version, a.created_at, a.updated_at';

// MariaDB's JSON is LONGTEXT and SQLite has no JSON type: both drivers may hand back text.
const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
const bool = (v: unknown): boolean => v === true || v === 1 || v === '1';
const str = (v: unknown): string => (typeof v === 'string' ? v : String(v));

/**
 * The filter as SQL on alias `t` (`a` for the page, `c` for its count), appended to `where`
 * and `params`. The same predicates the query builder wrote: `like` with `\`-escaped
 * wildcards, equality on the kind, a semi-join for the member.
 */
function filterSql(t: string, filter: AppListFilter, where: string[], params: unknown[]): void {
  if (filter.name) {
    where.push(`${t}.name like ?`);
    params.push(`%${filter.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  if (filter.kind) {
    where.push(`${t}.kind = ?`);
    params.push(filter.kind);
  }
  if (filter.member) {
    // A semi-join instead of a separate read of the member's app ids: one statement.
    where.push(
      `${t}.id in (select m.app_id from app_members m join users u on u.id = m.user_id where u.username = ?)`,
    );
    params.push(filter.member);
  }
}

const whereSql = (where: string[]) => (where.length ? ` where ${where.join(' and ')}` : '');

/** What one page read asks for. */
export interface AppPageQuery {
  filter: AppListFilter;
  /** Rows to read (a page asks one more than it shows, to know whether another follows). */
  limit: number;
  /** Keyset cursor: the last name of the previous page. */
  afterName?: string;
  /** Read each app's members with their users too (`AppPageRow.memberRows`): a second statement. */
  members?: boolean;
  /** Count every match of the filter (all pages) too. */
  count?: boolean;
  /**
   * Read the details too (default): `description`, `repository`, the commands, `container`
   * and `releaseConfig`, the wide columns (two of them JSON the driver parses). False: those
   * are left undefined (`AppPageRow` then holds only what {@link APP_SUMMARY_COLUMNS_SQL}
   * reads), for a page whose query shows none of them.
   */
  details?: boolean;
}

/** An app row of a page, with its members when they were asked for. */
export type AppPageRow = AppRow & { memberRows?: MemberRow[] };

/**
 * One page of apps ordered by name after `afterName`, as plain rows: one statement, with the
 * count of all matches as an uncorrelated scalar subquery (evaluated once) when `count`, and
 * when `members` a second one for the page's members and their users ({@link findMemberRows}).
 * Only an empty page that needs the count reads it on its own. The members were once folded
 * into the page statement as a correlated `JSON_ARRAYAGG` subquery: one statement fewer, but
 * the database server spent about 1 ms of CPU per page of 50 building the JSON, against
 * 0.6 ms for the plain rows, and the driver then parsed it (issue 9, P1). Parameterized SQL on
 * the connection MikroORM exposes (a read replica when there is one, the transaction's
 * connection inside one), like the token check: no query builder or entity on the hot read path.
 */
export async function findAppPage(
  em: EntityManager,
  q: AppPageQuery,
): Promise<{ rows: AppPageRow[]; totalCount: number | null }> {
  const params: unknown[] = [];
  const details = q.details !== false;
  let columns = details ? APP_COLUMNS_SQL : APP_SUMMARY_COLUMNS_SQL;
  if (q.count) {
    const where: string[] = [];
    filterSql('c', q.filter, where, params);
    columns += `, (select count(*) from apps c${whereSql(where)}) as total_count`;
  }
  const where: string[] = [];
  filterSql('a', q.filter, where, params);
  if (q.afterName) {
    where.push('a.name > ?');
    params.push(q.afterName);
  }
  params.push(q.limit);
  // One connection for every read of the page: with read replicas, each `getConnection('read')`
  // picks one at random, and the members must come from where the page came from.
  const on = readConnection(em);
  const raw = await readRows(
    em,
    `select ${columns} from apps a${whereSql(where)} order by a.name asc limit ?`,
    params,
    on,
  );
  const rows = raw.map((r) => {
    const row: AppPageRow = details
      ? {
          id: Number(r.id),
          name: str(r.name),
          kind: r.kind as AppKind,
          description: str(r.description),
          repository: str(r.repository),
          buildCommand: str(r.build_command),
          startCommand: str(r.start_command),
          stopCommand: str(r.stop_command),
          container: json<ContainerSpec>(r.container),
          releaseConfig: json<Partial<ReleaseConfig> | null>(r.release_config) ?? {},
          version: Number(r.version),
          createdAt: columnDate(r.created_at),
          updatedAt: columnDate(r.updated_at),
        }
      : // Not read: undefined, so a non-null GraphQL field that reads one anyway is an error,
        // never a made-up value.
        ({
          id: Number(r.id),
          name: str(r.name),
          kind: r.kind as AppKind,
          version: Number(r.version),
          createdAt: columnDate(r.created_at),
          updatedAt: columnDate(r.updated_at),
        } as AppPageRow);
    return row;
  });
  if (q.members && rows.length) {
    const byApp = groupMembers(
      await findMemberRows(
        em,
        rows.map((r) => r.id),
        on,
      ),
    );
    for (const row of rows) row.memberRows = byApp.get(row.id) ?? [];
  }
  let totalCount: number | null = null;
  if (q.count)
    totalCount = raw.length ? Number(raw[0].total_count) : await countApps(em, q.filter, on);
  return { rows, totalCount };
}

/** How many apps match `filter` (all pages). */
export async function countApps(
  em: EntityManager,
  filter: AppListFilter,
  on: boolean | SqlConnection = false,
): Promise<number> {
  const where: string[] = [];
  const params: unknown[] = [];
  filterSql('c', filter, where, params);
  const rows = await readRows(
    em,
    `select count(*) as count from apps c${whereSql(where)}`,
    params,
    on,
  );
  return Number(rows[0]?.count ?? 0);
}

/**
 * The members of `appIds` with their users' public columns, in membership order (sorted here:
 * an `order by` costs the server a temporary table and a filesort for rows that arrive
 * grouped by app already).
 */
export async function findMemberRows(
  em: EntityManager,
  appIds: readonly number[],
  on: boolean | SqlConnection = false,
): Promise<MemberRow[]> {
  if (!appIds.length) return [];
  const rows = await readRows(
    em,
    `select m.id, m.app_id, m.role, u.id as user_id, u.username, u.display_name, u.is_admin from app_members m join users u on u.id = m.user_id where m.app_id in (${appIds.map(() => '?').join(', ')})`,
    [...appIds],
    on,
  );
  rows.sort((x, y) => Number(x.id) - Number(y.id));
  return rows.map((r) => ({
    appId: Number(r.app_id),
    role: r.role as AppRole,
    user: {
      id: Number(r.user_id),
      username: str(r.username),
      displayName: str(r.display_name),
      isAdmin: bool(r.is_admin),
    },
  }));
}

/** `rows` by app id, each app's in the order given. */
export function groupMembers(rows: readonly MemberRow[]): Map<number, MemberRow[]> {
  const byApp = new Map<number, MemberRow[]>();
  for (const r of rows) {
    const list = byApp.get(r.appId);
    if (list) list.push(r);
    else byApp.set(r.appId, [r]);
  }
  return byApp;
}
