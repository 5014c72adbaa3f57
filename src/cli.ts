#!/usr/bin/env node
/**
 * Phantom's command line: `phantom serve | worker | migrate | schema [--check] | sim`.
 */
import 'reflect-metadata';
import { writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { ConfigError, loadConfig, type Config } from './config.js';
import { User } from './domain/people/user.entity.js';
import { createOrm, migrate } from './db/orm.js';
import { join } from 'node:path';

const USAGE = `Usage: phantom <command>

Commands:
  serve                 run the roles in PHANTOM_ROLES (default api,worker: the API and the
                        background work in one process; embedded defaults unless
                        DATABASE_URL / REDIS_URL are set)
  worker                run the worker role only (outbox relay, chat notifier), with
                        /healthz and /readyz on PORT
  migrate               apply database migrations (MySQL/MariaDB) or the schema (embedded SQLite)
  schema [--check]      write schema/schema.graphql (--check: fail if it is stale)
  sim --port <p> [--name <cluster>] [--kubeconfig <file>] [--data <dir>]
                        run a simulated Kubernetes cluster (default name sim-1) in the foreground
  help                  this text

Settings come from the environment; see README.md "Settings".`;

function config(): Config {
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

async function serve(workerOnly: boolean): Promise<void> {
  const c = config();
  let phantom: {
    platform: { logger: { info(o: object, m: string): void; error(o: object, m: string): void } };
    stop(): Promise<void>;
  };
  if (workerOnly || !c.roles.api) {
    const { startWorker } = await import('./worker.js');
    const worker = await startWorker(c);
    worker.platform.logger.info(
      { url: worker.health.url, roles: ['worker'] },
      `Phantom worker is running (health at ${worker.health.url}/healthz)`,
    );
    phantom = worker;
  } else {
    const { startPhantom } = await import('./main.js');
    const api = await startPhantom(c);
    const roles = c.roles.worker ? ['api', 'worker'] : ['api'];
    api.platform.logger.info(
      { url: api.server.url, roles },
      `Phantom is serving at ${api.server.url}`,
    );
    if (!(await api.platform.orm.em.fork().count(User, {}))) {
      api.platform.logger.warn(
        'No users yet: every request will be refused. Restart with PHANTOM_ADMIN_TOKEN=<a long secret> to create the admin user and its token.',
      );
    }
    phantom = api;
  }
  const { logger } = phantom.platform;
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    phantom.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

async function runMigrate(): Promise<void> {
  const c = config();
  const { orm } = await createOrm({
    databaseUrl: c.databaseUrl,
    sqlitePath: join(c.dataDir, 'phantom.db'),
  });
  try {
    const applied = await migrate(orm);
    process.stdout.write(
      applied.length
        ? `Applied: ${applied.join(', ')}\n`
        : 'Nothing to apply: the database is current.\n',
    );
  } finally {
    await orm.close(true);
  }
}

async function schema(check: boolean): Promise<void> {
  const { buildPhantomSchema } = await import('./resolvers/index.js');
  const sdl = printSchema(lexicographicSortSchema(await buildPhantomSchema())) + '\n';
  const file = 'schema/schema.graphql';
  if (check) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      /* missing counts as stale */
    }
    if (current !== sdl) {
      process.stderr.write(`${file} is stale: run "npm run schema" and commit the result.\n`);
      process.exit(1);
    }
    process.stdout.write(`${file} is current.\n`);
    return;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, sdl);
  process.stdout.write(`Wrote ${file}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'serve':
      return serve(false);
    case 'worker':
      return serve(true);
    case 'migrate':
      return runMigrate();
    case 'sim':
      return (await import('./k8s/sim-command.js')).runSim(rest);
    case 'schema':
      return schema(rest.includes('--check'));
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      process.stderr.write(`Unknown command "${cmd}".\n\n${USAGE}\n`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`phantom: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
