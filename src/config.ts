/**
 * Every setting Phantom reads, parsed and validated once from the environment.
 * A bad value stops start-up with one clear line per problem (see {@link ConfigError}).
 */
import { z } from 'zod';
import { parseRateLimits, type ChannelRateLimits } from './domain/notify/rate-limits.js';
import { imageReferenceProblem } from './domain/shared/image-reference.js';

const mysqlUrl = z.string().refine((v) => /^mysql:\/\/[^/]+\/[A-Za-z0-9_$-]+(\?.*)?$/.test(v), {
  message: 'must look like mysql://user:pass@host:port/database',
});
const redisUrl = z
  .string()
  .refine((v) => /^rediss?:\/\/.+/.test(v), { message: 'must look like redis://host:port[/db]' });

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: mysqlUrl.optional(),
  DATABASE_REPLICA_URLS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const urls = (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const u of urls) {
        if (!mysqlUrl.safeParse(u).success) {
          ctx.addIssue({
            code: 'custom',
            message: `"${u}" must look like mysql://user:pass@host:port/database`,
          });
        }
      }
      return urls;
    }),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(10),
  REDIS_URL: redisUrl.optional(),
  REDIS_SENTINELS: z
    .string()
    .refine((v) => v.split(',').every((h) => /^[^\s:,/@]+:\d{1,5}$/.test(h.trim())), {
      message: 'must be host:port[,host:port…] (the sentinels)',
    })
    .optional(),
  REDIS_CLUSTER_NODES: z
    .string()
    .refine((v) => v.split(',').every((h) => /^[^\s:,/@]+:\d{1,5}$/.test(h.trim())), {
      message: 'must be host:port[,host:port…] (seed nodes of the cluster)',
    })
    .optional(),
  REDIS_SENTINEL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be the master name the sentinels monitor')
    .optional(),
  PHANTOM_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  PHANTOM_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  PHANTOM_DATA_DIR: z.string().min(1).default('.phantom'),
  PHANTOM_KUBECONFIG: z.string().min(1).optional(),
  PHANTOM_SESSION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(30 * 24 * 3600)
    .default(12 * 3600),
  PHANTOM_CACHE_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 3600)
    .default(300),
  PHANTOM_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(10 * 1024 * 1024)
    .default(256 * 1024),
  PHANTOM_WS_MAX_SOCKETS_PER_CLIENT: z.coerce.number().int().min(1).max(100_000).default(50),
  PHANTOM_WS_MAX_SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().min(1).max(100_000).default(100),
  PHANTOM_WS_MAX_SUBSCRIPTIONS_PER_USER: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(1000),
  PHANTOM_GRAPHQL_JIT_AFTER: z.coerce.number().int().min(0).max(1_000_000).default(2),
  PHANTOM_WS_DIRECT_DELIVERY: z.enum(['on', 'off']).default('on'),
  PHANTOM_WS_IDLE_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(24 * 3600 * 1000)
    .default(60_000),
  PHANTOM_PUBLIC_URL: z.string().url().optional(),
  PHANTOM_EMBEDDED_CLUSTERS: z.enum(['on', 'off']).default('on'),
  PHANTOM_MIGRATE_ON_START: z.enum(['on', 'off']).default('on'),
  PHANTOM_REDIS_PREFIX: z.string().min(1).max(100).default('phantom:'),
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  PHANTOM_ROLES: z
    .string()
    .default('api,worker')
    .transform((v, ctx) => {
      const roles = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const r of roles)
        if (r !== 'api' && r !== 'worker')
          ctx.addIssue({ code: 'custom', message: `unknown role "${r}" (roles: api, worker)` });
      if (!roles.length)
        ctx.addIssue({ code: 'custom', message: 'name at least one role: api, worker' });
      return { api: roles.includes('api'), worker: roles.includes('worker') };
    }),
  // Fractional hours are allowed (tests use a few seconds); at most a year.
  PHANTOM_TICKET_TTL_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 365)
    .default(72),
  PHANTOM_WEBHOOK_ALLOW_PRIVATE: z.enum(['on', 'off']).default('off'),
  PHANTOM_WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    ),
  PHANTOM_NOTIFY_RATE_LIMITS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parseRateLimits(v ?? '');
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return {};
      }
    }),
  PHANTOM_NOTIFY_THROTTLE_WAIT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(24 * 3600 * 1000)
    .optional(),
  PHANTOM_NOTIFY_RETRY_WINDOW_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600 * 1000)
    .default(1_800_000),
  PHANTOM_NOTIFY_DIGEST_MAX: z.coerce.number().int().min(1).max(100).default(20),
  PHANTOM_NOTIFY_UNHEALTHY_AFTER: z.coerce.number().int().min(1).max(1000).default(3),
  PHANTOM_ENGINE_CLAIM_TTL_MS: z.coerce.number().int().min(500).max(600_000).default(15_000),
  PHANTOM_ENGINE_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  PHANTOM_ENGINE_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(100),
  PHANTOM_RELEASE_FAILURE_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(5000),
  PHANTOM_RELEASE_PROGRESS_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  PHANTOM_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(90),
  PHANTOM_BUILD_EXECUTOR: z.enum(['local', 'kubernetes']).default('local'),
  PHANTOM_BUILD_K8S_CLUSTER: z.string().min(1).optional(),
  PHANTOM_BUILD_K8S_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a Kubernetes namespace name')
    .default('phantom-builds'),
  PHANTOM_BUILD_K8S_IMAGE: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._\-/:@+]*$/, 'must be an image reference')
    .default('alpine/git:latest'),
  PHANTOM_BUILD_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(2),
  PHANTOM_BUILD_TIMEOUT_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 3600)
    .default(1800),
  PHANTOM_BUILD_LOG_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024)
    .default(5 * 1024 * 1024),
  PHANTOM_REGISTRY: z
    .string()
    .default('registry.local')
    // Build images are `<registry>/<app>:<tag>`: the setting must make references the release
    // precheck (the kubelet's grammar) accepts, e.g. no upper-case path.
    .refine((v) => v.length > 0 && imageReferenceProblem(`${v}/app:1`) === null, {
      message:
        'must be a registry host[:port][/path] in the image-reference grammar (lower-case path), e.g. registry.example.com/team',
    }),
  PHANTOM_TRUST_PROXY: z
    .string()
    .default('off')
    .transform((v, ctx): false | number | string[] => {
      if (v === 'off') return false;
      if (/^\d{1,2}$/.test(v)) return Number(v);
      const list = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const s of list) {
        if (!/^(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d{1,3})?)$/.test(s))
          ctx.addIssue({
            code: 'custom',
            message: `"${s}" is not off, a hop count, loopback, linklocal, uniquelocal or an address/CIDR`,
          });
      }
      return list;
    }),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).max(100).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Every environment variable Phantom reads (deploy/ manifests are checked against it). */
