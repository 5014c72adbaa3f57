/**
 * Every query on the outbox table. The relay sequences and stamps rows; readers (history,
 * subscription replay) see only sequenced rows, by `seq`.
 */
import type { EntityDictionary, EntityManager, FilterQuery } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/mysql';
import { PlatformEventRow } from './platform-event.entity.js';
import { isMysqlEm } from '../../db/orm.js';

/** Filters on event history; all given ones must match. */
export interface PlatformEventFilter {
  types?: string[] | null;
  app?: string | null;
  env?: string | null;
  actor?: string | null;
  /** Events recorded at or after this time. */
  since?: Date | null;
}

export type EventOrder = 'asc' | 'desc';

function whereOf(filter: PlatformEventFilter): FilterQuery<PlatformEventRow>[] {
  const and: FilterQuery<PlatformEventRow>[] = [];
  if (filter.types?.length) and.push({ type: { $in: filter.types } });
  if (filter.app != null) and.push({ app: filter.app });
  if (filter.env != null) and.push({ env: filter.env });
  if (filter.actor != null) and.push({ actor: filter.actor });
  if (filter.since != null) and.push({ at: { $gte: filter.since } });
  return and;
}

/**
 * Sequenced events matching `filter`, with `seq` after `afterSeq` (in `order`) and, when
 * given, at most `upToSeq`; `limit` rows. Reads the primary when `primary` (replicas lag:
 * subscription replay must see everything that was published).
 */
export async function findSequenced(
  em: EntityManager,
  opts: {
    filter?: PlatformEventFilter;
    afterSeq?: bigint | null;
    upToSeq?: bigint | null;
    order?: EventOrder;
    limit: number;
    primary?: boolean;
  },
): Promise<PlatformEventRow[]> {
  const order = opts.order ?? 'asc';
  const and = whereOf(opts.filter ?? {});
  and.push({ seq: { $ne: null } });
  if (opts.afterSeq != null)
    and.push({
      seq: order === 'asc' ? { $gt: String(opts.afterSeq) } : { $lt: String(opts.afterSeq) },
    });
  if (opts.upToSeq != null) and.push({ seq: { $lte: String(opts.upToSeq) } });
  return em.find(
    PlatformEventRow,
    { $and: and },
    {
      orderBy: { seq: order },
      limit: opts.limit,
      disableIdentityMap: true,
      ...(opts.primary ? { connectionType: 'write' as const } : {}),
    },
  );
}

/**
 * The lowest `seq` still kept (null when none). Numbering is dense from 1, so a missing id
 * below it was deleted by retention.
 */
export async function minSeq(em: EntityManager): Promise<bigint | null> {
  const rows = await (em as SqlEntityManager)
    .getConnection('write')
    .execute<{ seq: string | number }[]>(
      'select seq from platform_events where seq is not null order by seq asc limit 1',
    );
  return rows.length ? BigInt(rows[0].seq) : null;
}

/** The highest `seq` given so far (0 when none), from the primary. */
export async function maxSeq(em: EntityManager): Promise<bigint> {
  const rows = await (em as SqlEntityManager)
    .getConnection('write')
    .execute<{ m: string | number | null }[]>('select max(seq) as m from platform_events');
  return BigInt(rows[0]?.m ?? 0);
}

/**
 * The highest `seq` already published (0 when none), from the primary. The relay publishes
 * in `seq` order, so every event up to it is on the bus or was; numbered events still
 * waiting for the relay are left out (the live feed must not treat them as missed).
 * Reads the `seq` index backwards and stops at the first published row.
 */
export async function maxPublishedSeq(em: EntityManager): Promise<bigint> {
  const rows = await (em as SqlEntityManager)
    .getConnection('write')
    .execute<{ seq: string | number }[]>(
      'select seq from platform_events where seq is not null and published_at is not null order by seq desc limit 1',
    );
  return BigInt(rows[0]?.seq ?? 0);
}

/**
 * What {@link sequencePending} did: rows numbered, or `busy` when another replica holds the
 * numbering lock. `rows` (when asked for): the rows it numbered, committed, with their `seq`
 * (`base` + 1, + 2, …, `base` being the highest number given before them), so the leading
 * relay can publish them without reading them again.
 */
export type SequenceResult = {
  numbered: number;
  busy: boolean;
  base?: bigint;
  rows?: PlatformEventRow[];
};

