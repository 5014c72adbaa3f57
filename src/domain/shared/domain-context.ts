import type { EntityManager } from '@mikro-orm/core';
import type { Cache } from '../../cache/cache.js';
import type { KvStore } from '../../cache/kv-store.js';
import type { Viewer } from '../people/viewer.js';
import type { EnvironmentLoaders } from '../settings/environment.loaders.js';
import type { TicketKind } from '../tickets/ticket-kind.js';
import type { TicketDecisionHook } from '../tickets/ticket.record.js';

/**
 * Checks run by `deleteApp` before it deletes `app` (after authorizing the caller): a guard
 * throws (e.g. CONFLICT) to refuse. Modules that the apps module must not import (workloads)
 * register theirs at start.
 */
export type AppDeletionGuard = ((
  ctx: DomainContext,
  app: { id: number; name: string },
) => Promise<void>) & {
  /**
   * Also run inside the deleting transaction, once the app row is locked for update (its
   * `ctx.em` is the transaction's): for a guard on rows whose writers lock the app row too,
   * so that a write racing the deletion cannot slip between the check and the delete.
   */
  inTransaction?: boolean;
};

/** Process-wide dependencies of the domain services (one set per running Phantom). */
export interface DomainDeps {
  cache: Cache;
  kv: KvStore;
  sessionTtlSeconds: number;
  /** Called after a transaction that wrote platform events commits (wakes the outbox relay). */
  onEventsCommitted: () => void;
  /** Run in order by `deleteApp` before the deletion; see {@link AppDeletionGuard}. */
  appDeletionGuards: AppDeletionGuard[];
  /**
   * Called after a transaction that changed a release's desired state commits (created,
   * cancel or promote asked, approval decided): wakes the release engine, on every replica.
   */
  onReleaseSignal?: (releaseId: number) => void;
  /** Called after a build was created or a cancel of it asked for: wakes the build engines, on every replica. */
  onBuildSignal?: (buildId: number) => void;
  /** How long approval tickets stay open, in hours (PHANTOM_TICKET_TTL_HOURS, default 72). */
  ticketTtlHours: number;
  /**
   * Per ticket kind, run by `approveTicket`/`rejectTicket` inside the deciding transaction
   * (see {@link TicketDecisionHook}); empty at start, modules register theirs.
   */
  ticketDecisionHooks: Partial<Record<TicketKind, TicketDecisionHook>>;
  /** Which private webhook destinations notifications may reach (PHANTOM_WEBHOOK_*); default none. */
  webhookPolicy?: { allowPrivate?: boolean; allowedHosts?: readonly string[] };
}

/** What every domain call gets: the caller, a request-scoped EntityManager and the deps. */
export interface DomainContext {
  em: EntityManager;
  viewer: Viewer | null;
  deps: DomainDeps;
  /**
   * The client's network address (behind trusted proxies: the forwarded one, see
   * PHANTOM_TRUST_PROXY); absent for calls that come from no client (workers, tests).
   * Sign-in throttling keys on it.
   */
  clientAddress?: string | null;
  /**
   * The request's environment loader, when the call comes from a GraphQL request: reads that
   * every item of a page repeats (`App.workloads(env)`) then cost one query per request.
   * Absent for workers and tests, which read directly.
   */
  environmentByName?: EnvironmentLoaders['environmentByName'];
}
