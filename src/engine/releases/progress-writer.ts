/**
 * Group commit of release progress. Every engine change is one fenced transaction (the
 * release row, conditional on the claim's generation, its next progress entry, and platform
 * events): when many releases run at once, the changes that arrive while a transaction is in
 * flight are written together in the next one. The first change of a quiet moment is written
 * at once, so nothing waits for a batch to fill.
 *
 * In a batch each release's row update stays its own fenced statement, and a release whose
 * claim is gone is left out (its change fails with {@link ClaimLostError}) while the others
 * commit; the progress entries of the batch are one multi-row insert, its events one more. A
 * batch that fails as a whole (a bad row, a deadlock) is written again one change at a time,
 * so one bad change fails alone.
 */
import type { EntityManager } from '@mikro-orm/core';
import { Release } from '../../domain/releases/release.entity.js';
import { ReleaseProgressRow } from '../../domain/releases/release-progress.entity.js';
import type { ProgressKind, ReleaseState } from '../../domain/releases/release-model.js';
import { recordEvent, type NewPlatformEvent } from '../../domain/events/event-recorder.js';
import { ClaimLostError, type Claim, type WorkClaims } from '../work-claims.js';

/** One engine change: the row's columns, its progress entry, maybe a platform event. */
export interface ProgressChange {
  claim: Claim;
  /** Columns of the release row to set (fenced by the claim). */
  row: Partial<Release>;
  progress: {
    releaseId: number;
    seq: number;
    kind: ProgressKind;
    message: string;
    state: ReleaseState;
  };
  event?: NewPlatformEvent;
}

interface Waiting {
  change: ProgressChange;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Changes per transaction, at most. */
const MAX_BATCH = 64;

export class ProgressWriter {
  private queue: Waiting[] = [];
  private flushing = false;

  constructor(
    private readonly em: () => EntityManager,
    private readonly claims: WorkClaims<Release>,
    /** Transactions written and changes in them (bench, tests). */
    readonly stats: { transactions: number; changes?: number } = { transactions: 0, changes: 0 },
  ) {}

  /** Commits `change` (with whatever else is waiting); rejects with ClaimLostError when its claim is gone. */
  commit(change: ProgressChange): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ change, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          await this.write(batch);
        } catch (err) {
          if (batch.length === 1) batch[0].reject(err);
          else
            for (const w of batch)
              await this.write([w]).catch((e: unknown) => {
                w.reject(e);
              });
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** One transaction for `batch`; settles each change, or throws (nothing settled) when the transaction fails. */
  private async write(batch: Waiting[]): Promise<void> {
    // The same lock order in every transaction.
    const ordered = [...batch].sort((a, b) => a.change.claim.id - b.change.claim.id);
    const lost = new Set<Waiting>();
    await this.em().transactional(async (tx) => {
      lost.clear();
      for (const w of ordered) {
        const changed = await tx.nativeUpdate(
          Release,
          this.claims.fence(w.change.claim),
          w.change.row,
        );
        if (changed !== 1) lost.add(w);
      }
      const kept = ordered.filter((w) => !lost.has(w));
      if (!kept.length) return;
      const at = new Date();
      await tx.insertMany(
        ReleaseProgressRow,
        kept.map((w) => ({ ...w.change.progress, at })),
      );
      for (const w of kept) if (w.change.event) recordEvent(tx, w.change.event);
    });
    this.stats.transactions++;
    if (this.stats.changes !== undefined) this.stats.changes += batch.length;
    for (const w of batch) {
      if (lost.has(w)) w.reject(new ClaimLostError(w.change.claim));
      else w.resolve();
    }
  }
}
