/**
 * Live build logs for this process's `buildLog` subscriptions. The build engine publishes
 * "build B has lines up to N" (and whether it ended) on the bus after each log flush; the
 * feed reads the new lines **once per build per process** and hands the same lines to every
 * watcher of that build, so a hundred people watching one build cost one read per flush, not
 * a hundred. A heartbeat (one statement for all watched builds) covers bus messages lost on
 * the way: offsets are dense, so a gap is always visible and filled from the table.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Bus } from '../../pubsub/index.js';
import type { PhantomTopics } from '../../pubsub/topics.js';
import { isBuildTerminal, type BuildLogLine } from './build-model.js';
import { logHeads, readLog } from './build.repository.js';

export const BUILD_LOG_TOPIC = 'buildLog';

/** Options for {@link BuildLogFeed}. */
export interface BuildLogFeedOptions {
  bus: Bus<PhantomTopics>;
  /** A fresh EntityManager. */
  em: () => EntityManager;
  /** Heartbeat while anyone watches: the longest a lost bus message delays a line. Default: 1000 ms. */
  pollMs?: number;
  /** Timer primitive (the engine's `every`): returns a stop function. */
  every: (ms: number, fn: () => void) => () => void;
  onError?: (err: unknown) => void;
}

/** What a watcher receives: lines in order (`nextOffset` = where to resume). */
export interface BuildLogChunk {
  offset: number;
  lines: BuildLogLine[];
  nextOffset: number;
}

interface Listener {
  lines(ls: BuildLogLine[]): void;
  /** The build ended; its log ends before `next`. */
  end(next: number): void;
}

interface Entry {
  listeners: Set<Listener>;
  /** Offset after the last line read and handed out. */
  head: number;
  /** Offset after the last line known to exist. */
  target: number;
  /** Set once the build ended: where its log ends. */
  endAt: number | null;
  endSent: boolean;
  reading: boolean;
}

const BATCH = 500;

export class BuildLogFeed {
  private readonly entries = new Map<number, Entry>();
  private offBus?: () => void;
  private stopTimer?: () => void;
  private beating = false;
  /** Statements this feed has run (tests assert they do not grow with the number of watchers). */
  reads = 0;

  constructor(private readonly opts: BuildLogFeedOptions) {}

  async start(): Promise<void> {
    this.offBus = this.opts.bus.subscribe(BUILD_LOG_TOPIC, (m) =>
      this.onHead(m.id, m.next, m.ended),
    );
    this.stopTimer = this.opts.every(this.opts.pollMs ?? 1000, () => void this.heartbeat());
    await this.opts.bus.ready();
  }

  stop(): void {
    this.stopTimer?.();
    this.offBus?.();
    this.entries.clear();
  }

  get watchedBuilds(): number {
    return this.entries.size;
  }

