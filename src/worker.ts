/**
 * `phantom worker`: the background role without the GraphQL API. Runs the outbox relay
 * (numbering events, publishing them to the stream and bus) and the chat notifier, plus a
 * small HTTP listener with `/healthz` and `/readyz` for the orchestrator. Production runs N
 * of these beside N `PHANTOM_ROLES=api` replicas; `phantom serve` with the default
 * `PHANTOM_ROLES=api,worker` runs both roles in one process.
 *
 * Kubernetes: `createPlatform` attaches the cluster runtime in every role (the API's live
 * fields read its informer caches), and its watchers publish pod changes under their own
 * lease, so they run in whichever process wins that lease, api or worker.
 */
import { createServer, type Server } from 'node:http';
import { serveMetrics } from './server/metrics.js';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { createPlatform, type Platform } from './server/platform.js';
import type { NotifierOptions } from './domain/notify/notifier.js';
import { startWorkerRole } from './engine/index.js';
import type { ReleaseEngineOptions } from './engine/releases/release-engine.js';
import { checkReadiness } from './server/readiness.js';

export interface HealthListener {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface PhantomWorker {
  platform: Platform;
  health: HealthListener;
  /** Graceful stop: the health listener, then background work, then connections. */
  stop(): Promise<void>;
}

export interface WorkerOptions {
  /** Chat-notification tuning (retries, backoff, polling); defaults in NotifierOptions. */
  notifier?: Partial<NotifierOptions>;
  /** Release engine tuning; defaults from the config. */
  engine?: ReleaseEngineOptions;
}

/**
 * Serves `/healthz` (the process is up) and `/readyz` (the primary database and Redis answer
 * within the readiness budget; 503 naming the failed check otherwise) on `port`/`host`. Everything else is 404: a worker has no API.
 */
export async function startHealthListener(
  platform: Platform,
  port: number,
  host: string,
): Promise<HealthListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(405, { error: 'method not allowed' });
    if (path === '/healthz') return send(200, { status: 'ok', role: 'worker' });
    if (path === '/metrics') {
      serveMetrics(platform.metrics, platform.config.metricsToken, req, res).catch(() =>
        send(500, { error: 'metrics failed' }),
      );
      return;
    }
    if (path === '/readyz') {
      void checkReadiness(platform).then((r) =>
        r.ok
          ? send(200, { status: 'ready', role: 'worker', checks: r.checks })
          : send(503, { status: 'not ready', role: 'worker', checks: r.checks, failed: r.failed }),
      );
      return;
    }
    send(404, { error: 'not found: a worker serves /healthz, /readyz and /metrics only' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return {
    url: `http://${shown}:${actual}`,
    port: actual,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Starts a worker-only Phantom from a validated config (its `roles` are not consulted). */
export async function startWorker(
  config: Config,
  opts: WorkerOptions = {},
): Promise<PhantomWorker> {
  // A worker-only process: no embedded clusters of its own (see attachK8s).
  const platform = await createPlatform({ ...config, roles: { api: false, worker: true } });
  try {
    const health = await startHealthListener(platform, config.port, config.host);
    platform.onClose(() => health.close());
    // Links in chat messages point at the API, not at this listener: set PHANTOM_PUBLIC_URL on workers.
    await startWorkerRole(platform, {
      publicUrl: config.publicUrl ?? `http://localhost:4000`,
      notifier: opts.notifier,
      engine: opts.engine,
    });
    let stopping: Promise<void> | undefined;
    return {
      platform,
      health,
      stop: () => (stopping ??= platform.close()),
    };
  } catch (e) {
    await platform.close();
    throw e;
  }
}
