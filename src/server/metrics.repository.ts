/**
 * The queries `/metrics` runs at scrape time (never on a request path): small statements on
 * indexed columns, plain rows (no entities).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/mysql';
import { PlatformEventRow } from '../domain/events/platform-event.entity.js';

/** Outbox lag: events committed but not yet published (unsequenced, or sequenced and waiting). */
export async function unpublishedEvents(em: EntityManager): Promise<number> {
  return em.count(PlatformEventRow, { publishedAt: null }, { connectionType: 'write' });
}

type CountRow = { status: string; n: number | string };

async function countsByStatus(em: EntityManager, table: string): Promise<Map<string, number>> {
  const rows = await (em as SqlEntityManager)
    .getConnection('write')
    .execute<CountRow[]>(`select status, count(*) as n from ${table} group by status`);
  return new Map(rows.map((r) => [r.status, Number(r.n)]));
}

/** Releases per status (every status that has at least one). */
export function releasesByStatus(em: EntityManager): Promise<Map<string, number>> {
  return countsByStatus(em, 'releases');
}

/** Builds per status. */
export function buildsByStatus(em: EntityManager): Promise<Map<string, number>> {
  return countsByStatus(em, 'builds');
}

/** Chat notification deliveries per status (`DEAD`: the dead letters). */
export function deliveriesByStatus(em: EntityManager): Promise<Map<string, number>> {
  return countsByStatus(em, 'notification_deliveries');
}

/**
 * Notifier lag per consumer group: the newest event id minus the newest one the group has
 * handled (its cursor). A group that has handled nothing yet counts from its history mark.
 */
export async function notifierLag(em: EntityManager): Promise<Map<string, number>> {
  const conn = (em as SqlEntityManager).getConnection('write');
  const [newest] = await conn.execute<{ seq: string | number | null }[]>(
    'select max(seq) as seq from platform_events',
  );
  const cursors = await conn.execute<
    { group_name: string; last_event_id: string | number | null; history_up_to: string | number }[]
  >('select group_name, last_event_id, history_up_to from notifier_cursors');
  const top = BigInt(newest?.seq ?? 0);
  return new Map(
    cursors.map((c) => {
      const at = BigInt(c.last_event_id ?? c.history_up_to);
      return [c.group_name, Number(top > at ? top - at : 0n)];
    }),
  );
}
