import {
  type AppendOptions,
  ConsumingEventStream,
  type GroupEntry,
  type GroupReader,
  type StreamEntry,
} from './event-stream.js';

/** Options for {@link InProcessEventStream}. */
export interface InProcessEventStreamOptions {
  /** Default length cap for `append` (exact here, approximate in Redis). Default: 100 000. */
  maxLen?: number;
}

interface Stored {
  streamId: string;
  /** `streamId` as numbers, parsed once: `<ms>-<seq>`. */
  ms: number;
  seq: number;
  id: string;
  json: string;
}
interface Group {
  lastDelivered: string;
  pending: Map<string, { consumer: string; deliveredAt: number }>;
}
interface State {
  entries: Stored[];
  lastMs: number;
  seq: number;
  groups: Map<string, Group>;
  waiters: Set<() => void>;
}

/** `<ms>-<seq>` (or `<ms>`) as numbers; NaN for anything else. */
function parseId(id: string): [number, number] {
  const dash = id.indexOf('-');
  return dash < 0 ? [Number(id), 0] : [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}

/** Orders `<ms>-<seq>` ids numerically, as Redis does. */
function cmp(a: string, b: string): number {
  const [am, as] = parseId(a);
  const [bm, bs] = parseId(b);
  return am - bm || as - bs;
}

/**
 * Index of the first entry whose id is after `id` (`inclusive`: at or after). Entries are in id
 * order (ids only grow), so a binary search: a read costs O(log n) to find its place, not a
 * scan of the whole stream (which made every read O(n): 20% of the CPU of a 200-release run).
 * An id that is not one (NaN) is after every entry, as the numeric comparison had it.
 */
function indexAfter(entries: Stored[], id: string, inclusive = false): number {
  const [m, q] = parseId(id);
  if (Number.isNaN(m) || Number.isNaN(q)) return entries.length;
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = entries[mid];
    const before = e.ms < m || (e.ms === m && (inclusive ? e.seq < q : e.seq <= q));
    if (before) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Embedded-mode {@link EventStream}: Redis Streams semantics (ids, groups, pending lists,
 * claims) in memory, so the consumer loop and its tests are the same in both modes. Lost on
 * exit, which embedded mode accepts: the outbox rows in the database are the durable copy.
 */
export class InProcessEventStream extends ConsumingEventStream {
  private readonly streams = new Map<string, State>();
  private readonly maxLen: number;

  constructor(opts: InProcessEventStreamOptions = {}) {
    super();
    this.maxLen = opts.maxLen ?? 100_000;
  }

  append(
    stream: string,
    entry: { id?: string; body: object },
    opts: AppendOptions = {},
  ): Promise<string> {
    // The executor turns a throw (an unserializable body) into a rejection, as from Redis.
    return new Promise((resolve) => resolve(this.appendNow(stream, entry, opts)));
  }

  private appendNow(
    stream: string,
    entry: { id?: string; body: object },
    opts: AppendOptions,
  ): string {
    const s = this.state(stream);
    const now = Date.now();
    if (now > s.lastMs) {
      s.lastMs = now;
      s.seq = 0;
    } else s.seq++;
    const streamId = `${s.lastMs}-${s.seq}`;
    s.entries.push({
      streamId,
      ms: s.lastMs,
      seq: s.seq,
      id: entry.id ?? crypto.randomUUID(),
      json: JSON.stringify(entry.body),
    });
    this.trimState(s, opts.maxLen ?? this.maxLen);
    for (const w of [...s.waiters]) w();
    return streamId;
  }

  read(stream: string, afterId = '0', count = 100): Promise<StreamEntry[]> {
    const s = this.state(stream);
    const from = indexAfter(s.entries, afterId);
    return Promise.resolve(
      s.entries.slice(from, from + count).map((e) => ({
        streamId: e.streamId,
        id: e.id,
        body: JSON.parse(e.json) as Record<string, unknown>,
      })),
    );
  }

  trim(stream: string, maxLen: number): Promise<number> {
    return Promise.resolve(this.trimState(this.state(stream), maxLen));
  }

  protected ensureGroup(stream: string, group: string, startId: string): Promise<void> {
    const s = this.state(stream);
    if (!s.groups.has(group)) {
      const last = s.entries.at(-1)?.streamId ?? '0-0';
      s.groups.set(group, { lastDelivered: startId === '$' ? last : startId, pending: new Map() });
    }
    return Promise.resolve();
  }

  protected ack(stream: string, group: string, streamIds: string[]): Promise<void> {
    const g = this.state(stream).groups.get(group);
    for (const id of streamIds) g?.pending.delete(id);
    return Promise.resolve();
  }

  protected claim(
    stream: string,
    group: string,
    consumer: string,
    minIdleMs: number,
  ): Promise<number> {
    const g = this.state(stream).groups.get(group);
    if (!g) return Promise.resolve(0);
    const now = Date.now();
    let n = 0;
    for (const p of g.pending.values()) {
      if (now - p.deliveredAt >= minIdleMs) {
        p.consumer = consumer;
        p.deliveredAt = now;
        n++;
      }
    }
    return Promise.resolve(n);
  }

  protected openReader(): GroupReader {
    let closed = false;
    let cancel: (() => void) | undefined;
    return {
      read: async (stream, group, consumer, mode, count, blockMs) => {
        const s = this.state(stream);
        const g = s.groups.get(group);
        if (!g) throw new Error(`NOGROUP ${group} on ${stream}`);
        if (mode === 'pending') {
          const byId = (sid: string): Stored | undefined => {
            const e = s.entries[indexAfter(s.entries, sid, true)];
            return e?.streamId === sid ? e : undefined;
          };
          return [...g.pending.entries()]
            .filter(([, p]) => p.consumer === consumer)
            .map(([sid]) => sid)
            .sort(cmp)
            .slice(0, count)
            .map((sid): GroupEntry => {
              const e = byId(sid);
              return e
                ? { streamId: sid, id: e.id, body: JSON.parse(e.json) as Record<string, unknown> }
                : { streamId: sid, id: '', body: null };
            });
        }
        const take = (): GroupEntry[] => {
          const from = indexAfter(s.entries, g.lastDelivered);
          const fresh = s.entries.slice(from, from + count);
          const now = Date.now();
          for (const e of fresh) g.pending.set(e.streamId, { consumer, deliveredAt: now });
          if (fresh.length) g.lastDelivered = fresh.at(-1)!.streamId;
          return fresh.map((e) => ({
            streamId: e.streamId,
            id: e.id,
            body: JSON.parse(e.json) as Record<string, unknown>,
          }));
        };
        const got = take();
        if (got.length || closed) return got;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, blockMs);
          function done(): void {
            clearTimeout(timer);
            s.waiters.delete(done);
            cancel = undefined;
            resolve();
          }
          s.waiters.add(done);
          cancel = done;
        });
        if (closed) throw new Error('reader closed');
        return take();
      },
      close: () => {
        closed = true;
        cancel?.();
      },
    };
  }

  protected async closeConnections(): Promise<void> {}

  private state(stream: string): State {
    let s = this.streams.get(stream);
    if (!s)
      this.streams.set(
        stream,
        (s = { entries: [], lastMs: 0, seq: 0, groups: new Map(), waiters: new Set() }),
      );
    return s;
  }

  private trimState(s: State, maxLen: number): number {
    const extra = s.entries.length - maxLen;
    if (extra <= 0) return 0;
    s.entries.splice(0, extra);
    return extra;
  }
}
