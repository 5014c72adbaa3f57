/**
 * Retention: platform events and audit entries older than `days` are deleted by the worker in
 * small batches by primary key (each batch its own short statement: no long lock on the
 * tables, writers go on). Platform events are only deleted once published, and the newest
 * numbered event always stays (the relay numbers the next one from it). A subscription or
 * history read asking to resume before the oldest kept event gets EVENTS_EXPIRED.
 */
import type { EntityManager } from '@mikro-orm/core';
import { PlatformEventRow } from '../../domain/events/platform-event.entity.js';
import { AuditEntry } from '../../domain/audit/audit-entry.entity.js';
import type { PeriodicJob } from './periodic-jobs.js';

export interface RetentionOptions {
  /** Keep this many days. 0 keeps everything (the job does nothing). */
  days: number;
  /** Rows per delete statement. Default: 1000. */
  batch?: number;
  /** Pause between batches, so other writers get the table. Default: 20 ms. */
  pauseMs?: number;
  /** How often it runs. Default: hourly. */
  everyMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

export function retentionJob(opts: RetentionOptions): PeriodicJob {
  const batch = opts.batch ?? 1000;
  const pause = opts.pauseMs ?? 20;
  return {
    name: 'retention',
    everyMs: opts.everyMs ?? 3_600_000,
    async run(em, { signal, stillMine }) {
      if (opts.days <= 0) return { skipped: 'retention is off (PHANTOM_RETENTION_DAYS=0)' };
      const cutoff = new Date((opts.now ?? Date.now)() - opts.days * 86_400_000);
      const events = await deleteEvents(em, cutoff, batch, pause, signal, stillMine);
      const audit = await deleteAudit(em, cutoff, batch, pause, signal, stillMine);
      return { cutoff: cutoff.toISOString(), platformEvents: events, auditEntries: audit };
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function deleteEvents(
  em: () => EntityManager,
  cutoff: Date,
  batch: number,
  pause: number,
  signal: AbortSignal,
  stillMine: () => Promise<void>,
): Promise<number> {
  // The newest numbered event stays whatever its age: numbering continues from max(seq).
  const top = await em().find(
    PlatformEventRow,
    { seq: { $ne: null } },
    {
      fields: ['seq'],
      orderBy: { seq: 'desc' },
      limit: 1,
      disableIdentityMap: true,
      connectionType: 'write',
    },
  );
  if (!top.length) return 0;
  const newest = BigInt(top[0].seq!);
  let deleted = 0;
  for (;;) {
    signal.throwIfAborted();
    // Oldest rows first by primary key; stop at the first one that must stay (ids follow
    // insert order, so what comes after it is newer or not yet published).
    const rows = await em().find(
      PlatformEventRow,
      {},
      {
        fields: ['id', 'seq', 'at', 'publishedAt'],
        orderBy: { id: 'asc' },
        limit: batch,
        disableIdentityMap: true,
        connectionType: 'write',
      },
    );
    const ids: string[] = [];
    for (const r of rows) {
      if (!(r.at < cutoff) || !r.publishedAt || r.seq == null || BigInt(r.seq) >= newest) break;
      ids.push(r.id);
    }
    if (!ids.length) return deleted;
    await stillMine();
    deleted += await em().nativeDelete(PlatformEventRow, { id: { $in: ids } });
    if (ids.length < rows.length || rows.length < batch) return deleted;
    await sleep(pause);
  }
}

async function deleteAudit(
  em: () => EntityManager,
  cutoff: Date,
  batch: number,
  pause: number,
  signal: AbortSignal,
  stillMine: () => Promise<void>,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    signal.throwIfAborted();
    const rows = await em().find(
      AuditEntry,
      { at: { $lt: cutoff } },
      {
        fields: ['id'],
        orderBy: { id: 'asc' },
        limit: batch,
        disableIdentityMap: true,
        connectionType: 'write',
      },
    );
    if (!rows.length) return deleted;
    await stillMine();
    deleted += await em().nativeDelete(AuditEntry, { id: { $in: rows.map((r) => r.id) } });
    if (rows.length < batch) return deleted;
    await sleep(pause);
  }
}
