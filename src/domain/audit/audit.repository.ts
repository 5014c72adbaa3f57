/** Every query on the audit log. */
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { AuditEntry } from './audit-entry.entity.js';

export interface AuditFilter {
  actor?: string | null;
  app?: string | null;
  /** Root field (e.g. `updateApp`) or client operation name. */
  operation?: string | null;
  since?: Date | null;
}

export interface NewAuditEntry {
  actor: string | null;
  operationName: string | null;
  rootField: string;
  target: string | null;
  app: string | null;
  /** Id of `app` at the time (names can be reused after a delete); null when unknown. */
  appId: number | null;
  outcome: 'OK' | 'ERROR';
  errorCode: string | null;
  args: Record<string, unknown>;
}

export async function insertAuditEntry(em: EntityManager, e: NewAuditEntry): Promise<void> {
  await em.insert(AuditEntry, { ...e, at: new Date() });
}

/**
 * Entries matching `filter`, newest first, with id below `beforeId`. `appIds`, when given,
 * limits the result to entries of those apps, by id (what a non-admin may read).
 */
export async function findAuditEntries(
  em: EntityManager,
  filter: AuditFilter,
  opts: { beforeId?: string; limit: number; appIds?: number[] },
): Promise<AuditEntry[]> {
  const and: FilterQuery<AuditEntry>[] = [];
  if (filter.actor != null) and.push({ actor: filter.actor });
  if (filter.app != null) and.push({ app: filter.app });
  if (filter.operation != null)
    and.push({ $or: [{ rootField: filter.operation }, { operationName: filter.operation }] });
  if (filter.since != null) and.push({ at: { $gte: filter.since } });
  if (opts.appIds) and.push({ appId: { $in: opts.appIds } });
  if (opts.beforeId != null) and.push({ id: { $lt: opts.beforeId } });
  return em.find(AuditEntry, and.length ? { $and: and } : {}, {
    orderBy: { id: 'desc' },
    limit: opts.limit,
    disableIdentityMap: true,
  });
}