export const SETTING_NAMES: readonly string[] = Object.keys(schema.shape);

/** Validated settings. Field names follow the environment variables (see README "Settings"). */
export interface Config {
  port: number;
  host: string;
  /** mysql://… or undefined for the embedded SQLite database in `dataDir`. */
  databaseUrl?: string;
  databaseReplicaUrls: string[];
  /** redis://… or undefined for the in-process bus, cache and sessions. */
  /** OpenTelemetry OTLP/HTTP endpoint (traces on when set). */
  otelEndpoint?: string;
  /** MySQL pool size per process (DATABASE_POOL_MAX): a worker running hundreds of releases wants more than an API replica. */
  databasePoolMax: number;
  /** Where Redis is: REDIS_URL, or `redis-sentinel://…` built from REDIS_SENTINELS/REDIS_SENTINEL_NAME (see redis-connection.ts). Unset: in-process. */
  redisUrl?: string;
  adminToken?: string;
  /** PHANTOM_METRICS_TOKEN: when set, `GET /metrics` needs it as a bearer token; unset, the page is open. */
  metricsToken?: string;
  dataDir: string;
  kubeconfigPath?: string;
  sessionTtlSeconds: number;
  cacheTtlSeconds: number;
  maxBodyBytes: number;
  /** Open graphql-ws sockets per remote address (default 50); more are closed with 4429. */
  wsMaxSocketsPerClient: number;
  /** Operations at once on one graphql-ws socket (PHANTOM_WS_MAX_SUBSCRIPTIONS_PER_SOCKET); more are refused per id. */
  wsMaxSubscriptionsPerSocket: number;
  /** Operations at once of one user over all its graphql-ws sockets on this process (PHANTOM_WS_MAX_SUBSCRIPTIONS_PER_USER). */
  wsMaxSubscriptionsPerUser: number;
  /**
   * `platformEvents` frames written to the socket straight from the feed while a subscriber
   * keeps up (PHANTOM_WS_DIRECT_DELIVERY, default on); off: every frame through graphql-ws's
   * per-subscription loop.
   */
  wsDirectDelivery: boolean;
  /** HTTP operations run compiled (graphql-jit) from a document's n-th execution on (PHANTOM_GRAPHQL_JIT_AFTER); 0: never. */
  graphqlJitAfter: number;
  /** A graphql-ws socket with no active subscription this long is closed with 4408 (default 60000). */
  wsIdleTimeoutMs: number;
  publicUrl?: string;
  embeddedClusters: boolean;
  /** Apply pending migrations at `serve` (default on); off: `serve` refuses to start until `phantom migrate` ran. */
  migrateOnStart: boolean;
  /** Namespace for every Redis key (default `phantom:`). */
  redisPrefix: string;
  /**
   * A Redis command without a reply after this many ms fails (default 1000), so a frozen
   * Redis slows requests down by at most this much instead of hanging them. Blocking stream
   * reads are exempt (their own connections).
   */
  redisCommandTimeoutMs: number;
  /**
   * What `phantom serve` runs (PHANTOM_ROLES, default `api,worker`: one process does it all).
   * `api`: HTTP/GraphQL and subscriptions; `worker`: outbox relay and chat notifier.
   */
  roles: { api: boolean; worker: boolean };
  /** How long an approval ticket stays open before it expires (PHANTOM_TICKET_TTL_HOURS, default 72; fractions allowed). */
  ticketTtlHours: number;
  /** Notification webhooks may reach loopback/private/link-local addresses (default off: SSRF guard). */
  webhookAllowPrivate: boolean;
  /** `host` or `host:port` entries notification webhooks may reach even on private addresses. */
  webhookAllowedHosts: string[];
  /**
   * Chat delivery at the vendors' limits (README "Chat notifications at the vendors' limits"):
   * per-channel rate overrides (PHANTOM_NOTIFY_RATE_LIMITS, e.g. `WEBHOOK=60/1m`), the wait after
   * a throttle without Retry-After (PHANTOM_NOTIFY_THROTTLE_WAIT_MS, default per channel:
   * DingTalk 10 min, others 1 min), the retry window (PHANTOM_NOTIFY_RETRY_WINDOW_MS, default
   * 30 min), events per digest (PHANTOM_NOTIFY_DIGEST_MAX, default 20) and permanent failures
   * in a row before a route is unhealthy (PHANTOM_NOTIFY_UNHEALTHY_AFTER, default 3).
   */
  notify: {
    rateLimits: Partial<ChannelRateLimits>;
    throttleWaitMs?: number;
    retryWindowMs: number;
    digestMax: number;
    unhealthyAfter: number;
  };
  /**
   * Which proxies' `X-Forwarded-For` names the client (PHANTOM_TRUST_PROXY, Express's
   * `trust proxy`): false (default) = the socket's address; a hop count; or addresses, CIDRs
   * and `loopback`/`linklocal`/`uniquelocal`. Sign-in throttling and the audit bound key on it.
   */
  trustProxy: false | number | string[];
  logLevel: string;
  /**
   * The release engine (worker role): claim time to live (a dead worker's releases continue
   * elsewhere after at most this), backstop poll, releases run at once per worker, and how long
   * a crash-looping/unpullable pod or an unreachable cluster is tolerated before a wave fails.
   */
  engine: {
    claimTtlMs: number;
    pollMs: number;
    concurrency: number;
    verify: { failureGraceMs: number; progressIntervalMs: number };
  };
  /** Days platform events and audit entries are kept (worker's retention job); 0 keeps everything. */
  retentionDays: number;
  /**
   * Builds (worker role): where they run (PHANTOM_BUILD_EXECUTOR, `local`: on the worker's
   * host, the default; `kubernetes`: as a batch/v1 Job on the build cluster), builds at once per worker (PHANTOM_BUILD_CONCURRENCY, default 2), the time limit of
   * one build (PHANTOM_BUILD_TIMEOUT_SECONDS, default 1800), the log bound
   * (PHANTOM_BUILD_LOG_MAX_BYTES, default 5 MiB: older lines are dropped past it) and the
   * registry images are named under (PHANTOM_REGISTRY, default `registry.local`).
   */
  builds: {
    executor: 'local' | 'kubernetes';
    concurrency: number;
    timeoutMs: number;
    logMaxBytes: number;
    registry: string;
    /**
     * The Kubernetes executor: the build cluster (PHANTOM_BUILD_K8S_CLUSTER, default the first
     * cluster), its namespace (PHANTOM_BUILD_K8S_NAMESPACE, default `phantom-builds`) and the
     * builder image with git, sh and the toolchains (PHANTOM_BUILD_K8S_IMAGE, default `alpine/git:latest`).
     */
    kubernetes: { cluster?: string; namespace: string; image: string };
  };
}

