import type { EntityManager } from '@mikro-orm/core';
import type { Cache } from '../../cache/cache.js';
import type { KvStore } from '../../cache/kv-store.js';
import type { Viewer } from '../people/viewer.js';

/**
 * Checks run by `deleteApp` before it deletes `app` (after authorizing the caller): a guard
 * throws (e.g. CONFLICT) to refuse. Modules that the apps module must not import (workloads)
 * register theirs at start.
 */
export type AppDeletionGuard = (ctx: DomainContext, app: { id: number; name: string }) => Promise<void>;

/** Process-wide dependencies of the domain services (one set per running Phantom). */
export interface DomainDeps {
  cache: Cache;
  kv: KvStore;
  sessionTtlSeconds: number;
  /** Called after a transaction that wrote platform events commits (wakes the outbox relay). */
  onEventsCommitted: () => void;
  /** Run in order by `deleteApp` before the deletion; see {@link AppDeletionGuard}. */
  appDeletionGuards: AppDeletionGuard[];
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
}
