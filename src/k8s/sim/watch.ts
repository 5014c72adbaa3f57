/** Watch streams: chunked, one JSON event per line; replay from a resourceVersion, synthetic ADDED, bookmarks, 410. */
import type { ServerResponse } from 'node:http';
import { expired, tooLargeResourceVersion } from './errors.js';
import { apiVersionOf, type ResourceDef } from './resources.js';
import type { LabelMatcher, ObjMatcher } from './selectors.js';
import type { Store } from './store.js';
import { toTable, type IncludeObject } from './tables.js';
import type { KObject, Obj, WatchEventRecord } from './types.js';

export interface WatchParams {
  def: ResourceDef;
  namespace?: string;
  labels: LabelMatcher;
  fields: ObjMatcher;
  resourceVersion?: string;
  allowBookmarks: boolean;
  timeoutSeconds?: number;
  sendInitialEvents: boolean;
  /** Serve events as Tables (kubectl get -w). */
  table?: IncludeObject;
  /** Storage form → requested API version. */
  external: (o: Obj) => Obj;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export class WatchHub {
  private readonly open = new Set<() => void>();

  constructor(
    private readonly store: Store,
    private readonly bookmarkMs: () => number,
  ) {}

  get openWatches(): number {
    return this.open.size;
  }

  /** Ends every open watch (close of the server). */
  closeAll(): void {
    for (const end of [...this.open]) end();
  }

  /** Serves a watch on `res` (the caller has validated parameters). */
  serve(res: ServerResponse, p: WatchParams): void {
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    res.socket?.setTimeout(0);
    res.socket?.setNoDelay(true);

    let ended = false;
    const timers: NodeJS.Timeout[] = [];
    // Nothing to undo until the watch has subscribed (below, after the initial events).
    let unsubscribe = (): void => {};
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.open.delete(end);
      for (const t of timers) {
        clearTimeout(t);
        clearInterval(t);
      }
      unsubscribe();
      if (!res.writableEnded) res.end();
    };
    this.open.add(end);
    res.on('close', end);
    res.on('error', end);

    const write = (type: EventType, object: Obj): void => {
      if (ended) return;
      res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const matches = (obj: Obj | undefined): boolean => {
      const o = obj as KObject | undefined;
      return (
        !!o &&
        (p.namespace === undefined || o.metadata?.namespace === p.namespace) &&
        p.labels(o.metadata?.labels ?? {}) &&
        p.fields(o)
      );
    };
    const render = (o: Obj): Obj => {
      if (p.table)
        return toTable(
          p.def.kind,
          [o],
          String((o as KObject).metadata.resourceVersion),
          p.table,
          p.external,
        );
      const out = p.external(o);
      return out;
    };
    const deliver = (e: WatchEventRecord): void => {
      if (e.storeKey !== p.def.storeKey) return;
      const now = matches(e.object);
      const before = e.type === 'ADDED' ? false : matches(e.prev);
      if (e.type === 'ADDED') {
        if (now) write('ADDED', render(e.object));
      } else if (e.type === 'MODIFIED') {
        if (now && before) write('MODIFIED', render(e.object));
        else if (now) write('ADDED', render(e.object));
        else if (before) write('DELETED', render(e.object));
      } else if (now || before) write('DELETED', render(e.object));
    };
    const bookmark = (annotations?: Obj): void => {
      const metadata: Obj = { resourceVersion: String(this.store.resourceVersion) };
      if (annotations) metadata.annotations = annotations;
      write('BOOKMARK', { kind: p.def.kind, apiVersion: apiVersionOf(p.def), metadata });
    };

    const rv = p.resourceVersion;
    if (p.sendInitialEvents || !rv || rv === '0') {
      for (const o of this.store.list(p.def.storeKey, p.def.namespaced ? p.namespace : undefined))
        if (matches(o)) write('ADDED', render(o));
      if (p.sendInitialEvents) bookmark({ 'k8s.io/initial-events-end': 'true' });
    } else {
      const since = Number(rv);
      if (since > this.store.resourceVersion) {
        // A resourceVersion from this server's future (the client watched a previous incarnation):
        // the apiserver's watch cache answers an ERROR event, not a silent stream (see ADR 0003).
        write('ERROR', tooLargeResourceVersion(since, this.store.resourceVersion).toStatus());
        end();
        return;
      }
      const events = this.store.eventsSince(since);
      if (!events) {
        const oldest = this.store.oldestWatchableRv + 1;
        write('ERROR', expired(`too old resource version: ${since} (${oldest})`).toStatus());
        end();
        return;
      }
      for (const e of events) deliver(e);
    }
    unsubscribe = this.store.subscribe(deliver);
    if (p.allowBookmarks) {
      const t = setInterval(() => bookmark(), Math.max(10, this.bookmarkMs()));
      timers.push(t);
    }
    if (p.timeoutSeconds !== undefined && p.timeoutSeconds > 0)
      timers.push(setTimeout(end, p.timeoutSeconds * 1000));
  }
}
