/**
 * Approval tickets: someone asks (an access request, or the release engine on behalf of a
 * release), an OWNER of the app or a platform admin decides — never the requester.
 *
 * Commands (`requestAccess`, `approveTicket`, `rejectTicket`, reads) authorize their viewer;
 * internal operations (`openReleaseApprovalTicket`, `closeReleaseTickets`) run as the
 * platform inside the caller's transaction and only record events.
 */
import type { EntityManager, LockMode } from '@mikro-orm/core';
import { Ticket } from './ticket.entity.js';
import { TicketKind, TicketStatus } from './ticket-kind.js';
import type { TicketDecisionHook, TicketRecord } from './ticket.record.js';
import {
  effectiveStatus,
  findTicket,
  findTickets,
  toTicketRecord,
  type TicketQuery,
} from './ticket.repository.js';
import { App } from '../apps/app.entity.js';
import { AppRole, ROLE_RANK } from '../apps/app-kind.js';
import {
  forgetRoles,
  getApp,
  grantMembership,
  roleOn,
  rolesOf,
  type MembershipGrant,
} from '../apps/app.service.js';
import type { DomainContext, DomainDeps } from '../shared/domain-context.js';
import { DomainError, badInput, conflict, forbidden, notFound } from '../shared/errors.js';
import { requireViewer, requireWriter } from '../shared/authz.js';
import { actsAsAdmin, canWrite, type Viewer } from '../people/viewer.js';
import { PlatformEventType, recordEvent } from '../events/event-recorder.js';
import { noteAuditTarget } from '../audit/audit-target.js';
import { forUpdate } from '../../db/locking.js';
import { charLength } from '../shared/text.js';

export type { TicketDecisionHook, TicketRecord } from './ticket.record.js';
export { TicketKind, TicketStatus } from './ticket-kind.js';

/** Longest `reason` and `comment`, in characters. */
export const TICKET_TEXT_MAX = 2000;

/** List filter of {@link listTickets}; all given ones must match. */
export interface TicketFilter {
  /** As the ticket reads now: an OPEN ticket past its expiry counts as EXPIRED. */
  status?: TicketStatus | null;
  kind?: TicketKind | null;
  /** App name (its tickets by the app's id: a deleted app's tickets do not pass to a new app of that name). */
  app?: string | null;
  /** Only tickets the viewer requested. */
  mine?: boolean | null;
}

export interface TicketPage {
  items: TicketRecord[];
  hasNextPage: boolean;
}

const ticketLabel = (id: number) => `Ticket #${id}`;

function validateText(
  value: string | null | undefined,
  field: 'reason' | 'comment',
  required: boolean,
): string | null {
  const v = value?.trim() ?? '';
  if (!v) {
    if (required) throw badInput(field, `Give a ${field}: the people deciding read it.`);
    return null;
  }
  if (charLength(v) > TICKET_TEXT_MAX)
    throw badInput(field, `${field} is ${charLength(v)} characters; at most ${TICKET_TEXT_MAX}.`);
  return v;
}

function expiresAtFrom(deps: DomainDeps, now: Date): Date {
  return new Date(now.getTime() + Math.round(deps.ticketTtlHours * 3600_000));
}

function ticketPayload(t: Ticket, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ticketId: t.id,
    kind: t.kind,
    requester: t.requester,
    ...(t.role ? { role: t.role } : {}),
    ...(t.releaseId != null ? { releaseId: t.releaseId } : {}),
    ...extra,
  };
}

/** Closes an OPEN ticket as the platform (no decider) and records the matching event. */
function closeTicket(
  em: EntityManager,
  t: Ticket,
  status: TicketStatus.EXPIRED | TicketStatus.CANCELED,
  now: Date,
  comment: string | null,
): void {
  t.status = status;
  t.decidedAt = now;
  if (comment) t.comment = comment;
  const type =
    status === TicketStatus.EXPIRED
      ? PlatformEventType.TICKET_EXPIRED
      : PlatformEventType.TICKET_CANCELED;
  recordEvent(em, {
    type,
    actor: null,
    app: t.app,
    payload: ticketPayload(t, comment ? { comment } : {}),
  });
}

