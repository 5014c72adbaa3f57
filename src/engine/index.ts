/**
 * The home of background work (the `worker` role): the outbox relay, the chat notifier,
 * the release engine, the build engine and the periodic jobs (retention), started by {@link startWorkerRole} in `phantom serve` (with the worker
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
import { startBuildEngine, type BuildEngineOptions } from './builds/build-engine.js';
import { LocalBuildExecutor } from './builds/local-build-executor.js';
import { KubernetesBuildExecutor } from './builds/kubernetes-build-executor.js';
import type { BuildExecutor } from './builds/build-executor.js';
import { requestBuildCancel } from '../domain/builds/build.service.js';
import { toBuildRecord } from '../domain/builds/build.repository.js';
import { BuildStatus } from '../domain/builds/build-model.js';
import { autoReleaseBuild, wakeReleasesOfBuild } from '../domain/releases/release-builds.js';

export interface WorkerRoleOptions {
  /** Base of links in chat messages (PHANTOM_PUBLIC_URL, else the API's local URL). */
  publicUrl: string;
  notifier?: Partial<NotifierOptions>;
  engine?: ReleaseEngineOptions;
  builds?: BuildEngineOptions & { jobPollMs?: number };
}

/** The executor PHANTOM_BUILD_EXECUTOR names; a Kubernetes one needs a known build cluster. */
function buildExecutor(platform: Platform, jobPollMs?: number): BuildExecutor {
  const bc = platform.config.builds;
  if (bc.executor === 'local') {
    const local = new LocalBuildExecutor({ dataDir: platform.config.dataDir });
    // Workspaces of a worker that died mid-build go at start, not only at the first build.
    void local.sweep().then((removed) => {
      if (removed.length)
        platform.logger.info(
          { removed },
          'build engine: removed workspaces left by stopped workers',
        );
    });
    return local;
  }
  const runtime = platform.services.k8s!.runtime;
  const names = runtime.clusterNames();
  const cluster = bc.kubernetes.cluster ?? names[0];
  if (!cluster || !names.includes(cluster)) {
    throw new Error(
      `PHANTOM_BUILD_EXECUTOR=kubernetes needs a build cluster: ${cluster ? `"${cluster}" (PHANTOM_BUILD_K8S_CLUSTER) is not one of ${names.join(', ') || 'no clusters'}` : 'no cluster is configured'}.`,
    );
  }
  return new KubernetesBuildExecutor({
    runtime,
    cluster,
    namespace: bc.kubernetes.namespace,
    image: bc.kubernetes.image,
    pollMs: jobPollMs,
  });
}

/** Starts the worker role's background work on `platform`; it stops when the platform closes. */
export async function startWorkerRole(platform: Platform, opts: WorkerRoleOptions): Promise<void> {
  await startEventOutbox(platform, { relay: true, feed: false });
  startNotifier(platform, { publicUrl: opts.publicUrl, ...opts.notifier });
  const k8s = platform.services.k8s;
  if (!k8s) throw new Error('the release engine needs the k8s services (attachK8s)');
  const engine = startReleaseEngine(
    {
      em: () => platform.orm.em.fork(),
      bus: platform.messaging.bus,
      runtime: k8s.runtime,
      approvals: releaseApprovals(platform.deps),
      logger: platform.logger,
      eventsCommitted: platform.deps.onEventsCommitted,
      builds: { cancel: (id) => requestBuildCancel(platform.orm.em.fork(), platform.deps, id) },
      onStepFinished: (step, status, seconds) =>
        platform.metrics.observeReleaseStep(step, status, seconds),
    },
    {
      ...platform.config.engine,
      ...opts.engine,
      verify: { ...platform.config.engine.verify, ...opts.engine?.verify },
    },
  );
  platform.services.releaseEngine = engine;
  platform.onClose(() => engine.stop());
  const jobs = await startPeriodicJobs({
    em: () => platform.orm.em.fork(),
    logger: platform.logger,
    jobs: [retentionJob({ days: platform.config.retentionDays })],
  });
  platform.services.periodicJobs = jobs;
  platform.onClose(() => jobs.stop());
  const bc = platform.config.builds;
  const builds = startBuildEngine(
    {
      em: () => platform.orm.em.fork(),
      bus: platform.messaging.bus,
      executor: buildExecutor(platform, opts.builds?.jobPollMs),
      logger: platform.logger,
      eventsCommitted: platform.deps.onEventsCommitted,
      // After a build: the releases waiting on it go on; a default-branch success auto-releases.
      ended: async (b, log) => {
        const em = platform.orm.em.fork();
        await wakeReleasesOfBuild(em, platform.deps, b.id);
        if (b.status !== BuildStatus.SUCCEEDED) return;
        for (const r of await autoReleaseBuild(em, platform.deps, toBuildRecord(b))) {
          await log(
            'release' in r
              ? `[phantom] auto-release to ${r.env}: release #${r.release.id}`
              : `[phantom] auto-release to ${r.env} skipped: ${r.skipped}`,
          );
        }
      },
    },
    {
      claimTtlMs: platform.config.engine.claimTtlMs,
      pollMs: platform.config.engine.pollMs,
      concurrency: bc.concurrency,
      registry: bc.registry,
      timeoutMs: bc.timeoutMs,
      logMaxBytes: bc.logMaxBytes,
      ...opts.builds,
    },
  );
  platform.services.buildEngine = builds;
  platform.onClose(() => builds.stop());
}

export type { PeriodicJobs };
