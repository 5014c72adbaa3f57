/**
 * The audit log: who asked for which mutation, on what, and how it ended. Written by the
 * GraphQL layer after each mutation, one entry per root field (src/resolvers/audit.plugin.ts);
 * read by platform admins (everything) and by app OWNERs (entries of their apps, matched by
 * app id so a reused name does not open an old app's history).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { KvStore } from '../../cache/kv-store.js';
import type { DomainContext } from '../shared/domain-context.js';
import { requireViewer } from '../shared/authz.js';
import { badInput, forbidden } from '../shared/errors.js';
import { actsAsAdmin } from '../people/viewer.js';
import { AppRole } from '../apps/app-kind.js';
import { getApp, roleOn, rolesOf } from '../apps/app.service.js';
import type { AuditEntry } from './audit-entry.entity.js';
import {
  findAuditEntries,
  insertAuditEntry,
  type AuditFilter,
  type NewAuditEntry,
} from './audit.repository.js';
import { redact } from './audit-redaction.js';
import { isWellFormedText, toWellFormedText } from '../shared/text.js';

export type { AuditFilter, NewAuditEntry };

export interface AuditRecord extends NewAuditEntry {
  id: string;
  at: Date;
}

function toRecord(e: AuditEntry): AuditRecord {
  return {
    id: String(e.id),
    at: e.at,
    actor: e.actor ?? null,
    operationName: e.operationName ?? null,
    rootField: e.rootField,
    target: e.target ?? null,
    app: e.app ?? null,
    appId: e.appId ?? null,
    outcome: e.outcome === 'OK' ? 'OK' : 'ERROR',
    errorCode: e.errorCode ?? null,
    args: typeof e.args === 'string' ? (JSON.parse(e.args) as Record<string, unknown>) : e.args,
  };
}

const clip = (s: string | null | undefined, n: number): string | null =>
  s == null ? null : toWellFormedText(s.slice(0, n));

/**
 * Stores one entry. `args` are redacted here, whatever the caller passed, so no code path
 * can store a secret by forgetting to.
 */
export async function recordAudit(em: EntityManager, e: NewAuditEntry): Promise<void> {
  await insertAuditEntry(em, {
    actor: clip(e.actor, 64),
    operationName: clip(e.operationName, 100),
    rootField: clip(e.rootField, 200) ?? '',
    target: clip(e.target, 100),
    // Only a name an app can have (a refused input may hold anything).
    app: e.app != null && e.app.length <= 40 && isWellFormedText(e.app) ? e.app : null,
    appId: e.app != null && e.app.length <= 40 && isWellFormedText(e.app) ? e.appId : null,
    outcome: e.outcome,
    errorCode: clip(e.errorCode, 64),
    args: redact(e.args) as Record<string, unknown>,
  });
}

/** Failed anonymous mutation entries recorded per client address within {@link ANONYMOUS_AUDIT_WINDOW_SECONDS}. */
export const AUDITED_ANONYMOUS_FAILURES = 50;
export const ANONYMOUS_AUDIT_WINDOW_SECONDS = 15 * 60;

/**
 * Bounds what callers who are not signed in can add to the audit log. Anyone can send
 * `mutation { a0: login(…) … a14: login(…) }` (15 failed entries a request, hundreds a
 * second): per client address, the first {@link AUDITED_ANONYMOUS_FAILURES} failed anonymous
 * entries of a window are recorded as usual, the next one is recorded as a notice that the
 * bound was reached, later ones are not recorded until the window ends. Counted in the shared
 * KV store, so replicas agree. Entries of signed-in callers and successes are always
 * recorded; if the KV store fails, the entry is recorded (the log errs on the side of more).
 * Returns the entry to write, or null to skip it.
 */