/** Requester, members of the ticket's app (by id) and platform admins see a ticket. */
async function canSee(
  ctx: DomainContext,
  viewer: Viewer,
  t: { requesterId: number; appId: number },
): Promise<boolean> {
  if (actsAsAdmin(viewer) || t.requesterId === viewer.userId) return true;
  return (await roleOn(ctx, t.appId)) != null;
}

/** OWNERs of the app and platform admins decide; the requester never does, whatever their rights. */
async function mayDecide(
  ctx: DomainContext,
  viewer: Viewer,
  t: { requesterId: number; appId: number },
): Promise<boolean> {
  if (t.requesterId === viewer.userId || !canWrite(viewer)) return false;
  return actsAsAdmin(viewer) || (await roleOn(ctx, t.appId)) === AppRole.OWNER;
}

/**
 * Asks for `role` on app `appName` (any signed-in writer below that role). Opens an
 * ACCESS_REQUEST ticket that expires after PHANTOM_TICKET_TTL_HOURS; one open request per
 * app and person (CONFLICT otherwise). Records TICKET_CREATED.
 */
export async function requestAccess(
  ctx: DomainContext,
  appName: string,
  role: AppRole,
  reason: string,
): Promise<TicketRecord> {
  const viewer = requireWriter(ctx.viewer);
  if (!Object.values(AppRole).includes(role)) throw badInput('role', 'Unknown role.');
  const text = validateText(reason, 'reason', true)!;
  const app = await getApp(ctx, appName);
  if (!app) throw new DomainError('NOT_FOUND', `App "${appName}" not found.`, { field: 'app' });
  const current = await roleOn(ctx, app.id);
  if (current && ROLE_RANK[current] >= ROLE_RANK[role]) {
    throw conflict(`You already have the ${current} role on app "${app.name}".`, { field: 'role' });
  }
  const now = new Date();
  const ticket = await ctx.em.transactional(async (em) => {
    // The app row lock serializes requests on one app: two at once cannot both pass the
    // "one open request" check below.
    const a = await em.findOne(App, { id: app.id }, forUpdate(em));
    if (!a) throw notFound(`App "${appName}"`);
    const open = await em.find(Ticket, {
      kind: TicketKind.ACCESS_REQUEST,
      appId: a.id,
      requesterId: viewer.userId,
      status: TicketStatus.OPEN,
    });
    for (const o of open) {
      if (effectiveStatus(o, now) === TicketStatus.OPEN) {
        throw conflict(
          `You already have an open access request on app "${a.name}" (${ticketLabel(o.id)}); wait for its decision.`,
          { ticketId: o.id },
        );
      }
      closeTicket(em, o, TicketStatus.EXPIRED, now, null);
    }
    const t = em.create(Ticket, {
      kind: TicketKind.ACCESS_REQUEST,
      appId: a.id,
      app: a.name,
      requesterId: viewer.userId,
      requester: viewer.username,
      role,
      reason: text,
      createdAt: now,
      expiresAt: expiresAtFrom(ctx.deps, now),
    });
    // The id goes into the event's payload.
    await em.persist(t).flush();
    recordEvent(em, {
      type: PlatformEventType.TICKET_CREATED,
      actor: viewer.username,
      app: a.name,
      payload: ticketPayload(t, { reason: text }),
    });
    return t;
  });
  noteAuditTarget(ctx, { app: ticket.app, target: ticketLabel(ticket.id) });
  ctx.deps.onEventsCommitted();
  return toTicketRecord(ticket, now);
}

/** Approves an OPEN ticket; see {@link decideTicket}. */
export function approveTicket(
  ctx: DomainContext,
  id: number,
  comment?: string | null,
): Promise<TicketRecord> {
  return decideTicket(ctx, id, TicketStatus.APPROVED, comment);
}

/** Rejects an OPEN ticket; see {@link decideTicket}. */
export function rejectTicket(
  ctx: DomainContext,
  id: number,
  comment?: string | null,
): Promise<TicketRecord> {
  return decideTicket(ctx, id, TicketStatus.REJECTED, comment);
}

type DecideOutcome = { ticket: Ticket; expired: boolean; grant?: MembershipGrant };

