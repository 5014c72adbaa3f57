/**
 * A per-request slot where domain services say what a mutation acted on, for the audit log.
 *
 * The audit plugin (src/resolvers/audit.plugin.ts) guesses the target from a root field's
 * arguments (`auditTargetOf`), which fails when a mutation names only an opaque id
 * (`deleteNotificationRoute(id)`): the entry would have no app, and the app's OWNERs could
 * not read it. A service that knows better calls {@link noteAuditTarget} with the
 * `DomainContext` it was given, once it has loaded the thing it acts on (before authorizing,
 * so refused attempts are filed under the app too). The plugin clears the slot before each
 * root field runs (root mutation fields run one after another) and reads it when the field
 * is done, so a note belongs to exactly one root field.
 *
 * Keyed by the request's DomainContext object (a WeakMap: nothing outlives the request and
 * DomainContext needs no extra field). Any module may call it; it never throws.
 */
import type { DomainContext } from '../shared/domain-context.js';

/** What a root field acted on. `app` = app name (lets its OWNERs read the entry). */
export interface AuditTarget {
  app?: string | null;
  target?: string | null;
}

const slots = new WeakMap<object, AuditTarget>();

/** Records what the current root field acts on; later calls in the same field override earlier ones per key. */
export function noteAuditTarget(ctx: DomainContext, t: AuditTarget): void {
  slots.set(ctx, { ...slots.get(ctx), ...t });
}

/** Returns and clears the note for `ctx` (the audit plugin, after each root field). */
export function takeAuditTarget(ctx: DomainContext): AuditTarget | undefined {
  const t = slots.get(ctx);
  slots.delete(ctx);
  return t;
}
