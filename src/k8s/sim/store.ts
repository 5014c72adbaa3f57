/** The object store: one global resourceVersion counter, buckets per resource, and a bounded watch history. */
import type { ClusterDataDir, PersistedState, StoredObject } from './persistence.js';
import type { KObject, Obj, WatchEventRecord } from './types.js';

export interface StoreOptions {
  historyWindowMs: number;
  historyMaxEvents: number;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

export class Store {
  private rv = 0;
  private readonly buckets = new Map<string, Map<string, KObject>>();
  private history: WatchEventRecord[] = [];
  /** Events with rv ≤ compactedRv are gone from the history. */
  private compactedRv = 0;
  private readonly listeners = new Set<(e: WatchEventRecord) => void>();
  private data?: ClusterDataDir;

  constructor(private readonly opts: StoreOptions) {}

  /**
   * Loads `state` (objects and resourceVersion of a previous run) into this empty store and
   * journals every later write to `data`. The watch history starts empty at the loaded
   * resourceVersion: a watch from an older one gets 410 Expired and relists.
   */
  restore(state: PersistedState, data: ClusterDataDir): void {
    for (const { storeKey, object: o } of state.objects)
      this.bucket(storeKey).set(Store.id(o.metadata.namespace, o.metadata.name), clone(o));
    this.rv = state.resourceVersion;
    this.compactedRv = this.rv;
    this.data = data;
  }

  /** Every stored object with its bucket (what a snapshot holds). */
  private allObjects(): StoredObject[] {
    const out: StoredObject[] = [];
    for (const [storeKey, b] of this.buckets)
      for (const object of b.values()) out.push({ storeKey, object });
    return out;
  }

  private journaled(full: boolean): void {
    if (full) this.data?.writeSnapshot(this.rv, this.allObjects());
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Oldest resourceVersion a watch may start from. */
  get oldestWatchableRv(): number {
    return this.compactedRv;
  }

  private bucket(key: string): Map<string, KObject> {
    let b = this.buckets.get(key);
    if (!b) {
      b = new Map();
      this.buckets.set(key, b);
    }
    return b;
  }

  private static id(ns: string | undefined, name: string | undefined): string {
    return `${ns ?? ''}/${name}`;
  }

  get(storeKey: string, ns: string | undefined, name: string): Obj | undefined {
    const o = this.bucket(storeKey).get(Store.id(ns, name));
    return o ? clone(o) : undefined;
  }

  has(storeKey: string, ns: string | undefined, name: string): boolean {
    return this.bucket(storeKey).has(Store.id(ns, name));
  }

  /** Objects of a bucket (optionally one namespace), sorted by namespace/name. */
  list(storeKey: string, ns?: string): Obj[] {
    const out: KObject[] = [];
    for (const o of this.bucket(storeKey).values())
      if (ns === undefined || o.metadata?.namespace === ns) out.push(clone(o));
    return out.sort((a, b) => {
      const ka = Store.id(a.metadata.namespace, a.metadata.name);
      const kb = Store.id(b.metadata.namespace, b.metadata.name);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
  }

  /**
   * Objects of a bucket (optionally one namespace) for which `pred` holds; `pred` sees the stored object and
   * must not modify it. Only matches are cloned.
   */
  listWhere(storeKey: string, ns: string | undefined, pred: (o: Readonly<Obj>) => boolean): Obj[] {
    const out: Obj[] = [];
    for (const o of this.bucket(storeKey).values())
      if ((ns === undefined || o.metadata?.namespace === ns) && pred(o)) out.push(clone(o));
    return out;
  }

  /** UIDs of every stored object except events (the possible owners, for GC). */
  allUids(): Set<string> {
    const s = new Set<string>();
    for (const [key, b] of this.buckets) {
      if (key === 'events') continue; // events own nothing
      for (const o of b.values()) if (o.metadata?.uid) s.add(o.metadata.uid);
    }
    return s;
  }

  bucketKeys(): string[] {
    return [...this.buckets.keys()];
  }

  /** Writes (create or replace) and bumps the resourceVersion. Returns the stored copy. */
  put(storeKey: string, obj: Obj): Obj {
    const b = this.bucket(storeKey);
    const o = clone(obj) as KObject;
    const id = Store.id(o.metadata.namespace, o.metadata.name);
    const prev = b.get(id);
    o.metadata.resourceVersion = String(++this.rv);
    b.set(id, o);
    if (this.data) this.journaled(this.data.put(this.rv, storeKey, o));
    this.record({
      type: prev ? 'MODIFIED' : 'ADDED',
      storeKey,
      rv: this.rv,
      object: clone(o),
      prev,
      time: Date.now(),
    });
    return clone(o);
  }

  remove(storeKey: string, ns: string | undefined, name: string): Obj | undefined {
    const b = this.bucket(storeKey);
    const id = Store.id(ns, name);
    const prev = b.get(id);
    if (!prev) return undefined;
    b.delete(id);
    const o = clone(prev);
    o.metadata.resourceVersion = String(++this.rv);
    if (this.data) this.journaled(this.data.remove(this.rv, storeKey, ns, name));
    this.record({
      type: 'DELETED',
      storeKey,
      rv: this.rv,
      object: clone(o),
      prev,
      time: Date.now(),
    });
    return o;
  }

  private readonly pending: WatchEventRecord[] = [];
  private dispatching = false;

  /** Appends to the history and notifies listeners in resourceVersion order, even when a listener writes. */
  private record(e: WatchEventRecord): void {
    this.history.push(e);
    this.trim();
    this.pending.push(e);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let next = this.pending.shift(); next; next = this.pending.shift()) {
        for (const l of [...this.listeners]) {
          try {
            l(next);
          } catch {
            // a listener failure must not break writes
          }
        }
      }
    } finally {
      this.dispatching = false;
    }
  }

  private trim(): void {
    const cutoff = Date.now() - this.opts.historyWindowMs;
    let drop = 0;
    while (
      drop < this.history.length &&
      (this.history[drop].time < cutoff || this.history.length - drop > this.opts.historyMaxEvents)
    )
      drop++;
    if (drop > 0) {
      this.compactedRv = this.history[drop - 1].rv;
      this.history = this.history.slice(drop);
    }
  }

  /** Drops the whole watch history (test hook: makes every older resourceVersion "too old"). */
  compact(): void {
    this.history = [];
    this.compactedRv = this.rv;
  }

  /** Events with rv > sinceRv, or undefined when sinceRv is older than the history (410 Expired). */
  eventsSince(sinceRv: number): WatchEventRecord[] | undefined {
    this.trim();
    if (sinceRv < this.compactedRv) return undefined;
    return this.history.filter((e) => e.rv > sinceRv);
  }

  subscribe(fn: (e: WatchEventRecord) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
