/**
 * The composition root: builds the process-wide services for one Phantom process from its
 * config (database, cache, sessions) and tears them down again.
 */
import { join } from 'node:path';
import { createMetrics, type PhantomMetrics } from './metrics.js';
import type { Config } from '../config.js';
import { createOrm, isMysql, migrate, type Orm, type SqlStats } from '../db/orm.js';
import type { KvStore } from '../cache/kv-store.js';
import { MemoryKvStore } from '../cache/memory-kv-store.js';
import { RedisKvStore } from '../cache/redis-kv-store.js';
import { Cache } from '../cache/cache.js';
import type { DomainDeps } from '../domain/shared/domain-context.js';
import { ensureBootstrapAdmin } from '../domain/people/auth.service.js';
import { ensureDefaultEnvironments } from '../domain/settings/environment.service.js';
import { createLogger, type Logger } from './logger.js';
import { startTracing } from './tracing.js';
import { createMessaging, type Messaging } from '../pubsub/index.js';
import type { PhantomTopics } from '../pubsub/topics.js';
import { attachK8s } from '../k8s/k8s.module.js';
import type { PlatformServices } from './services.js';
import { registerReleaseApprovalHook } from '../domain/releases/release-approvals.js';
import { activeReleaseDeletionGuard } from '../domain/releases/release.service.js';

export interface Platform {
  config: Config;
  orm: Orm;
  sqlStats: SqlStats;
  kv: KvStore;
  cache: Cache;
  deps: DomainDeps;
  logger: Logger;
  /** Bus, durable streams, leases: Redis when REDIS_URL is set, else in-process. */
  messaging: Messaging<PhantomTopics>;
  /** Listeners run after a transaction with platform events commits (the outbox relay subscribes). */
  eventsCommittedListeners: Set<() => void>;
  /** Process-wide services of the roles this process runs (typed; see services.ts), exposed to resolvers. */
  services: PlatformServices;
  /** Prometheus metrics of this process (`GET /metrics` on the API and worker listeners). */
  metrics: PhantomMetrics;
  /** Closers run in reverse order by {@link Platform.close}. */
  onClose: (fn: () => Promise<void> | void) => void;
  close(): Promise<void>;
}

const REDIS_START_TIMEOUT_MS = 5000;

/** The settings a Redis target came from, for messages. */
function redisSettingOf(target: string): string {
  if (target.startsWith('redis-sentinel://')) return 'REDIS_SENTINELS, REDIS_SENTINEL_NAME';
  if (target.startsWith('redis-cluster://')) return 'REDIS_CLUSTER_NODES';
  return 'REDIS_URL';
}

