/** Records core v1 Events like client-go's recorder (with count aggregation of identical events). */
import { eventName, newUid, rfc3339 } from './names.js';
import type { Store } from './store.js';
import type { CoreEvent, Namespace, ObjectReference, Stored } from './kinds.js';

export interface EventSource {
  component: string;
  host?: string;
}

export class EventRecorder {
  /** Aggregation key → event name (so repeated events do not scan the namespace's events). */
  private readonly byKey = new Map<string, { ns: string; name: string }>();

  constructor(private readonly store: Store) {}

  /** Emits an event about `obj`. Identical (object, reason, message, source) events bump `count`. */
  record(
    obj: Stored,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    source: EventSource,
    fieldPath?: string,
  ): void {
    const ns = obj.metadata?.namespace ?? 'default';
    // No events in a missing or terminating namespace (the apiserver refuses to create them there).
    const namespace = this.store.get('namespaces', undefined, ns) as Namespace | undefined;
    if (!namespace || namespace.metadata.deletionTimestamp) return;
    const involved: ObjectReference = {
      kind: obj.kind,
      namespace: ns,
      name: obj.metadata.name,
      uid: obj.metadata.uid,
      apiVersion: obj.apiVersion,
      resourceVersion: obj.metadata.resourceVersion,
    };
    if (fieldPath) involved.fieldPath = fieldPath;
    const now = Date.now();
    const key = JSON.stringify([
      involved.uid,
      fieldPath ?? '',
      type,
      reason,
      message,
      source.component,
    ]);
    const ref = this.byKey.get(key);
    const existing = ref
      ? (this.store.get('events', ref.ns, ref.name) as CoreEvent | undefined)
      : undefined;
    if (existing) {
      existing.count = (existing.count ?? 1) + 1;
      existing.lastTimestamp = rfc3339(now);
      existing.involvedObject = involved;
      this.store.put('events', existing);
      return;
    }
    const ev: Stored<CoreEvent> = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: eventName(obj.metadata.name),
        namespace: ns,
        uid: newUid(),
        creationTimestamp: rfc3339(now),
      },
      involvedObject: involved,
      reason,
      message,
      source: source.host
        ? { component: source.component, host: source.host }
        : { component: source.component },
      firstTimestamp: rfc3339(now),
      lastTimestamp: rfc3339(now),
      count: 1,
      type,
      eventTime: null,
      reportingComponent: source.component,
      reportingInstance: source.host ?? '',
    };
    this.store.put('events', ev);
    this.byKey.set(key, { ns, name: ev.metadata.name });
    if (this.byKey.size > 50_000) this.byKey.clear();
  }
}
