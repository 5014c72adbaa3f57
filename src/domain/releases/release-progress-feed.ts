/**
 * Live release progress for this process's `releaseProgress` subscriptions. The engine
 * publishes "release R has entries up to S" on the bus after each commit; the feed reads the
 * new entries **once per release per process** and hands the same records to every watcher
 * of that release, so a thousand watchers cost one read per change, not a thousand. A
 * heartbeat (one statement for all watched releases) covers bus messages lost on the way
 * (Redis pub/sub keeps nothing for a reconnecting subscriber): entries are numbered 1, 2, 3 …
 * per release, so a gap is always visible and filled from the table.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Bus } from '../../pubsub/index.js';
import type { PhantomTopics } from '../../pubsub/topics.js';
import { isTerminal, type ReleaseProgressRecord } from './release-model.js';
import { findProgress, progressHeads } from './release.repository.js';

export const RELEASE_PROGRESS_TOPIC = 'releaseProgress';

/** Options for {@link ReleaseProgressFeed}. */
export interface ReleaseProgressFeedOptions {
  bus: Bus<PhantomTopics>;
  /** A fresh EntityManager. */
  em: () => EntityManager;
  /** Heartbeat while anyone watches: the longest a lost bus message delays an entry. Default: 1000 ms. */
  pollMs?: number;
  /** Timer primitive (the engine's `every`): returns a stop function. */
  every: (ms: number, fn: () => void) => () => void;
  onError?: (err: unknown) => void;
}

type Listener = (r: ReleaseProgressRecord) => void;

interface Entry {
  listeners: Set<Listener>;
  /** Highest entry read and handed out. */
  head: number;
  /** Highest entry known to exist. */
  target: number;
  reading: boolean;
}

const BATCH = 200;

export class ReleaseProgressFeed {
  private readonly entries = new Map<number, Entry>();
  private offBus?: () => void;
  private stopTimer?: () => void;
  private beating = false;
  /** Statements this feed has run (tests assert they do not grow with the number of watchers). */
  reads = 0;

  constructor(private readonly opts: ReleaseProgressFeedOptions) {}

  async start(): Promise<void> {
    this.offBus = this.opts.bus.subscribe(RELEASE_PROGRESS_TOPIC, (m) => this.onHead(m.id, m.seq));
    this.stopTimer = this.opts.every(this.opts.pollMs ?? 1000, () => void this.heartbeat());
    await this.opts.bus.ready();
  }

  stop(): void {
    this.stopTimer?.();
    this.offBus?.();
    this.entries.clear();
  }

  get watchedReleases(): number {
    return this.entries.size;
  }

  /**
   * The entries of release `id` after `after` (0: from the first), replayed from the table
   * then live, ending after the entry with a terminal status. The caller has authorized.
   */
  subscribe(id: number, after: number): AsyncIterableIterator<ReleaseProgressRecord> {
    const queue: ReleaseProgressRecord[] = [];
    const waiting: ((r: IteratorResult<ReleaseProgressRecord>) => void)[] = [];
    let cursor = after;
    let ended = false;
    let replaying = true;
    const buffered: ReleaseProgressRecord[] = [];
    const push = (r: ReleaseProgressRecord): void => {
      if (ended || r.seq <= cursor) return;
      cursor = r.seq;
      const w = waiting.shift();
      if (w) w({ value: r, done: false });
      else queue.push(r);
      if (isTerminal(r.state.status)) finish();
    };
    const listener: Listener = (r) => {
      if (replaying) buffered.push(r);
      else push(r);
    };
    let entry = this.entries.get(id);
    if (!entry) {
      entry = { listeners: new Set(), head: after, target: after, reading: false };
      this.entries.set(id, entry);
    }
    entry.listeners.add(listener);
    const finish = (): void => {
      if (ended) return;
      ended = true;
      this.unlisten(id, listener);
      // Pending next() calls end once the queue drains.
      if (!queue.length) for (const w of waiting.splice(0)) w({ value: undefined, done: true });
    };
    // Replay what this watcher missed (its own read: nobody else needs it), then go live.
    const replayUpTo = entry.head;
    void (async () => {
      try {
        let from = after;
        while (from < replayUpTo && !ended) {
          const rows = await findProgress(this.opts.em(), id, from, BATCH, replayUpTo);
          this.reads++;
          rows.forEach(push);
          if (rows.length < BATCH) break;
          from = rows[rows.length - 1].seq;
        }
      } catch (err) {
        this.opts.onError?.(err);
      }
      replaying = false;
      buffered.splice(0).forEach(push);
      // Learn where the release stands now (a watcher of a quiet or finished release).
      void this.heartbeat([id]);
    })();
    const iterator: AsyncIterableIterator<ReleaseProgressRecord> = {
      next: () => {
        const r = queue.shift();
        if (r) {
          if (ended && !queue.length)
            for (const w of waiting.splice(0)) w({ value: undefined, done: true });
          return Promise.resolve({ value: r, done: false });
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

  /** Release `id` has entries up to `seq`. */
  private onHead(id: number, seq: number): void {
    const e = this.entries.get(id);
    if (!e || seq <= e.target) return;
    e.target = seq;
    void this.pump(id, e);
  }

  /** Reads the entries between what was handed out and what exists, once, for every listener. */
  private async pump(id: number, e: Entry): Promise<void> {
    if (e.reading) return;
    e.reading = true;
    try {
      while (e.head < e.target && this.entries.get(id) === e) {
        const rows = await findProgress(this.opts.em(), id, e.head, BATCH);
        this.reads++;
        if (!rows.length) break;
        for (const r of rows) {
          e.head = Math.max(e.head, r.seq);
          for (const l of [...e.listeners]) {
            try {
              l(r);
            } catch (err) {
              this.opts.onError?.(err);
            }
          }
        }
        e.target = Math.max(e.target, e.head);
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
      const heads = await progressHeads(this.opts.em(), ids);
      this.reads++;
      for (const [id, seq] of heads) this.onHead(id, seq);
    } catch (err) {
      this.opts.onError?.(err);
    } finally {
      if (!only) this.beating = false;
    }
  }
}