/** A URL for messages: without its password. */
function redactUrl(url: string): string {
  if (url.startsWith('redis-sentinel://') || url.startsWith('redis-cluster://'))
    return url.replace(/\/\/[^@/]*@/, '//***@');
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

export interface PlatformOptions {
  /** Apply migrations / the schema now (default: config.migrateOnStart). */
  migrate?: boolean;
  logger?: Logger;
}

export async function createPlatform(
  config: Config,
  opts: PlatformOptions = {},
): Promise<Platform> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  // OpenTelemetry traces only when OTEL_EXPORTER_OTLP_ENDPOINT is set (tracing.ts).
  const tracing = await startTracing(config.otelEndpoint);
  const { orm, stats } = await createOrm({
    databaseUrl: config.databaseUrl,
    replicaUrls: config.databaseReplicaUrls,
    poolMax: config.databasePoolMax,
    sqlitePath: join(config.dataDir, 'phantom.db'),
  });
  const closers: (() => Promise<void> | void)[] = [() => orm.close(true)];
  try {
    if (opts.migrate ?? config.migrateOnStart) {
      const applied = await migrate(orm);
      logger.info({ applied }, 'database schema is current');
    } else if (isMysql(orm)) {
      const pending = await orm.getMigrator().getPendingMigrations();
      if (pending.length) {
        throw new Error(
          `The database has ${pending.length} pending migration(s): run "phantom migrate" first (or set PHANTOM_MIGRATE_ON_START=on).`,
        );
      }
    }
    const kv: KvStore = config.redisUrl
      ? new RedisKvStore(config.redisUrl, {
          prefix: config.redisPrefix,
          commandTimeoutMs: config.redisCommandTimeoutMs,
        })
      : new MemoryKvStore();
    closers.push(() => kv.close());
    if (config.redisUrl) {
      // Fail at start with a clear message rather than serve with sessions and cache away.
      // Ping again until the deadline: one ping may time out (the command timeout) while the
      // first connection is still being made.
      const deadline = Date.now() + REDIS_START_TIMEOUT_MS;
      let reachable = false;
      while (!(reachable = await kv.ping()) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      if (!reachable)
        throw new Error(
          `Redis at ${redactUrl(config.redisUrl)} is not reachable (${redisSettingOf(config.redisUrl)}); start it or fix the setting.`,
        );
    }
    const messaging = createMessaging<PhantomTopics>({
      redisUrl: config.redisUrl,
      keyPrefix: config.redisPrefix,
      commandTimeoutMs: config.redisCommandTimeoutMs,
    });
    closers.push(() => messaging.close());
    const cache = new Cache(kv, config.cacheTtlSeconds);
    const listeners = new Set<() => void>();
    const deps: DomainDeps = {
      cache,
      kv,
      sessionTtlSeconds: config.sessionTtlSeconds,
      onEventsCommitted: () => {
        for (const l of listeners) l();
      },
      // An app is not deleted while a release of it runs (the k8s module adds its own).
      appDeletionGuards: [activeReleaseDeletionGuard],
      // Every engine (this process's and other replicas') looks at the release now.
      onReleaseSignal: (id) => {
        messaging.bus
          .publish('releaseSignal', { id })
          .catch((err) =>
            logger.warn(
              { err },
              'release signal not sent (engines find the release at their next poll)',
            ),
          );
      },
      onBuildSignal: (id) => {
        messaging.bus
          .publish('buildSignal', { id })
          .catch((err) =>
            logger.warn(
              { err },
              'build signal not sent (engines find the build at their next poll)',
            ),
          );
      },
      ticketTtlHours: config.ticketTtlHours,
      // The releases module registers its RELEASE_APPROVAL hook at start.
      ticketDecisionHooks: {},
      webhookPolicy: {
        allowPrivate: config.webhookAllowPrivate,
        allowedHosts: config.webhookAllowedHosts,
      },
    };
    // A decision on a release's approval ticket reaches the release (any role decides tickets).
    registerReleaseApprovalHook(deps);
    const em = orm.em.fork();
    await ensureDefaultEnvironments(em);
    if (config.adminToken) await ensureBootstrapAdmin(em, config.adminToken);
    const platform: Platform = {
      config,
      orm,
      sqlStats: stats,
      kv,
      cache,
      deps,
      logger,
      messaging,
      eventsCommittedListeners: listeners,
      services: {},
      // Set just below: the collectors read the platform itself at scrape time.
      metrics: undefined as unknown as PhantomMetrics,
      onClose: (fn) => closers.push(fn),
      close: async () => {
        for (const fn of closers.reverse()) {
          try {
            await fn();
          } catch (e) {
            logger.warn({ err: e }, 'error while closing');
          }
        }
        closers.length = 0;
      },
    };
    platform.metrics = createMetrics(platform);
    // The tracer provider is the process's: closing a platform sends what it buffered.
    if (tracing.enabled) closers.unshift(() => tracing.flush());
    // Clusters (kubeconfig or embedded sims), informers, the watcher lease: `services.k8s`.
    await attachK8s(platform);
    return platform;
  } catch (e) {
    for (const fn of closers.reverse()) await Promise.resolve(fn()).catch(() => undefined);
    throw e;
  }
}