/**
 * Decides ticket `id` as the viewer: an OWNER of its app or a platform admin acting as
 * admin, never its requester (FORBIDDEN, even for admins: nobody approves their own
 * request). Tickets the viewer may not see are NOT_FOUND. Only OPEN tickets: a decided one
 * is CONFLICT; one past its expiry is marked EXPIRED (TICKET_EXPIRED) and answered CONFLICT.
 *
 * In one transaction, with the ticket row locked: the status, decider and comment; for an
 * approved ACCESS_REQUEST the membership itself (MEMBER_CHANGED); the kind's decision hook
 * (`DomainDeps.ticketDecisionHooks`), whose failure rolls everything back; and
 * TICKET_APPROVED / TICKET_REJECTED.
 */
export async function decideTicket(
  ctx: DomainContext,
  id: number,
  decision: TicketStatus.APPROVED | TicketStatus.REJECTED,
  comment?: string | null,
): Promise<TicketRecord> {
  const viewer = requireWriter(ctx.viewer);
  const note = validateText(comment, 'comment', false);
  const now = new Date();
  const outcome = await ctx.em.transactional(async (em): Promise<DecideOutcome> => {
    const t = await em.findOne(Ticket, { id }, forUpdate(em));
    const tctx = { ...ctx, em };
    // Same answer whether it does not exist or is not yours to see: the API leaks nothing.
    if (!t || !(await canSee(tctx, viewer, t))) throw notFound(ticketLabel(id));
    // Filed under the app before authorizing, so its OWNERs also read refused attempts.
    noteAuditTarget(ctx, { app: t.app, target: ticketLabel(id) });
    if (t.requesterId === viewer.userId) {
      throw forbidden(
        `You requested ${ticketLabel(id)}: someone else must decide it (an OWNER of app "${t.app}" or a platform admin), even when you are an admin.`,
      );
    }
    if (!actsAsAdmin(viewer) && (await roleOn(tctx, t.appId)) !== AppRole.OWNER) {
      throw forbidden(
        `Only an OWNER of app "${t.app}" or a platform admin may decide ${ticketLabel(id)}.`,
      );
    }
    if (t.status !== TicketStatus.OPEN)
      throw conflict(`${ticketLabel(id)} is already ${t.status}.`, { status: t.status });
    if (effectiveStatus(t, now) === TicketStatus.EXPIRED) {
      closeTicket(em, t, TicketStatus.EXPIRED, now, null);
      return { ticket: t, expired: true };
    }
    t.status = decision;
    t.decidedBy = viewer.username;
    t.comment = note;
    t.decidedAt = now;
    let grant: MembershipGrant | undefined;
    if (decision === TicketStatus.APPROVED && t.kind === TicketKind.ACCESS_REQUEST && t.role) {
      grant = await grantMembership(em, t.appId, t.requesterId, t.role, viewer.username);
    }
    recordEvent(em, {
      type:
        decision === TicketStatus.APPROVED
          ? PlatformEventType.TICKET_APPROVED
          : PlatformEventType.TICKET_REJECTED,
      actor: viewer.username,
      app: t.app,
      payload: ticketPayload(t, note ? { comment: note } : {}),
    });
    // The hook sees the decided row in the database, not only in this unit of work.
    await em.flush();
    const hook: TicketDecisionHook | undefined = ctx.deps.ticketDecisionHooks[t.kind];
    if (hook) await hook(em, toTicketRecord(t, now), decision, viewer.username);
    return { ticket: t, expired: false, grant };
  });
  ctx.deps.onEventsCommitted();
  if (outcome.expired) {
    throw conflict(
      `${ticketLabel(id)} expired at ${outcome.ticket.expiresAt.toISOString()}: it can no longer be decided.`,
      { status: TicketStatus.EXPIRED },
    );
  }
  if (outcome.grant && outcome.grant.from !== outcome.grant.to)
    await forgetRoles(ctx.deps, outcome.ticket.requesterId);
  return toTicketRecord(outcome.ticket, now);
}

