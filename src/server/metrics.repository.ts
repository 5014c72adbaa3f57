/**
 * The queries `/metrics` runs at scrape time (never on a request path): two small statements,
 * both on indexed columns.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/mysql';
import { PlatformEventRow } from '../domain/events/platform-event.entity.js';
import { Release } from '../domain/releases/release.entity.js';

/** Outbox lag: events committed but not yet published (unsequenced, or sequenced and waiting). */
export async function unpublishedEvents(em: EntityManager): Promise<number> {
  return em.count(PlatformEventRow, { publishedAt: null }, { connectionType: 'write' });
}

/** Releases per status (every status that has at least one). */
export async function releasesByStatus(em: EntityManager): Promise<Map<string, number>> {
  const rows = await (em as SqlEntityManager)
    .createQueryBuilder(Release, 'r')
    .select(['status', 'count(*) as n'])
    .groupBy('status')
    .execute<{ status: string; n: number | string }[]>('all', false);
  return new Map(rows.map((r) => [r.status, Number(r.n)]));
}
