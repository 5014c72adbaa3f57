/**
 * `GET /metrics` (Prometheus text, prom-client) on the API listener and on the worker's
 * health listener (issue 9). One registry per Phantom (tests run several in one process).
 * What is counted on the hot path is cheap (a histogram observation per operation); what
 * needs a query (outbox lag, releases by status) or a round trip (Redis) runs at scrape time.
 *
 * The page names operations and counts, no secrets, but it is readable without a GraphQL
 * credential: with `PHANTOM_METRICS_TOKEN` set, a scraper must send it as a bearer token.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLError } from 'graphql';
import type { EntityManager } from '@mikro-orm/core';
import { DomainError } from '../domain/shared/errors.js';
import type { EngineStats } from '../engine/releases/release-runner.js';
import type { Platform } from './platform.js';
import {
  buildsByStatus,
  deliveriesByStatus,
  notifierLag,
  releasesByStatus,
  unpublishedEvents,
} from './metrics.repository.js';

/** The metrics of one Phantom process. */
export interface PhantomMetrics {
  registry: Registry;
  /** One finished GraphQL operation (HTTP or graphql-ws). `result`: 'ok' or the first error's code. */
  observeOperation(operation: string, type: string, result: string, seconds: number): void;
  /** Errors by `extensions.code`. */
  countErrors(codes: string[]): void;
  /** Counts the open sockets of the API's WebSocket server at scrape time. */
  watchSockets(server: { clients: Set<unknown> }): void;
  /** Apollo plugin that times each HTTP operation and counts its errors. */
  apolloPlugin(): ApolloServerPlugin;
  /** graphql-ws: a subscription started (`+1`) or ended (`-1`), by operation name. */
  subscriptionDelta(operation: string, delta: 1 | -1): void;
  /** graphql-ws: one result message sent to a subscriber. */
  countWsMessage(operation: string): void;
  /** Release engine: a step that ran ended (`status` SUCCEEDED or FAILED) after `seconds`. */
  observeReleaseStep(step: string, status: string, seconds: number): void;
}

// Scrape-time reads get a deadline: a frozen database must not hang the scrape.
function within<T>(ms: number, p: Promise<T>): Promise<T | undefined> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(undefined), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      () => {
        clearTimeout(t);
        resolve(undefined);
      },
    );
  });
}

const SCRAPE_QUERY_MS = 1000;
/** Distinct operation names kept as label values. */
export const MAX_OPERATION_NAMES = 200;