/** One ticket the viewer may see (requester, app member, platform admin); NOT_FOUND otherwise. */
export async function getTicket(ctx: DomainContext, id: number): Promise<TicketRecord> {
  const viewer = requireViewer(ctx.viewer);
  const t = await findTicket(ctx.em, id, new Date());
  if (!t || !(await canSee(ctx, viewer, t))) throw notFound(ticketLabel(id));
  return t;
}

/** Whether the viewer may decide `t` now (OPEN, OWNER or admin, not its requester). */
export async function viewerCanDecide(ctx: DomainContext, t: TicketRecord): Promise<boolean> {
  if (!ctx.viewer || t.status !== TicketStatus.OPEN) return false;
  return mayDecide(ctx, ctx.viewer, t);
}

/**
 * Tickets the viewer may see matching `filter`, newest first, keyset-paginated by id
 * (`beforeId`: the last id of the previous page).
 */
export async function listTickets(
  ctx: DomainContext,
  filter: TicketFilter,
  first: number,
  beforeId?: number,
): Promise<TicketPage> {
  const viewer = requireViewer(ctx.viewer);
  const q: TicketQuery = { status: filter.status, kind: filter.kind };
  if (filter.mine) q.requesterId = viewer.userId;
  if (filter.app != null) {
    const app = await getApp(ctx, filter.app);
    if (!app) return { items: [], hasNextPage: false };
    q.appId = app.id;
  }
  if (!actsAsAdmin(viewer)) {
    const roles = await rolesOf(ctx, viewer.userId);
    q.visibleTo = { userId: viewer.userId, appIds: Object.keys(roles).map(Number) };
  }
  const rows = await findTickets(ctx.em, q, { beforeId, limit: first + 1, now: new Date() });
  return { items: rows.slice(0, first), hasNextPage: rows.length > first };
}

/** What the release engine knows when it asks for an approval. */
export interface NewReleaseApproval {
  appId: number;
  app: string;
  releaseId: number;
  requesterId: number;
  requester: string;
  reason: string;
}

/**
 * Internal operation (no authorization): opens a RELEASE_APPROVAL ticket for release
 * `releaseId` inside the caller's transaction `em`, expiring after PHANTOM_TICKET_TTL_HOURS,
 * and records TICKET_CREATED. The caller calls `deps.onEventsCommitted()` after commit.
 */
export async function openReleaseApprovalTicket(
  em: EntityManager,
  deps: DomainDeps,
  input: NewReleaseApproval,
): Promise<Ticket> {
  const reason = validateText(input.reason, 'reason', false) ?? 'Release approval';
  const now = new Date();
  const t = em.create(Ticket, {
    kind: TicketKind.RELEASE_APPROVAL,
    appId: input.appId,
    app: input.app,
    releaseId: input.releaseId,
    requesterId: input.requesterId,
    requester: input.requester,
    reason,
    createdAt: now,
    expiresAt: expiresAtFrom(deps, now),
  });
  await em.persist(t).flush();
  recordEvent(em, {
    type: PlatformEventType.TICKET_CREATED,
    actor: input.requester,
    app: input.app,
    payload: ticketPayload(t, { reason }),
  });
  return t;
}

/**
 * Internal operation: closes the OPEN tickets of release `releaseId` as EXPIRED or CANCELED
 * (rows locked, in the caller's transaction), records TICKET_EXPIRED / TICKET_CANCELED for
 * each, and returns how many it closed. Decided tickets are left as they are.
 */
export async function closeReleaseTickets(
  em: EntityManager,
  releaseId: number,
  status: 'EXPIRED' | 'CANCELED',
  comment?: string | null,
): Promise<number> {
  const note = validateText(comment, 'comment', false);
  const now = new Date();
  // `find` types its lock mode narrower than `findOne`; forUpdate only ever gives PESSIMISTIC_WRITE.
  const open = await em.find(
    Ticket,
    { releaseId, status: TicketStatus.OPEN },
    forUpdate(em) as { lockMode?: LockMode.PESSIMISTIC_WRITE },
  );
  open.sort((a, b) => a.id - b.id);
  const to = status === 'EXPIRED' ? TicketStatus.EXPIRED : TicketStatus.CANCELED;
  for (const t of open) closeTicket(em, t, to, now, note);
  return open.length;
}
