/**
 * The home of background work (the `worker` role): the outbox relay, the chat notifier,
 * the release engine and the periodic jobs (retention), started by {@link startWorkerRole} in `phantom serve` (with the worker
 * role) and `phantom worker` alike. Work items live in database rows claimed with an expiry
 * and a fencing generation (`work-claims.ts`), run by one loop (`work-loop.ts`); periodic
 * timers go through `timers.ts`.
 */
import type { Platform } from '../server/platform.js';
import { startEventOutbox } from '../domain/events/event-outbox.js';
import { startNotifier, type NotifierOptions } from '../domain/notify/notifier.js';
import { startReleaseEngine, type ReleaseEngineOptions } from './releases/release-engine.js';
import { releaseApprovals } from '../domain/releases/release-approvals.js';
import { startPeriodicJobs, type PeriodicJobs } from './jobs/periodic-jobs.js';
import { retentionJob } from './jobs/retention.js';

export interface WorkerRoleOptions {
  /** Base of links in chat messages (PHANTOM_PUBLIC_URL, else the API's local URL). */
  publicUrl: string;
  notifier?: Partial<NotifierOptions>;
  engine?: ReleaseEngineOptions;
}

/** Starts the worker role's background work on `platform`; it stops when the platform closes. */
export async function startWorkerRole(platform: Platform, opts: WorkerRoleOptions): Promise<void> {
  await startEventOutbox(platform, { relay: true, feed: false });
  startNotifier(platform, { publicUrl: opts.publicUrl, ...opts.notifier });
  const k8s = platform.services.k8s;
  if (!k8s) throw new Error('the release engine needs the k8s services (attachK8s)');
  const engine = startReleaseEngine({
    em: () => platform.orm.em.fork(),
    bus: platform.messaging.bus,
    runtime: k8s.runtime,
    approvals: releaseApprovals(platform.deps),
    logger: platform.logger,
    eventsCommitted: platform.deps.onEventsCommitted,
  }, { ...platform.config.engine, ...opts.engine, verify: { ...platform.config.engine.verify, ...opts.engine?.verify } });
  platform.services.releaseEngine = engine;
  platform.onClose(() => engine.stop());
  const jobs = await startPeriodicJobs({
    em: () => platform.orm.em.fork(),
    logger: platform.logger,
    jobs: [retentionJob({ days: platform.config.retentionDays })],
  });
  platform.services.periodicJobs = jobs;
  platform.onClose(() => jobs.stop());
}

export type { PeriodicJobs };
