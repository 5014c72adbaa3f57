/**
 * Every query on the outbox table. The relay sequences and stamps rows; readers (history,
 * subscription replay) see only sequenced rows, by `seq`.
 */
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { PlatformEventRow } from './platform-event.entity.js';

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
  opts: { filter?: PlatformEventFilter; afterSeq?: bigint | null; upToSeq?: bigint | null; order?: EventOrder; limit: number; primary?: boolean },
): Promise<PlatformEventRow[]> {
  const order = opts.order ?? 'asc';
  const and = whereOf(opts.filter ?? {});
  and.push({ seq: { $ne: null } });
  if (opts.afterSeq != null) and.push({ seq: order === 'asc' ? { $gt: String(opts.afterSeq) } : { $lt: String(opts.afterSeq) } });
  if (opts.upToSeq != null) and.push({ seq: { $lte: String(opts.upToSeq) } });
  return em.find(PlatformEventRow, { $and: and }, {
    orderBy: { seq: order },
    limit: opts.limit,
    disableIdentityMap: true,
    ...(opts.primary ? { connectionType: 'write' as const } : {}),
  });
}

/** The highest `seq` given so far (0 when none), from the primary. */
export async function maxSeq(em: EntityManager): Promise<bigint> {
  const rows = await em.getConnection('write').execute<{ m: string | number | null }[]>(
    'select max(seq) as m from platform_events',
  );
  return BigInt(rows[0]?.m ?? 0);
}

/**
 * Gives the next `seq` numbers to up to `limit` committed, unsequenced rows in insert order,
 * in one transaction; returns how many. A plain (non-locking) read: rows of transactions
 * still open are invisible and get their number when they commit, so numbers follow commit
 * order. If a second relay races us (a lease is not a fence), the unique index on `seq` or
 * the `seq is null` guard makes one of the two transactions fail and roll back whole, so
 * numbers stay dense.
 */
export async function sequencePending(em: EntityManager, limit: number): Promise<number> {
  return em.transactional(async (tx) => {
    const rows = await tx.find(PlatformEventRow, { seq: null }, { fields: ['id'], orderBy: { id: 'asc' }, limit, disableIdentityMap: true });
    if (!rows.length) return 0;
    const top = await tx.getConnection('write').execute<{ m: string | number | null }[]>(
      'select max(seq) as m from platform_events', [], 'all', tx.getTransactionContext(),
    );
    let next = BigInt(top[0]?.m ?? 0);
    for (const r of rows) {
      next += 1n;
      const changed = await tx.nativeUpdate(PlatformEventRow, { id: r.id, seq: null }, { seq: String(next) });
      if (changed !== 1) throw new Error(`outbox: event row ${r.id} was sequenced concurrently; will retry`);
    }
    return rows.length;
  });
}

/** Sequenced rows not yet on the stream, by `seq`. */
export async function findUnpublished(em: EntityManager, limit: number): Promise<PlatformEventRow[]> {
  return em.find(PlatformEventRow, { seq: { $ne: null }, publishedAt: null }, {
    orderBy: { seq: 'asc' }, limit, disableIdentityMap: true, connectionType: 'write',
  });
}

/** Stamps rows as published. */
export async function markPublished(em: EntityManager, ids: string[], at = new Date()): Promise<void> {
  if (!ids.length) return;
  await em.nativeUpdate(PlatformEventRow, { id: { $in: ids } }, { publishedAt: at });
}