/**
 * With a cluster, the Redis target is `redis-cluster://[auth@]n1:p1,n2:p2` (seed nodes).
 * With sentinels, the Redis target is `redis-sentinel://[auth@]s1:p1,s2:p2/<name>[/db]`
 * (src/pubsub/redis-connection.ts), taking credentials and db from REDIS_URL when given.
 */
function redisTarget(
  url: string | undefined,
  sentinels: string | undefined,
  name: string | undefined,
  clusterNodes?: string,
): string | undefined {
  if (!sentinels && !clusterNodes) return url;
  const u = url ? new URL(url) : undefined;
  const auth =
    u && (u.username || u.password) ? `${u.username}${u.password ? `:${u.password}` : ''}@` : '';
  // A cluster has only db 0.
  if (clusterNodes)
    return `redis-cluster://${auth}${clusterNodes
      .split(',')
      .map((h) => h.trim())
      .join(',')}`;
  if (!sentinels) return url;
  const db = u && u.pathname.length > 1 ? u.pathname : '';
  return `redis-sentinel://${auth}${sentinels
    .split(',')
    .map((h) => h.trim())
    .join(',')}/${encodeURIComponent(name!)}${db}`;
}

/** Thrown by {@link loadConfig}; `problems` has one line per bad setting. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses `env` (default `process.env`); throws {@link ConfigError} naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset": shells and compose files often export VAR= .
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || 'env'}: ${i.message}`),
    );
  }
  const e = parsed.data;
  if (e.REDIS_CLUSTER_NODES && e.REDIS_SENTINELS) {
    throw new ConfigError([
      'REDIS_CLUSTER_NODES: set either REDIS_CLUSTER_NODES (Redis Cluster) or REDIS_SENTINELS (Sentinel), not both',
    ]);
  }
  if (Boolean(e.REDIS_SENTINELS) !== Boolean(e.REDIS_SENTINEL_NAME)) {
    throw new ConfigError([
      `${e.REDIS_SENTINELS ? 'REDIS_SENTINEL_NAME' : 'REDIS_SENTINELS'}: set both REDIS_SENTINELS and REDIS_SENTINEL_NAME to use Redis through Sentinel`,
    ]);
  }
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databaseReplicaUrls: e.DATABASE_REPLICA_URLS,
    databasePoolMax: e.DATABASE_POOL_MAX,
    otelEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    redisUrl: redisTarget(
      e.REDIS_URL,
      e.REDIS_SENTINELS,
      e.REDIS_SENTINEL_NAME,
      e.REDIS_CLUSTER_NODES,
    ),
    adminToken: e.PHANTOM_ADMIN_TOKEN,
    metricsToken: e.PHANTOM_METRICS_TOKEN,
    dataDir: e.PHANTOM_DATA_DIR,
    kubeconfigPath: e.PHANTOM_KUBECONFIG,
    sessionTtlSeconds: e.PHANTOM_SESSION_TTL_SECONDS,
    cacheTtlSeconds: e.PHANTOM_CACHE_TTL_SECONDS,
    maxBodyBytes: e.PHANTOM_MAX_BODY_BYTES,
    wsMaxSocketsPerClient: e.PHANTOM_WS_MAX_SOCKETS_PER_CLIENT,
    wsMaxSubscriptionsPerSocket: e.PHANTOM_WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
    wsMaxSubscriptionsPerUser: e.PHANTOM_WS_MAX_SUBSCRIPTIONS_PER_USER,
    wsDirectDelivery: e.PHANTOM_WS_DIRECT_DELIVERY === 'on',
    graphqlJitAfter: e.PHANTOM_GRAPHQL_JIT_AFTER,
    wsIdleTimeoutMs: e.PHANTOM_WS_IDLE_TIMEOUT_MS,
    publicUrl: e.PHANTOM_PUBLIC_URL,
    embeddedClusters: e.PHANTOM_EMBEDDED_CLUSTERS === 'on',
    migrateOnStart: e.PHANTOM_MIGRATE_ON_START === 'on',
    redisPrefix: e.PHANTOM_REDIS_PREFIX,
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    roles: e.PHANTOM_ROLES,
    ticketTtlHours: e.PHANTOM_TICKET_TTL_HOURS,
    webhookAllowPrivate: e.PHANTOM_WEBHOOK_ALLOW_PRIVATE === 'on',
    webhookAllowedHosts: e.PHANTOM_WEBHOOK_ALLOWED_HOSTS,
    notify: {
      rateLimits: e.PHANTOM_NOTIFY_RATE_LIMITS,
      throttleWaitMs: e.PHANTOM_NOTIFY_THROTTLE_WAIT_MS,
      retryWindowMs: e.PHANTOM_NOTIFY_RETRY_WINDOW_MS,
      digestMax: e.PHANTOM_NOTIFY_DIGEST_MAX,
      unhealthyAfter: e.PHANTOM_NOTIFY_UNHEALTHY_AFTER,
    },
    trustProxy: e.PHANTOM_TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    engine: {
      claimTtlMs: e.PHANTOM_ENGINE_CLAIM_TTL_MS,
      pollMs: e.PHANTOM_ENGINE_POLL_MS,
      concurrency: e.PHANTOM_ENGINE_CONCURRENCY,
      verify: {
        failureGraceMs: e.PHANTOM_RELEASE_FAILURE_GRACE_MS,
        progressIntervalMs: e.PHANTOM_RELEASE_PROGRESS_INTERVAL_MS,
      },
    },
    retentionDays: e.PHANTOM_RETENTION_DAYS,
    builds: {
      executor: e.PHANTOM_BUILD_EXECUTOR,
      concurrency: e.PHANTOM_BUILD_CONCURRENCY,
      timeoutMs: e.PHANTOM_BUILD_TIMEOUT_SECONDS * 1000,
      logMaxBytes: e.PHANTOM_BUILD_LOG_MAX_BYTES,
      registry: e.PHANTOM_REGISTRY,
      kubernetes: {
        cluster: e.PHANTOM_BUILD_K8S_CLUSTER,
        namespace: e.PHANTOM_BUILD_K8S_NAMESPACE,
        image: e.PHANTOM_BUILD_K8S_IMAGE,
      },
    },
  };
}
