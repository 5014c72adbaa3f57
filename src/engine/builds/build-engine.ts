/**
 * The build engine of a worker: claims due builds (src/engine/work-claims.ts) up to
 * PHANTOM_BUILD_CONCURRENCY, runs each ({@link BuildRun}) on the configured executor with its
 * claim renewed, and listens for build signals on the bus (created, cancel asked) to look at
 * once rather than at the next poll. N workers share the builds through the claims.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import type { Bus } from '../../pubsub/index.js';
import type { PhantomTopics } from '../../pubsub/topics.js';
import { Build } from '../../domain/builds/build.entity.js';
import { BuildStatus } from '../../domain/builds/build-model.js';
import { BUILD_LOG_TOPIC } from '../../domain/builds/build-log-feed.js';
import { WorkClaims } from '../work-claims.js';
import { WorkLoop, type EngineLogger } from '../work-loop.js';
import type { BuildExecutor } from './build-executor.js';
import { BuildRun, type BuildRunnerDeps, type BuildSettings } from './build-runner.js';

export const BUILD_SIGNAL_TOPIC = 'buildSignal';

/** Options for {@link startBuildEngine}. */
export interface BuildEngineOptions extends Partial<BuildSettings> {
  /** Claim time to live: a dead worker's builds are picked up after at most this. Default: 15 000 ms. */
  claimTtlMs?: number;
  /** Backstop poll for due builds. Default: 1000 ms. */
  pollMs?: number;
  /** Builds one worker runs at once (PHANTOM_BUILD_CONCURRENCY). Default: 2. */
  concurrency?: number;
  /** Worker id on claims. Default: `<host>-<pid>-<random>`. */
  owner?: string;
}

export interface BuildEngineHost {
  em: () => EntityManager;
  bus: Bus<PhantomTopics>;
  executor: BuildExecutor;
  logger: EngineLogger;
  eventsCommitted: () => void;
  /** After a build ended (releases waiting on it, auto-release). */
  ended: BuildRunnerDeps['ended'];
}

export interface BuildEngine {
  owner: string;
  /** Builds this worker runs now. */
  running(): number;
  wake(): void;
  stop(): Promise<void>;
}

export function startBuildEngine(
  host: BuildEngineHost,
  opts: BuildEngineOptions = {},
): BuildEngine {
  const owner =
    opts.owner ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}-builds`;
  const claims = new WorkClaims<Build>({
    entity: Build,
    open: { status: { $in: [BuildStatus.QUEUED, BuildStatus.RUNNING] } },
    ttlMs: opts.claimTtlMs,
  });
  const settings: BuildSettings = {
    registry: opts.registry ?? 'registry.local',
    timeoutMs: opts.timeoutMs ?? 1_800_000,
    logMaxBytes: opts.logMaxBytes ?? 5 * 1024 * 1024,
    maxAttempts: opts.maxAttempts ?? 2,
    logFlushMs: opts.logFlushMs ?? 200,
  };
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
  const deps: BuildRunnerDeps = {
    em: host.em,
    claims,
    executor: host.executor,
    settings,
    eventsCommitted: host.eventsCommitted,
    onSignal,
    ended: host.ended,
    logger: host.logger,
    logCommitted: (id, next, ended) => {
      host.bus
        .publish(BUILD_LOG_TOPIC, { id, next, ended })
        .catch((err: unknown) =>
          host.logger.warn(
            { err },
            'build engine: log lines not announced (watchers catch up by heartbeat)',
          ),
        );
    },
  };
  const loop = new WorkLoop<Build>({
    name: 'builds',
    owner,
    claims,
    em: host.em,
    pollMs: opts.pollMs,
    concurrency: opts.concurrency ?? 2,
    logger: host.logger,
    run: (claim, signal) => new BuildRun(deps, claim, signal).run(),
  });
  const off = host.bus.subscribe(BUILD_SIGNAL_TOPIC, (m) => {
    loop.wake();
    for (const fn of [...(signalListeners.get(m.id) ?? [])]) fn();
  });
  loop.start();
  host.logger.info(
    { owner, executor: host.executor.name, concurrency: opts.concurrency ?? 2 },
    'build engine: running',
  );
  return {
    owner,
    running: () => loop.running,
    wake: loop.wake,
    stop: async () => {
      off();
      await loop.stop();
    },
  };
}