  /**
   * The log of build `id` from offset `from`, replayed from the table then live, ending once
   * the build ended and every line was handed out. The caller has authorized.
   */
  subscribe(id: number, from: number): AsyncIterableIterator<BuildLogChunk> {
    const queue: BuildLogChunk[] = [];
    const waiting: ((r: IteratorResult<BuildLogChunk>) => void)[] = [];
    let cursor = from;
    let ended = false;
    let endAt: number | null = null;
    let replaying = true;
    const buffered: (() => void)[] = [];
    const emit = (c: BuildLogChunk): void => {
      const w = waiting.shift();
      if (w) w({ value: c, done: false });
      else queue.push(c);
    };
    const maybeFinish = (): void => {
      if (endAt !== null && cursor >= endAt) finish();
    };
    const push = (ls: BuildLogLine[]): void => {
      if (ended) return;
      const fresh = ls.filter((l) => l.next > cursor);
      if (fresh.length) {
        const offset = cursor;
        cursor = fresh[fresh.length - 1].next;
        emit({ offset, lines: fresh, nextOffset: cursor });
      }
      maybeFinish();
    };
    const onEnd = (next: number): void => {
      endAt = next;
      maybeFinish();
    };
    const listener: Listener = {
      lines: (ls) => (replaying ? buffered.push(() => push(ls)) : push(ls)),
      end: (next) => (replaying ? buffered.push(() => onEnd(next)) : onEnd(next)),
    };
    let entry = this.entries.get(id);
    if (!entry) {
      entry = {
        listeners: new Set(),
        head: from,
        target: from,
        endAt: null,
        endSent: false,
        reading: false,
      };
      this.entries.set(id, entry);
    }
    entry.listeners.add(listener);
    const finish = (): void => {
      if (ended) return;
      ended = true;
      this.unlisten(id, listener);
      if (!queue.length) for (const w of waiting.splice(0)) w({ value: undefined, done: true });
    };
    // Replay what this watcher missed (its own read: nobody else needs it), then go live.
    const replayUpTo = entry.head;
    const knownEnd = entry.endSent ? entry.endAt : null;
    void (async () => {
      try {
        let at = from;
        while (at < replayUpTo && !ended) {
          const ls = await readLog(this.opts.em(), id, at, BATCH, replayUpTo);
          this.reads++;
          if (!ls.length) break;
          push(ls);
          at = ls[ls.length - 1].next;
        }
      } catch (err) {
        this.opts.onError?.(err);
      }
      replaying = false;
      for (const fn of buffered.splice(0)) fn();
      if (knownEnd !== null) onEnd(knownEnd);
      // Learn where the build stands now (a watcher of a quiet or finished build).
      if (!ended) void this.heartbeat([id]);
    })();
    const iterator: AsyncIterableIterator<BuildLogChunk> = {
      next: () => {
        const c = queue.shift();
        if (c) {
          if (ended && !queue.length)
            for (const w of waiting.splice(0)) w({ value: undefined, done: true });
          return Promise.resolve({ value: c, done: false });
        }
        if (ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => waiting.push(resolve));
      },
      return: () => {
        finish();
        queue.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
      throw: (e: unknown) => {
        finish();
        return Promise.reject(e);
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  private unlisten(id: number, l: Listener): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.listeners.delete(l);
    if (!e.listeners.size) this.entries.delete(id);
  }

  /** Build `id` has lines up to `next`; `ended`: and it is over. */
  private onHead(id: number, next: number, ended: boolean): void {
    const e = this.entries.get(id);
    if (!e) return;
    if (ended && e.endAt === null) e.endAt = next;
    if (next > e.target) e.target = next;
    void this.pump(id, e);
  }

  /** Reads the lines between what was handed out and what exists, once, for every listener. */
  private async pump(id: number, e: Entry): Promise<void> {
    if (e.reading) return;
    e.reading = true;
    try {
      while (e.head < e.target && this.entries.get(id) === e) {
        const ls = await readLog(this.opts.em(), id, e.head, BATCH);
        this.reads++;
        if (!ls.length) break;
        e.head = ls[ls.length - 1].next;
        e.target = Math.max(e.target, e.head);
        for (const l of [...e.listeners]) {
          try {
            l.lines(ls);
          } catch (err) {
            this.opts.onError?.(err);
          }
        }
      }
      if (e.endAt !== null && e.head >= e.endAt && !e.endSent) {
        e.endSent = true;
        for (const l of [...e.listeners]) l.end(e.endAt);
      }
    } catch (err) {
      this.opts.onError?.(err);
    } finally {
      e.reading = false;
    }
  }

  private async heartbeat(only?: number[]): Promise<void> {
    const ids = only ?? [...this.entries.keys()];
    if (!ids.length || (!only && this.beating)) return;
    if (!only) this.beating = true;
    try {
      const heads = await logHeads(this.opts.em(), ids);
      this.reads++;
      for (const [id, h] of heads) this.onHead(id, h.next, isBuildTerminal(h.status));
    } catch (err) {
      this.opts.onError?.(err);
    } finally {
      if (!only) this.beating = false;
    }
  }
}

/** Wires the feed into a process with the api role (`services.buildLog`). */
export async function startBuildLogFeed(
  host: {
    orm: { em: EntityManager };
    messaging: { bus: Bus<PhantomTopics> };
    logger: { warn(obj: object, msg: string): void };
    services: { buildLog?: BuildLogFeed };
    onClose: (fn: () => Promise<void> | void) => void;
  },
  every: BuildLogFeedOptions['every'],
  pollMs?: number,
): Promise<BuildLogFeed> {
  const feed = new BuildLogFeed({
    bus: host.messaging.bus,
    em: () => host.orm.em.fork(),
    pollMs,
    every,
    onError: (err) => host.logger.warn({ err }, 'build log feed: read failed; will retry'),
  });
  await feed.start();
  host.services.buildLog = feed;
  host.onClose(() => feed.stop());
  return feed;
}
