import type { EntityManager } from '@mikro-orm/core';
import type { AppRole } from '../apps/app-kind.js';
import type { TicketKind, TicketStatus } from './ticket-kind.js';

/** A ticket as read models and other modules see it: plain data. */
export interface TicketRecord {
  id: number;
  kind: TicketKind;
  /**
   * As it reads now: an OPEN ticket past `expiresAt` reads EXPIRED even before its row is
   * marked (see `effectiveStatus`).
   */
  status: TicketStatus;
  appId: number;
  /** The app's name when the ticket was opened. */
  app: string;
  /** The release it approves (RELEASE_APPROVAL); the releases module resolves it. */
  releaseId: number | null;
  requesterId: number;
  requester: string;
  /** The role asked for (ACCESS_REQUEST). */
  role: AppRole | null;
  reason: string;
  decidedBy: string | null;
  comment: string | null;
  createdAt: Date;
  decidedAt: Date | null;
  expiresAt: Date;
}

/**
 * Lets the module behind a ticket kind act on a decision in the deciding transaction (`em`):
 * run by `approveTicket`/`rejectTicket` after the ticket row is updated and flushed. A hook
 * that throws rolls the whole decision back (the ticket stays OPEN) and its error is the
 * caller's answer. `actor` is the decider's username. Registered per kind in
 * `DomainDeps.ticketDecisionHooks`.
 */
export type TicketDecisionHook = (
  em: EntityManager,
  ticket: TicketRecord,
  decision: 'APPROVED' | 'REJECTED',
  actor: string,
) => Promise<void>;