/**
 * Gives the next `seq` numbers to up to `limit` committed, unsequenced rows in insert order,
 * in one transaction; returns how many. A plain (non-locking) read: rows of transactions
 * still open are invisible and get their number when they commit, so numbers follow commit
 * order.
 *
 * Numbering needs only the database (not Redis): on MySQL/MariaDB it runs under the named
 * lock `GET_LOCK('phantom_seq_<md5(database)>', 0)`, so one replica numbers at a time and
 * the others skip the pass (`busy`) instead of colliding; SQLite has one writer anyway. The
 * lock is released just before COMMIT (it belongs to the pooled connection, not to the
 * transaction); a replica that takes it in that instant reads stale rows and its guarded
 * update fails, and the unique index on `seq` or the `seq is null` guard rolls its whole
 * transaction back, so numbers stay dense.
 */
export async function sequencePending(
  em: EntityManager,
  limit: number,
  opts: { rows?: boolean; probe?: boolean } = {},
): Promise<SequenceResult> {
  const mysql = isMysqlEm(em);
  // Most polls find nothing: one plain read says so, without the transaction and the lock.
  // `probe: false` when rows are expected (a commit with events just woke the relay).
  if (opts.probe !== false) {
    const probe = await (em as SqlEntityManager)
      .getConnection('write')
      .execute<{ id: string | number }[]>(
        'select id from platform_events where seq is null order by id asc limit 1',
      );
    if (!probe.length) return { numbered: 0, busy: false };
  }
  return em.transactional(async (tx) => {
    const conn = (tx as SqlEntityManager).getConnection('write');
    const run = <T extends Record<string, unknown>[]>(sql: string) =>
      conn.execute<T>(sql, [], 'all', tx.getTransactionContext());
    const lock = "concat('phantom_seq_', md5(database()))";
    if (mysql) {
      const got = await run<{ got: number | string | null }[]>(
        `select get_lock(${lock}, 0) as got`,
      );
      if (Number(got[0]?.got) !== 1) return { numbered: 0, busy: true };
    }
    try {
      // The rows to number and the highest number given, in one read; with `rows` (a leading
      // relay publishes them from here) the whole rows, else only their ids (the lock is held
      // for the read: replicas that do not publish keep it short).
      const columns = opts.rows ? 'p.id, p.type, p.at, p.actor, p.app, p.env, p.payload' : 'p.id';
      const rows = await run<(Record<string, unknown> & { id: string | number; m: unknown })[]>(
        `select ${columns}, (select max(seq) from platform_events) as m from platform_events p where p.seq is null order by p.id asc limit ${Math.max(1, Math.floor(limit))}`,
      );
      if (!rows.length) return { numbered: 0, busy: false };
      // One statement for the batch: seq = max + position, guarded by `seq is null`.
      const base = BigInt((rows[0].m as string | number | null) ?? 0);
      const ids = rows.map((r) => String(r.id));
      const cases = ids.map(() => 'when ? then ?').join(' ');
      const params: string[] = [];
      ids.forEach((id, i) => params.push(id, String(base + BigInt(i + 1))));
      const res = await conn.execute<{ affectedRows?: number; changes?: number }>(
        `update platform_events set seq = case id ${cases} end where seq is null and id in (${ids.map(() => '?').join(', ')})`,
        [...params, ...ids],
        'run',
        tx.getTransactionContext(),
      );
      const changed = Number(res.affectedRows ?? res.changes ?? 0);
      if (changed !== ids.length)
        throw new Error(
          `outbox: ${ids.length - changed} of ${ids.length} event rows were sequenced concurrently; will retry`,
        );
      if (!opts.rows) return { numbered: rows.length, busy: false, base };
      // Mapped as a read through the ORM maps them (dates, JSON), with the numbers just given.
      const numbered = rows.map((r, i) => {
        const columns: Record<string, unknown> = { ...r, id: String(r.id) };
        delete columns.m;
        columns.seq = String(base + BigInt(i + 1));
        return tx.map(PlatformEventRow, columns as EntityDictionary<PlatformEventRow>);
      });
      return { numbered: rows.length, busy: false, base, rows: numbered };
    } finally {
      if (mysql) await run(`select release_lock(${lock}) as released`);
    }
  });
}

/** Sequenced rows not yet on the stream, by `seq`. */
export async function findUnpublished(
  em: EntityManager,
  limit: number,
): Promise<PlatformEventRow[]> {
  return em.find(
    PlatformEventRow,
    { seq: { $ne: null }, publishedAt: null },
    {
      orderBy: { seq: 'asc' },
      limit,
      disableIdentityMap: true,
      connectionType: 'write',
    },
  );
}

/** Stamps rows as published. */
export async function markPublished(
  em: EntityManager,
  ids: string[],
  at = new Date(),
): Promise<void> {
  if (!ids.length) return;
  await em.nativeUpdate(PlatformEventRow, { id: { $in: ids } }, { publishedAt: at });
}
