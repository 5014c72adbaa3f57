/**
 * The release engine of a worker: claims due releases (src/engine/work-claims.ts), runs each
 * ({@link ReleaseRun}) with its claim renewed, and listens for release signals on the bus
 * (created, cancel or promote asked, approval decided) to look at once rather than at the
 * next poll. N workers share the work through the claims; none runs a release twice.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import type { Bus } from '../../pubsub/index.js';
import type { PhantomTopics } from '../../pubsub/topics.js';
import type { ClusterRuntime } from '../../k8s/cluster-runtime.js';
import { Release } from '../../domain/releases/release.entity.js';
import { RELEASE_PROGRESS_TOPIC } from '../../domain/releases/release-progress-feed.js';
import { WorkClaims } from '../work-claims.js';
import { inSpan } from '../../server/tracing.js';
import { WorkLoop, type EngineLogger } from '../work-loop.js';
import { ReleaseRun, type EngineStats, type VerifyOptions } from './release-runner.js';
import { ProgressWriter } from './progress-writer.js';
import type { ReleaseApprovals } from '../../domain/releases/release-approvals.js';

export const RELEASE_SIGNAL_TOPIC = 'releaseSignal';

/** Options for {@link startReleaseEngine}. */
export interface ReleaseEngineOptions {
  /** Claim time to live: a dead worker's releases continue elsewhere after at most this. Default: 15 000 ms. */
  claimTtlMs?: number;
  /** Backstop poll for due work. Default: 1000 ms. */
  pollMs?: number;
  /** Releases one worker runs at once. Default: 100. */
  concurrency?: number;
  verify?: Partial<VerifyOptions>;
  /** Worker id on claims. Default: `<host>-<pid>-<random>`. */
  owner?: string;
}

export interface ReleaseEngineHost {
  em: () => EntityManager;
  bus: Bus<PhantomTopics>;
  runtime: ClusterRuntime;
  approvals: ReleaseApprovals;
  logger: EngineLogger;
  eventsCommitted: () => void;
  /** The builds a release started: a canceled release cancels its build. */
  builds: { cancel(buildId: number): Promise<void> };
  /** A step ended (SUCCEEDED or FAILED) after running `seconds` (metrics). */
  onStepFinished?: (step: string, status: string, seconds: number) => void;
}

export interface ReleaseEngine {
  owner: string;
  stats: EngineStats;
  /** Releases this worker runs now. */
  running(): number;
  wake(): void;
  stop(): Promise<void>;
}

export function startReleaseEngine(
  host: ReleaseEngineHost,
  opts: ReleaseEngineOptions = {},
): ReleaseEngine {
  const owner = opts.owner ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const claims = new WorkClaims<Release>({
    entity: Release,
    open: { activeKey: { $ne: null } },
    ttlMs: opts.claimTtlMs,
  });
  const stats: EngineStats = { steps: 0, commits: 0, transactions: 0, busyMs: 0 };
  const signalListeners = new Map<number, Set<() => void>>();
  const onSignal = (id: number, fn: () => void): (() => void) => {
    let set = signalListeners.get(id);
    if (!set) signalListeners.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (!set.size) signalListeners.delete(id);
    };
  };
  // One runtime listener for the whole engine, routing each object event to the runs waiting on
  // that cluster and app (hundreds of waves in flight must not each look at every event).
  const objectListeners = new Map<string, Set<(namespace: string) => void>>();
  const offObjects = host.runtime.onObjectEvent((e) => {
    if (!e.app) return;
    const set = objectListeners.get(`${e.cluster}\u0000${e.app}`);
    if (set) for (const fn of [...set]) fn(e.namespace);
  });
  const onObjects = (
    cluster: string,
    app: string,
    fn: (namespace: string) => void,
  ): (() => void) => {
    const key = `${cluster}\u0000${app}`;
    let set = objectListeners.get(key);
    if (!set) objectListeners.set(key, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (!set.size) objectListeners.delete(key);
    };
  };
  const verify: VerifyOptions = {
    failureGraceMs: 5000,
    deadlineSlackMs: 30_000,
    progressIntervalMs: 1000,
    ...opts.verify,
  };
  const progress = new ProgressWriter(host.em, claims, stats);
  const loop: WorkLoop<Release> = new WorkLoop<Release>({
    name: 'releases',
    owner,
    claims,
    em: host.em,
    pollMs: opts.pollMs,
    concurrency: opts.concurrency ?? 100,
    logger: host.logger,
    run: (claim, signal) =>
      inSpan(
        'release.run',
        { 'phantom.release.id': claim.id, 'phantom.claim.generation': claim.generation },
        () =>
          new ReleaseRun(
            {
              em: host.em,
              claims,
              progress,
              runtime: host.runtime,
              approvals: host.approvals,
              verify,
              stats,
              onSignal,
              onObjects,
              eventsCommitted: host.eventsCommitted,
              builds: host.builds,
              onStepFinished: host.onStepFinished,
              progressCommitted: (id, seq) => {
                host.bus
                  .publish(RELEASE_PROGRESS_TOPIC, { id, seq })
                  .catch((err: unknown) =>
                    host.logger.warn(
                      { err },
                      'release engine: progress not announced (subscribers catch up by heartbeat)',
                    ),
                  );
              },
            },
            claim,
            signal,
          ).run(),
      ),
  });
  const off = host.bus.subscribe(RELEASE_SIGNAL_TOPIC, (m) => {
    loop.wake();
    for (const fn of [...(signalListeners.get(m.id) ?? [])]) fn();
  });
  loop.start();
  host.logger.info({ owner }, 'release engine: running');
  return {
    owner,
    stats,
    running: () => loop.running,
    wake: loop.wake,
    stop: async () => {
      off();
      offObjects();
      await loop.stop();
    },
  };
}
