/**
 * Every query on the tickets table. The list reads plain rows (no entities, no identity
 * map): it never changes what it reads.
 */
import type { EntityManager } from '@mikro-orm/core';
// Both drivers (mysql, libsql) are SQL drivers: their EntityManager has the query builder.
import type { SqlEntityManager } from '@mikro-orm/mysql';
import { columnDate, columnDateOrNull } from '../../db/columns.js';
import { Ticket } from './ticket.entity.js';
import { TicketKind, TicketStatus } from './ticket-kind.js';
import type { TicketRecord } from './ticket.record.js';
import type { AppRole } from '../apps/app-kind.js';

/** OPEN past its expiry reads EXPIRED: the row is marked later (lazily), the answer is right now. */
export function effectiveStatus(
  t: { status: TicketStatus; expiresAt: Date },
  now: Date,
): TicketStatus {
  return t.status === TicketStatus.OPEN && t.expiresAt.getTime() <= now.getTime()
    ? TicketStatus.EXPIRED
    : t.status;
}

export function toTicketRecord(t: Ticket, now = new Date()): TicketRecord {
  return {
    id: t.id,
    kind: t.kind,
    status: effectiveStatus(t, now),
    appId: t.appId,
    app: t.app,
    releaseId: t.releaseId ?? null,
    requesterId: t.requesterId,
    requester: t.requester,
    role: t.role ?? null,
    reason: t.reason,
    decidedBy: t.decidedBy ?? null,
    comment: t.comment ?? null,
    createdAt: t.createdAt,
    decidedAt: t.decidedAt ?? null,
    expiresAt: t.expiresAt,
  };
}

function rowToRecord(r: Record<string, unknown>, now: Date): TicketRecord {
  const status = r.status as TicketStatus;
  const expiresAt = columnDate(r.expiresAt);
  return {
    id: Number(r.id),
    kind: r.kind as TicketKind,
    status: effectiveStatus({ status, expiresAt }, now),
    appId: Number(r.appId),
    app: String(r.app),
    releaseId: r.releaseId == null ? null : Number(r.releaseId),
    requesterId: Number(r.requesterId),
    requester: String(r.requester),
    role: (r.role ?? null) as AppRole | null,
    reason: String(r.reason),
    decidedBy: (r.decidedBy ?? null) as string | null,
    comment: (r.comment ?? null) as string | null,
    createdAt: columnDate(r.createdAt),
    decidedAt: columnDateOrNull(r.decidedAt),
    expiresAt,
  };
}

/** List filters; all given ones must match. `status` is the status as it reads now (see {@link effectiveStatus}). */
export interface TicketQuery {
  status?: TicketStatus | null;
  kind?: TicketKind | null;
  appId?: number | null;
  requesterId?: number | null;
  /** Only tickets this user requested or of these apps (what a non-admin may see); absent = all. */
  visibleTo?: { userId: number; appIds: number[] };
}

/** Tickets matching `q`, newest first (by id), with id below `beforeId`; `limit` rows. */
export async function findTickets(
  em: EntityManager,
  q: TicketQuery,
  opts: { beforeId?: number; limit: number; now: Date },
): Promise<TicketRecord[]> {
  const and: Record<string, unknown>[] = [];
  if (q.status === TicketStatus.OPEN)
    and.push({ status: TicketStatus.OPEN, expiresAt: { $gt: opts.now } });
  else if (q.status === TicketStatus.EXPIRED)
    and.push({
      $or: [
        { status: TicketStatus.EXPIRED },
        { status: TicketStatus.OPEN, expiresAt: { $lte: opts.now } },
      ],
    });
  else if (q.status) and.push({ status: q.status });
  if (q.kind) and.push({ kind: q.kind });
  if (q.appId != null) and.push({ appId: q.appId });
  if (q.requesterId != null) and.push({ requesterId: q.requesterId });
  if (q.visibleTo) {
    const { userId, appIds } = q.visibleTo;
    and.push(
      appIds.length
        ? { $or: [{ requesterId: userId }, { appId: { $in: appIds } }] }
        : { requesterId: userId },
    );
  }
  if (opts.beforeId != null) and.push({ id: { $lt: opts.beforeId } });
  const rows = await (em as SqlEntityManager)
    .createQueryBuilder(Ticket)
    .select('*')
    .where(and.length ? { $and: and } : {})
    .orderBy({ id: 'desc' })
    .limit(opts.limit)
    .execute<Record<string, unknown>[]>('all', true);
  return rows.map((r) => rowToRecord(r, opts.now));
}

/** One ticket as a plain record, or null. */
export async function findTicket(
  em: EntityManager,
  id: number,
  now: Date,
): Promise<TicketRecord | null> {
  const rows = await (em as SqlEntityManager)
    .createQueryBuilder(Ticket)
    .select('*')
    .where({ id })
    .execute<Record<string, unknown>[]>('all', true);
  return rows[0] ? rowToRecord(rows[0], now) : null;
}