/** Creates the registry and the scrape-time collectors for `platform`. */
export function createMetrics(platform: Platform): PhantomMetrics {
  const registry = new Registry();
  // Process and Node.js metrics (CPU, memory, event loop lag, GC) as phantom_process_* and phantom_nodejs_*.
  collectDefaultMetrics({ register: registry, prefix: 'phantom_' });
  const operations = new Histogram({
    name: 'phantom_graphql_operation_duration_seconds',
    help: 'GraphQL operations by name, type and result (ok or the first error code).',
    labelNames: ['operation', 'type', 'result'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'phantom_graphql_errors_total',
    help: 'GraphQL errors by extensions.code.',
    labelNames: ['code'],
    registers: [registry],
  });
  let wsServer: { clients: Set<unknown> } | undefined;
  new Gauge({
    name: 'phantom_websocket_sockets',
    help: 'Open graphql-ws sockets.',
    registers: [registry],
    collect() {
      this.set(wsServer?.clients.size ?? 0);
    },
  });
  new Gauge({
    name: 'phantom_subscription_watchers',
    help: "Subscribers of this process's live feeds, by feed (platformEvents, releaseProgress: releases watched).",
    labelNames: ['feed'],
    registers: [registry],
    collect() {
      this.set({ feed: 'platformEvents' }, platform.services.platformEvents?.listenerCount ?? 0);
      this.set(
        { feed: 'releaseProgress' },
        platform.services.releaseProgress?.watchedReleases ?? 0,
      );
    },
  });
  new Gauge({
    name: 'phantom_outbox_lag_events',
    help: 'Platform events committed but not yet published by the outbox relay (-1: the database did not answer in time).',
    registers: [registry],
    async collect() {
      this.set((await within(SCRAPE_QUERY_MS, unpublishedEvents(platform.orm.em.fork()))) ?? -1);
    },
  });
  // Counts by status, read at scrape time; nothing is reported when the database does not answer in time.
  const byStatus = (
    name: string,
    help: string,
    read: (em: EntityManager) => Promise<Map<string, number>>,
    label = 'status',
  ) =>
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      async collect() {
        const counts = await within(SCRAPE_QUERY_MS, read(platform.orm.em.fork()));
        this.reset();
        for (const [value, n] of counts ?? []) this.set({ [label]: value }, n);
      },
    });
  byStatus('phantom_releases', 'Releases by status (read at scrape time).', releasesByStatus);
  byStatus('phantom_builds', 'Builds by status (read at scrape time).', buildsByStatus);
  byStatus(
    'phantom_notification_deliveries',
    'Chat notification deliveries by status (read at scrape time); DEAD: dead letters.',
    deliveriesByStatus,
  );
  byStatus(
    'phantom_notifier_lag_events',
    'Platform events not yet handled by the chat notifier, per consumer group (newest event id minus its cursor).',
    notifierLag,
    'group',
  );
  const releaseSteps = new Histogram({
    name: 'phantom_release_step_duration_seconds',
    help: 'Release steps that ran, by step and result (SUCCEEDED or FAILED), from start to end.',
    labelNames: ['step', 'status'],
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers: [registry],
  });
  // Informers of this process's cluster runtime (API replicas and workers each have their own).
  const informers = () => platform.services.k8s?.runtime.informerStats() ?? [];
  new Gauge({
    name: 'phantom_informer_synced',
    help: 'Whether an informer has listed its objects (1) or not yet (0), by cluster and kind.',
    labelNames: ['cluster', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const i of informers()) this.set({ cluster: i.cluster, kind: i.kind }, i.synced ? 1 : 0);
    },
  });
  new Gauge({
    name: 'phantom_informer_failing',
    help: "Whether an informer's last list or watch failed and it is being restarted (1), by cluster and kind.",
    labelNames: ['cluster', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const i of informers())
        this.set({ cluster: i.cluster, kind: i.kind }, i.failing ? 1 : 0);
    },
  });
  new Counter({
    name: 'phantom_informer_restarts_total',
    help: 'Informer restarts after a failed list or watch, by cluster and kind.',
    labelNames: ['cluster', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const i of informers()) this.inc({ cluster: i.cluster, kind: i.kind }, i.restarts);
    },
  });
  new Counter({
    name: 'phantom_informer_relists_total',
    help: 'Relists because a watch could not resume (410 Gone, or a resourceVersion from the future), by cluster and kind.',
    labelNames: ['cluster', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const i of informers()) this.inc({ cluster: i.cluster, kind: i.kind }, i.relists);
    },
  });
  new Gauge({
    name: 'phantom_db_pool_connections',
    help: 'Primary database pool connections by state (used, free, pending acquires).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      // knex's tarn pool; absent on drivers without one.
      const pool = (
        platform.orm.em.getConnection('write') as unknown as {
          getKnex?: () => {
            client?: {
              pool?: { numUsed(): number; numFree(): number; numPendingAcquires(): number };
            };
          };
        }
      ).getKnex?.().client?.pool;
      if (!pool) return;
      this.set({ state: 'used' }, pool.numUsed());
      this.set({ state: 'free' }, pool.numFree());
      this.set({ state: 'pending' }, pool.numPendingAcquires());
    },
  });
  new Counter({
    name: 'phantom_db_statements_total',
    help: "SQL statements this process sent (as counted by the ORM's query hook; BEGIN and COMMIT not included).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(platform.sqlStats.queries);
    },
  });
  // The release engine's work counts (worker role; absent where no engine runs).
  const engineCounts: [string, string, (s: EngineStats) => number][] = [
    [
      'phantom_release_engine_waves_total',
      'Deployment waves (one deployment to one cluster) the release engine ran.',
      (s) => s.steps,
    ],
    [
      'phantom_release_engine_progress_commits_total',
      "Progress changes the release engine committed (releases' status, steps, pod counts).",
      (s) => s.commits,
    ],
    [
      'phantom_release_engine_progress_transactions_total',
      'Transactions those progress changes took (group commit: changes of releases running at once share one).',
      (s) => s.transactions,
    ],
  ];
  for (const [name, help, count] of engineCounts)
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        const s = platform.services.releaseEngine?.stats;
        if (s) this.inc(count(s));
      },
    });
  new Gauge({
    name: 'phantom_kv_ping_seconds',
    help: 'Round trip of one PING to the KV store (Redis, or in-process) at scrape time (-1: no answer in time).',
    registers: [registry],
    async collect() {
      const start = process.hrtime.bigint();
      const ok = await within(SCRAPE_QUERY_MS, platform.kv.ping());
      this.set(ok ? Number(process.hrtime.bigint() - start) / 1e9 : -1);
    },
  });

  // Operation names come from clients: past this many distinct ones, the rest count as "other".
  const names = new Set<string>();
  const label = (operation: string): string => {
    if (!names.has(operation) && names.size >= MAX_OPERATION_NAMES) return 'other';
    names.add(operation);
    return operation;
  };
  const observeOperation = (operation: string, type: string, result: string, seconds: number) => {
    operations.observe({ operation: label(operation), type, result }, seconds);
  };
  const activeSubscriptions = new Gauge({
    name: 'phantom_graphql_ws_subscriptions',
    help: 'Active graphql-ws subscriptions by operation name.',
    labelNames: ['operation'],
    registers: [registry],
  });
  const wsMessages = new Counter({
    name: 'phantom_graphql_ws_messages_total',
    help: 'Result messages sent to graphql-ws subscribers, by operation name.',
    labelNames: ['operation'],
    registers: [registry],
  });
  const countErrors = (codes: string[]) => {
    for (const code of codes) errors.inc({ code });
  };
  return {
    registry,
    observeOperation,
    countErrors,
    watchSockets: (server) => {
      wsServer = server;
    },
    subscriptionDelta: (operation, delta) => {
      activeSubscriptions.inc({ operation: label(operation) }, delta);
    },
    countWsMessage: (operation) => {
      wsMessages.inc({ operation: label(operation) });
    },
    observeReleaseStep: (step, status, seconds) => {
      releaseSteps.observe({ step, status }, seconds);
    },
    apolloPlugin: () => ({
      requestDidStart() {
        const start = process.hrtime.bigint();
        return Promise.resolve({
          willSendResponse(rc) {
            const codes = (rc.errors ?? []).map(codeOf);
            countErrors(codes);
            // An operation's name comes from the document; a name nobody declared is one label value, not many.
            const name = rc.operationName ?? (rc.operation ? 'anonymous' : 'unparsed');
            observeOperation(
              name.slice(0, 64),
              rc.operation?.operation ?? 'unknown',
              codes[0] ?? 'ok',
              Number(process.hrtime.bigint() - start) / 1e9,
            );
            return Promise.resolve();
          },
        });
      },
    }),
  };
}

/** The code a client sees for `e` (what formatError will answer), before formatting. */
function codeOf(e: GraphQLError): string {
  const original = unwrapResolverError(e);
  if (original instanceof DomainError) return original.code;
  const { code, limitCode } = e.extensions ?? {};
  if (typeof limitCode === 'string') return limitCode;
  return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Answers a `/metrics` request: 401 without the bearer token when `token` is set (compared
 * in constant time), else the registry's text.
 */
export async function serveMetrics(
  metrics: PhantomMetrics,
  token: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (token) {
    const given = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
    if (!timingSafeEqual(digest(given), digest(token))) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' });
      res.end('A bearer token (PHANTOM_METRICS_TOKEN) is required.\n');
      return;
    }
  }
  const body = await metrics.registry.metrics();
  res.writeHead(200, { 'content-type': metrics.registry.contentType });
  res.end(body);
}
