/** Garbage collection via ownerReferences: objects whose owners are all gone are deleted (Background policy). */
import type { Registry } from './registry.js';
import { RESOURCES } from './resources.js';
import type { Obj } from './types.js';

export class GarbageCollector {
  constructor(private readonly registry: Registry) {}

  /** One sweep; returns how many deletions it started. */
  sweep(): number {
    const uids = this.registry.store.allUids();
    let n = 0;
    for (const def of RESOURCES) {
      if (def.toExternal) continue;
      for (const o of this.registry.list(def, undefined)) {
        const refs: Obj[] = o.metadata?.ownerReferences ?? [];
        if (!refs.length || o.metadata.deletionTimestamp) continue;
        if (refs.some((r) => uids.has(r.uid))) continue;
        try {
          this.registry.delete(def, o.metadata.namespace, o.metadata.name, { propagationPolicy: 'Background' });
          n++;
        } catch {
          // raced with another delete
        }
      }
    }
    return n;
  }
}
