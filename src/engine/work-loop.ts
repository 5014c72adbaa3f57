/**
 * The engine's one loop: claims due work items ({@link WorkClaims}) up to a concurrency
 * limit, runs each, renews all of its claims together (one statement per tick), and gives a
 * claim back when its run ends (with when the item is due next). A run whose claim was lost
 * is aborted through its signal, and its own fenced writes fail too (ClaimLostError). Woken at once by `wake()`
 * (a local change) and polled every `pollMs` as a backstop (work made by other replicas,
 * items whose `nextRunAt` came, claims that expired on a dead worker).
 */
import type { EntityManager } from '@mikro-orm/core';
import { ClaimLostError, type Claim, type ClaimColumns, type WorkClaims } from './work-claims.js';
import { every } from './timers.js';

/**
 * What a run answers: when the item is due again (epoch ms), `now`, `done` (it is no longer
 * open work), or `{ at, quiet }`: due at `at` unless the row no longer matches `quiet` when
 * the claim is given back (a signal came while the run was deciding to wait: due now).
 */
export type RunResult = number | 'now' | 'done' | { at: number; quiet: Record<string, unknown> };

export interface EngineLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

/** Options for {@link WorkLoop}. */
export interface WorkLoopOptions<E extends ClaimColumns> {
  /** For logs. */
  name: string;
  /** This worker's id (claims carry it). */
  owner: string;
  claims: WorkClaims<E>;
  /** A fresh EntityManager. */
  em: () => EntityManager;
  /** Runs one claimed item until it ends or has to wait. */
  run: (claim: Claim, signal: AbortSignal) => Promise<RunResult>;
  /** Backstop poll interval. Default: 1000 ms. */
  pollMs?: number;
  /** Items run at once by this worker. Default: 50. */
  concurrency?: number;
  /** Renewal interval. Default: a third of the claim TTL. */
  renewMs?: number;
  /** When a run failed (not a lost claim): due again after this. Default: 2000 ms. */
  retryMs?: number;
  logger?: EngineLogger;
}

export class WorkLoop<E extends ClaimColumns> {
  private readonly active = new Map<number, Promise<void>>();
  private stopTimer?: () => void;
  private polling?: Promise<void>;
  private again = false;
  private stopped = true;
  private readonly controllers = new Set<AbortController>();
  /** The claims this worker runs now, for the one renewal timer. */
  private readonly held = new Map<number, { claim: Claim; ctrl: AbortController }>();
  private stopRenewal?: () => void;
  private renewing = false;

  constructor(private readonly opts: WorkLoopOptions<E>) {}

  get running(): number {
    return this.active.size;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopTimer = every(this.opts.pollMs ?? 1000, () => this.wake());
    this.stopRenewal = every(
      this.opts.renewMs ?? Math.max(50, Math.floor(this.opts.claims.ttlMs / 3)),
      () => void this.renew(),
    );
    this.wake();
  }

  /** Looks for due work now. */
  readonly wake = (): void => {
    if (this.stopped) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    this.polling = this.poll().finally(() => {
      this.polling = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.wake();
      }
    });
  };

  /** Stops claiming, aborts the runs (their claims expire or are given back), waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopTimer?.();
    this.stopRenewal?.();
    for (const c of this.controllers) c.abort();
    await this.polling;
    await Promise.allSettled([...this.active.values()]);
  }

  private async poll(): Promise<void> {
    const free = (this.opts.concurrency ?? 50) - this.active.size;
    if (free <= 0) return;
    let claims: Claim[];
    try {
      claims = await this.opts.claims.claimDue(this.opts.em(), this.opts.owner, free);
    } catch (err) {
      this.opts.logger?.warn({ err, loop: this.opts.name }, 'engine: claiming failed; will retry');
      return;
    }
    for (const claim of claims) {
      // This worker claimed an item it still runs: that run's claim had expired (a pause past
      // the TTL) and is fenced out already; stop it now rather than at the next renewal, which
      // would no longer know it (the held claim is replaced just below).
      const old = this.held.get(claim.id);
      if (old && old.claim.generation !== claim.generation)
        old.ctrl.abort(new ClaimLostError(old.claim));
      if (this.stopped) {
        await this.opts.claims.release(this.opts.em(), claim, null).catch(() => undefined);
        continue;
      }
      const p: Promise<void> = this.runOne(claim).finally(() => {
        if (this.active.get(claim.id) === p) this.active.delete(claim.id);
        // A slot is free: there may be more due work.
        this.wake();
      });
      this.active.set(claim.id, p);
    }
  }

  /** Renews every claim held (one statement); aborts the runs whose claim was lost. */
  private async renew(): Promise<void> {
    if (this.renewing || !this.held.size) return;
    this.renewing = true;
    try {
      const lost = await this.opts.claims.renewAll(
        this.opts.em(),
        [...this.held.values()].map((h) => h.claim),
      );
      for (const id of lost) {
        const h = this.held.get(id);
        if (!h) continue;
        this.opts.logger?.warn(
          { id, loop: this.opts.name },
          'engine: claim lost; stopping this run',
        );
        h.ctrl.abort(new ClaimLostError(h.claim));
      }
    } catch (err) {
      this.opts.logger?.warn(
        { err, loop: this.opts.name },
        'engine: claim renewal failed; will retry',
      );
    } finally {
      this.renewing = false;
    }
  }

  private async runOne(claim: Claim): Promise<void> {
    const ctrl = new AbortController();
    this.controllers.add(ctrl);
    this.held.set(claim.id, { claim, ctrl });
    const renew = {
      done: () => {
        if (this.held.get(claim.id)?.claim === claim) this.held.delete(claim.id);
      },
    };
    let next: number | null;
    let quiet: Record<string, unknown> | undefined;
    try {
      const r = await this.opts.run(claim, ctrl.signal);
      if (typeof r === 'object') {
        next = r.at;
        quiet = r.quiet;
      } else next = r === 'now' || r === 'done' ? null : r;
    } catch (err) {
      if (err instanceof ClaimLostError || ctrl.signal.aborted) {
        renew.done();
        this.controllers.delete(ctrl);
        // Stopping: give the claim back so another worker continues at once (fenced: a lost claim stays lost).
        if (this.stopped)
          await this.opts.claims.release(this.opts.em(), claim, null).catch(() => undefined);
        return;
      }
      this.opts.logger?.warn(
        { err, id: claim.id, loop: this.opts.name },
        'engine: run failed; will retry',
      );
      next = Date.now() + (this.opts.retryMs ?? 2000);
    }
    renew.done();
    this.controllers.delete(ctrl);
    await this.opts.claims.release(this.opts.em(), claim, next, quiet).catch((err: unknown) => {
      this.opts.logger?.warn(
        { err, id: claim.id },
        'engine: could not give the claim back; it expires by itself',
      );
    });
  }
}