export async function boundAnonymousFailure(
  kv: KvStore,
  clientAddress: string | null | undefined,
  entry: NewAuditEntry,
): Promise<NewAuditEntry | null> {
  if (entry.actor != null || entry.outcome !== 'ERROR') return entry;
  let n: number;
  try {
    n = await kv.incr(`audit-anon:${clientAddress ?? 'unknown'}`, ANONYMOUS_AUDIT_WINDOW_SECONDS);
  } catch {
    return entry;
  }
  if (n <= AUDITED_ANONYMOUS_FAILURES) return entry;
  if (n > AUDITED_ANONYMOUS_FAILURES + 1) return null;
  return {
    ...entry,
    args: {
      auditBound: `More than ${AUDITED_ANONYMOUS_FAILURES} failed calls without sign-in from ${clientAddress ?? 'an unknown address'} within ${ANONYMOUS_AUDIT_WINDOW_SECONDS / 60} minutes: further ones are not recorded until the window ends.`,
    },
  };
}

const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

/**
 * What a mutation acts on, from its root field and arguments: `app` when it names an app
 * (an `app` argument, or the `name` of `*App` mutations), `target` for anything named.
 * Add a rule here when a mutation names its target differently.
 */
export function auditTargetOf(
  field: string,
  args: Record<string, unknown>,
): { target: string | null; app: string | null } {
  const input = (typeof args.input === 'object' && args.input !== null ? args.input : {}) as Record<
    string,
    unknown
  >;
  const named = str(args.name) ?? str(input.name);
  const app = str(args.app) ?? str(input.app) ?? (/App$/.test(field) ? named : null);
  const target =
    app ?? named ?? str(args.username) ?? str(input.username) ?? str(args.id) ?? str(input.id);
  return { target, app };
}

/**
 * The id of app `name` now, or null (no such app, no caller, or any failure: the audit log
 * must never fail a response). `ctx.em` should be a fresh EntityManager.
 */
export async function currentAppId(
  ctx: DomainContext,
  name: string | null | undefined,
): Promise<number | null> {
  if (!name || name.length > 40 || !ctx.viewer) return null;
  try {
    return (await getApp(ctx, name))?.id ?? null;
  } catch {
    return null;
  }
}

export interface AuditPage {
  items: AuditRecord[];
  hasNextPage: boolean;
}

function validateFilter(f: AuditFilter): void {
  for (const key of ['actor', 'app', 'operation'] as const) {
    const v = f[key];
    if (v != null && (v.length === 0 || v.length > 100))
      throw badInput(`filter.${key}`, `filter.${key} must be 1–100 characters.`);
  }
  if (f.since != null && Number.isNaN(f.since.getTime()))
    throw badInput('filter.since', 'filter.since is not a valid time.');
}

/** Ids of the apps whose audit entries the caller may read: undefined = all (platform admin). */
async function readableApps(
  ctx: DomainContext,
  filter: AuditFilter,
): Promise<number[] | undefined> {
  const viewer = requireViewer(ctx.viewer);
  if (actsAsAdmin(viewer)) return undefined;
  if (filter.app != null) {
    // Same answer whether the app does not exist or is not yours: the API leaks nothing.
    const app = await getApp(ctx, filter.app);
    if (!app || (await roleOn(ctx, app.id)) !== AppRole.OWNER)
      throw forbidden(`Only platform admins and OWNERs of "${filter.app}" may read its audit log.`);
    return [app.id];
  }
  const roles = await rolesOf(ctx, viewer.userId);
  const ownedIds = new Set(
    Object.entries(roles)
      .filter(([, r]) => r === AppRole.OWNER)
      .map(([id]) => Number(id)),
  );
  if (!ownedIds.size)
    throw forbidden('Only platform admins and app OWNERs may read the audit log.');
  return [...ownedIds];
}

/** Audit entries, newest first, keyset-paginated by id (`beforeId` = last id of the previous page). */
export async function listAuditLog(
  ctx: DomainContext,
  filter: AuditFilter,
  first: number,
  beforeId?: string,
): Promise<AuditPage> {
  requireViewer(ctx.viewer);
  validateFilter(filter);
  const appIds = await readableApps(ctx, filter);
  const rows = await findAuditEntries(ctx.em, filter, { beforeId, limit: first + 1, appIds });
  return { items: rows.slice(0, first).map(toRecord), hasNextPage: rows.length > first };
}
