/**
 * Namespace lifecycle as the apiserver and the namespace controller run it: a DELETE marks the
 * namespace Terminating (deletionTimestamp, status.phase), creating in it is refused (the
 * NamespaceLifecycle admission plugin's 403), and the controller deletes its contents and
 * removes the namespace once nothing is left.
 */
import { qualifiedResource, StatusError, type ResourceRef } from './errors.js';
import { rfc3339 } from './names.js';
import type { Registry } from './registry.js';
import { RESOURCES, type ResourceDef } from './resources.js';
import type { Condition, Obj, SimTiming } from './types.js';
import type { Namespace, Stored } from './kinds.js';

/** Namespaces the apiserver never lets go. */
export const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

function forbidden(r: ResourceRef, name: string, why: string): StatusError {
  const what = name ? `${qualifiedResource(r)} "${name}"` : qualifiedResource(r);
  const details: Record<string, string> = { name };
  if (r.group) details.group = r.group;
  details.kind = r.resource;
  return new StatusError(403, 'Forbidden', `${what} is forbidden: ${why}`, details);
}

/** 403 for a create in a namespace being terminated (NamespaceLifecycle admission). */
export function namespaceTerminating(def: ResourceRef, name: string, ns: string): StatusError {
  const err = forbidden(
    def,
    name,
    `unable to create new content in namespace ${ns} because it is being terminated`,
  );
  (err.details as Obj).causes = [
    {
      reason: 'NamespaceTerminating',
      message: `namespace ${ns} is being terminated`,
      field: 'metadata.namespace',
    },
  ];
  return err;
}

export function namespaceUndeletable(name: string): StatusError {
  return forbidden(
    { group: '', resource: 'namespaces', kind: 'Namespace' },
    name,
    'this namespace may not be deleted',
  );
}

/** 409 for a DELETE of a namespace that is already terminating (the namespace REST storage). */
export function namespaceAlreadyTerminating(name: string): StatusError {
  return new StatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on namespaces "${name}": The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.`,
    { name, kind: 'namespaces' },
  );
}

/** Storage-form namespaced resources (what a namespace can hold). */
function namespacedDefs(): ResourceDef[] {
  return RESOURCES.filter((r) => r.namespaced && !r.toExternal && !r.virtual);
}

function cond(
  type: string,
  status: string,
  reason: string,
  message: string,
  prev: Condition[] | undefined,
): Condition {
  const old = (prev ?? []).find((c) => c.type === type);
  const lastTransitionTime = old && old.status === status ? old.lastTransitionTime : rfc3339();
  return { type, status, lastTransitionTime, reason, message };
}

/** The namespace controller: empties terminating namespaces, then removes them. */
export class NamespaceController {
  /** When this controller first saw each terminating namespace (deletionTimestamp has only whole seconds). */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly registry: Registry,
    private readonly timing: SimTiming,
  ) {}

  sync(ns: Stored<Namespace>, now = Date.now()): void {
    const ts = ns.metadata.deletionTimestamp;
    if (!ts) return;
    // The controller's first pass comes a moment after the DELETE (kubectl's next deletions in the same file land first).
    const uid = ns.metadata.uid;
    if (!this.seen.has(uid)) this.seen.set(uid, now);
    if (now < (this.seen.get(uid) as number) + this.timing.namespaceDeleteDelayMs) return;
    const name = ns.metadata.name;
    const remaining: string[] = [];
    for (const def of namespacedDefs()) {
      const objects = this.registry.list(def, name) as Stored[];
      if (!objects.length) continue;
      remaining.push(
        `${def.group ? `${def.resource}.${def.group}` : `${def.resource}.`} has ${objects.length} resource instances`,
      );
      for (const o of objects) {
        if (o.metadata.deletionTimestamp) continue;
        try {
          this.registry.delete(def, name, o.metadata.name, { propagationPolicy: 'Background' });
        } catch {
          // raced with another delete
        }
      }
    }
    const left = namespacedDefs().some((def) => this.registry.list(def, name).length > 0);
    if (!left) {
      const live = this.registry.store.get('namespaces', undefined, name) as Namespace | undefined;
      if (live && live.metadata.uid === ns.metadata.uid)
        this.registry.store.remove('namespaces', undefined, name);
      this.seen.delete(uid);
      return;
    }
    const prev = ns.status?.conditions;
    const conditions = [
      cond(
        'NamespaceDeletionDiscoveryFailure',
        'False',
        'ResourcesDiscovered',
        'All resources successfully discovered',
        prev,
      ),
      cond(
        'NamespaceDeletionGroupVersionParsingFailure',
        'False',
        'ParsedGroupVersions',
        'All legacy kube types successfully parsed',
        prev,
      ),
      cond(
        'NamespaceDeletionContentFailure',
        'False',
        'ContentDeleted',
        'All content successfully deleted, may be waiting on finalization',
        prev,
      ),
      cond(
        'NamespaceContentRemaining',
        'True',
        'SomeResourcesRemain',
        `Some resources are remaining: ${remaining.sort().join(', ')}`,
        prev,
      ),
      cond(
        'NamespaceFinalizersRemaining',
        'False',
        'ContentHasNoFinalizers',
        'All content-preserving finalizers finished',
        prev,
      ),
    ];
    const live = this.registry.store.get('namespaces', undefined, name) as Namespace | undefined;
    if (!live || live.metadata.uid !== ns.metadata.uid) return;
    if (JSON.stringify(live.status?.conditions) === JSON.stringify(conditions)) return;
    live.status = { ...(live.status ?? {}), phase: 'Terminating', conditions };
    this.registry.store.put('namespaces', live);
  }
}
