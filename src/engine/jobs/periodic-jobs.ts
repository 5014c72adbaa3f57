/**
 * Periodic jobs of the worker role. Each job is a row of `engine_jobs`, claimed through the
 * engine's one claim primitive and run by the engine's one loop: N workers, one run at a time,
 * and the next run is due `everyMs` after the last one ended (on whichever worker claims it).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { EngineJob } from './engine-job.entity.js';
import { WorkClaims, type Claim } from '../work-claims.js';
import { WorkLoop, type EngineLogger } from '../work-loop.js';

/** One periodic job. */
export interface PeriodicJob {
  /** Unique; the row's name. */
  name: string;
  /** Due again this long after a run ends. */
  everyMs: number;
  /**
   * Does the work in bounded steps; checks `signal` between them (a lost claim or a stop
   * aborts it) and calls `stillMine()` before each write batch if it wants fencing per batch.
   * Returns a summary kept on the row.
   */
  run(
    em: () => EntityManager,
    ctx: { signal: AbortSignal; stillMine: () => Promise<void> },
  ): Promise<Record<string, unknown>>;
}

export interface PeriodicJobsOptions {
  em: () => EntityManager;
  logger: EngineLogger;
  jobs: PeriodicJob[];
  /** Claim time to live. Default: 60 000 ms. */
  claimTtlMs?: number;
  /** Backstop poll. Default: 30 000 ms. */
  pollMs?: number;
  owner?: string;
}

export interface PeriodicJobs {
  /** Makes every job due now and looks at once (tests, operators). */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPeriodicJobs(opts: PeriodicJobsOptions): Promise<PeriodicJobs> {
  const owner = opts.owner ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const byName = new Map(opts.jobs.map((j) => [j.name, j]));
  const names = [...byName.keys()];
  const claims = new WorkClaims<EngineJob>({
    entity: EngineJob,
    open: { name: { $in: names } },
    ttlMs: opts.claimTtlMs ?? 60_000,
  });
  await ensureRows(opts.em(), names);

  const run = async (claim: Claim, signal: AbortSignal): Promise<number> => {
    const em = opts.em();
    const row = await em.findOne(
      EngineJob,
      { id: claim.id },
      { fields: ['name'], disableIdentityMap: true, connectionType: 'write' },
    );
    const job = row && byName.get(row.name);
    if (!job) return Date.now() + 3_600_000;
    const stillMine = async (): Promise<void> => {
      signal.throwIfAborted();
      await claims.update(opts.em(), claim, { claimExpiresAt: Date.now() + claims.ttlMs });
    };
    const started = Date.now();
    const result = await job.run(opts.em, { signal, stillMine });
    await claims.update(opts.em(), claim, {
      lastRunAt: new Date(),
      lastResult: { ...result, ms: Date.now() - started },
    });
    opts.logger.info({ job: job.name, ...result }, 'engine: periodic job done');
    return Date.now() + job.everyMs;
  };
  const loop = new WorkLoop<EngineJob>({
    name: 'periodic-jobs',
    owner,
    claims,
    em: opts.em,
    run,
    pollMs: opts.pollMs ?? 30_000,
    concurrency: names.length || 1,
    retryMs: 60_000,
    logger: opts.logger,
  });
  loop.start();
  return {
    async runNow() {
      await opts.em().nativeUpdate(EngineJob, { name: { $in: names } }, { nextRunAt: null });
      loop.wake();
    },
    stop: () => loop.stop(),
  };
}

/** Inserts the rows of jobs that have none yet (a concurrent insert by another worker is fine). */
async function ensureRows(em: EntityManager, names: string[]): Promise<void> {
  const have = new Set(
    (
      await em.find(
        EngineJob,
        { name: { $in: names } },
        { fields: ['name'], disableIdentityMap: true, connectionType: 'write' },
      )
    ).map((r) => r.name),
  );
  for (const name of names) {
    if (have.has(name)) continue;
    try {
      await em.insert(EngineJob, { name, generation: 0 });
    } catch (err) {
      // Another worker inserted it first (unique name).
      const again = await em.count(EngineJob, { name });
      if (!again) throw err;
    }
  }
}
