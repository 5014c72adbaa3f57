/**
 * `phantom serve`: one Phantom process with the API role and, unless PHANTOM_ROLES says
 * `api` only, the worker role too (see src/worker.ts for a worker-only process).
 */
import type { Config } from './config.js';
import { createPlatform, type Platform } from './server/platform.js';
import { startHttpServer, type RunningServer } from './server/http-server.js';
import { buildPhantomSchema } from './resolvers/index.js';
import type { QueryLimits } from './server/limits.js';
import type { Logger } from './server/logger.js';
import { startEventOutbox } from './domain/events/event-outbox.js';
import type { NotifierOptions } from './domain/notify/notifier.js';
import { startWorkerRole } from './engine/index.js';
import type { ReleaseEngineOptions } from './engine/releases/release-engine.js';
import { startReleaseProgressFeed } from './domain/releases/release-progress.module.js';
import { startBuildLogFeed } from './domain/builds/build-log-feed.js';
import { every } from './engine/timers.js';
import type { GraphQLSchema } from 'graphql';
import type { BuildEngineOptions } from './engine/builds/build-engine.js';

export interface Phantom {
  platform: Platform;
  server: RunningServer;
  /** The executable schema the server runs (tests look at its resolvers). */
  schema: GraphQLSchema;
  /** Graceful stop: HTTP and subscriptions first, then background work, then connections. */
  stop(): Promise<void>;
}

export interface StartOptions {
  limits?: QueryLimits;
  /** Chat-notification tuning (retries, backoff, polling); defaults in NotifierOptions. */
  notifier?: Partial<NotifierOptions>;
  /** Release engine tuning (claims, polling, verification); defaults from the config. */
  engine?: ReleaseEngineOptions;
  /** Build engine tuning (claims, polling, log flushes); defaults from the config. */
  builds?: BuildEngineOptions & { jobPollMs?: number };
  /** The process logger (default: a pino logger at config.logLevel); tests pass one to read what was logged. */
  logger?: Logger;
}

/** Starts Phantom from a validated config. Used by the CLI and by tests (port 0). */
export async function startPhantom(config: Config, opts: StartOptions = {}): Promise<Phantom> {
  if (!config.roles.api)
    throw new Error('PHANTOM_ROLES has no "api": run "phantom worker" for a worker-only process.');
  const platform = await createPlatform(config, { logger: opts.logger });
  try {
    // The live feeds for subscriptions (api role).
    await startEventOutbox(platform, { relay: false });
    await startReleaseProgressFeed(platform);
    await startBuildLogFeed(platform, every);
    const schema = await buildPhantomSchema();
    const server = await startHttpServer(platform, schema, {
      port: config.port,
      host: config.host,
      limits: opts.limits,
    });
    // Background work (relay, notifier, release engine): src/engine.
    if (config.roles.worker) {
      await startWorkerRole(platform, {
        publicUrl: config.publicUrl ?? `http://localhost:${new URL(server.url).port}`,
        notifier: opts.notifier,
        engine: opts.engine,
        builds: opts.builds,
      });
    }
    let stopping: Promise<void> | undefined;
    return {
      platform,
      server,
      schema,
      stop: () => {
        stopping ??= (async () => {
          await server.close();
          await platform.close();
        })();
        return stopping;
      },
    };
  } catch (e) {
    await platform.close();
    throw e;
  }
}
