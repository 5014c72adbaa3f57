/** Garbage collection via ownerReferences: objects whose owners are all gone are deleted (Background policy). */
import { FOREGROUND, type Registry } from './registry.js';
import { RESOURCES } from './resources.js';
import type { CoreEvent, Stored } from './kinds.js';

export class GarbageCollector {
  constructor(private readonly registry: Registry) {}

  /** One sweep; returns how many deletions it started. */
  sweep(): number {
    const uids = this.registry.store.allUids();
    let n = 0;
    for (const def of RESOURCES) {
      if (def.toExternal || def.storeKey === 'events') continue;
      const orphans = this.registry.listWhere(def, undefined, (obj) => {
        const o = obj as Stored;
        const refs = o.metadata?.ownerReferences ?? [];
        return (
          refs.length > 0 && !o.metadata.deletionTimestamp && !refs.some((r) => uids.has(r.uid))
        );
      }) as Stored[];
      for (const o of orphans) {
        try {
          this.registry.delete(def, o.metadata.namespace, o.metadata.name, {
            propagationPolicy: 'Background',
          });
          n++;
        } catch {
          // raced with another delete
        }
      }
    }
    return n + this.foreground();
  }

  /** Owners being deleted in the foreground: delete their dependents; remove the owner once none are left. */
  private foreground(): number {
    let n = 0;
    for (const def of RESOURCES) {
      if (def.toExternal || def.storeKey === 'events') continue;
      const owners = this.registry.listWhere(def, undefined, (obj) => {
        const o = obj as Stored;
        return (
          !!o.metadata?.deletionTimestamp && (o.metadata.finalizers ?? []).includes(FOREGROUND)
        );
      }) as Stored[];
      for (const owner of owners) {
        const deps = this.registry.dependentsOf(owner.metadata.uid);
        if (!deps.length) {
          this.registry.store.remove(def.storeKey, owner.metadata.namespace, owner.metadata.name);
          n++;
          continue;
        }
        for (const { def: dd, object } of deps) {
          const meta = (object as Stored).metadata;
          if (meta.deletionTimestamp) continue;
          try {
            this.registry.delete(dd, meta.namespace, meta.name, {
              propagationPolicy: 'Foreground',
            });
            n++;
          } catch {
            // raced with another delete
          }
        }
      }
    }
    return n;
  }

  /** Deletes events last seen more than `ttlMs` ago (the apiserver's event TTL). */
  expireEvents(ttlMs: number, now = Date.now()): number {
    const events = RESOURCES.find((r) => r.storeKey === 'events' && !r.toExternal);
    if (!events) return 0;
    const old = this.registry.listWhere(events, undefined, (obj) => {
      const e = obj as CoreEvent;
      const t = Date.parse(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? '');
      return Number.isFinite(t) && t + ttlMs < now;
    }) as Stored<CoreEvent>[];
    for (const e of old)
      this.registry.store.remove('events', e.metadata.namespace, e.metadata.name);
    return old.length;
  }
}
