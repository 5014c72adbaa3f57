/**
 * Releases and approval tickets: the engine opens a RELEASE_APPROVAL ticket when a release
 * needs one and closes it when the release is canceled or the ticket expires; a decision on
 * the ticket reaches the release through the tickets module's decision hook, in the deciding
 * transaction (the release records the decision; the engine acts on it).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { DomainDeps } from '../shared/domain-context.js';
import { conflict } from '../shared/errors.js';
import {
  TicketKind,
  closeReleaseTickets,
  openReleaseApprovalTicket,
} from '../tickets/ticket.service.js';
import { Release } from './release.entity.js';
import { ReleaseStatus } from './release-model.js';

/** Opens and closes approval tickets (what the engine needs of the tickets module). */
export interface ReleaseApprovals {
  /** Opens a RELEASE_APPROVAL ticket inside `em`'s transaction; returns its id and expiry. */
  open(
    em: EntityManager,
    r: {
      appId: number;
      app: string;
      releaseId: number;
      requesterId: number;
      requester: string;
      reason: string;
    },
  ): Promise<{ id: number; expiresAt: Date }>;
  /** Closes the release's OPEN tickets (EXPIRED or CANCELED) inside `em`'s transaction. */
  close(
    em: EntityManager,
    releaseId: number,
    status: 'EXPIRED' | 'CANCELED',
    comment: string,
  ): Promise<number>;
}

export function releaseApprovals(deps: DomainDeps): ReleaseApprovals {
  return {
    open: async (em, r) => {
      const t = await openReleaseApprovalTicket(em, deps, r);
      return { id: t.id, expiresAt: t.expiresAt };
    },
    close: (em, releaseId, status, comment) => closeReleaseTickets(em, releaseId, status, comment),
  };
}

/**
 * Registers the RELEASE_APPROVAL decision hook: the release waiting on the ticket records the
 * decision (who, and their comment) and becomes due; engines are signalled. A release that no
 * longer waits (canceled meanwhile) refuses the decision, so the ticket stays as it was.
 */
export function registerReleaseApprovalHook(deps: DomainDeps): void {
  deps.ticketDecisionHooks[TicketKind.RELEASE_APPROVAL] = async (em, ticket, decision, actor) => {
    if (ticket.releaseId == null) return;
    const note = `${decision === 'APPROVED' ? 'Approved' : 'Rejected'} by ${actor}${ticket.comment ? `: ${ticket.comment}` : ''}`;
    const changed = await em.nativeUpdate(
      Release,
      { id: ticket.releaseId, status: ReleaseStatus.AWAITING_APPROVAL, approval: null },
      { approval: decision, approvalNote: note, nextRunAt: null },
    );
    if (changed !== 1) {
      const r = await em.findOne(Release, { id: ticket.releaseId }, { fields: ['id', 'status'] });
      // A release that ended meanwhile (canceled, expired) refuses the decision; the ticket stays as it was.
      if (r)
        throw conflict(`Release #${ticket.releaseId} no longer waits for approval (${r.status}).`);
      return;
    }
    // The row stays locked until the decision commits: an engine that looks now waits for it.
    deps.onReleaseSignal?.(ticket.releaseId);
  };
}
