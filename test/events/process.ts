/**
 * Runs Phantom as a real child process (`node … src/cli.ts serve|worker`), for tests that
 * need two processes on one MySQL + Redis. The CLI logs JSON lines (pino) on stdout; the
 * start-up line carries the URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN } from '../support/harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface PhantomProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<port> (GraphQL at /graphql for `serve`, /healthz and /readyz for `worker`). */
  url: string;
  /** Every stdout/stderr line so far (for failure messages). */
  output: string[];
  stop(): Promise<void>;
}

/**
 * Spawns `phantom <command>` on the given database and Redis prefix (none: the embedded
 * defaults, in `extra.PHANTOM_DATA_DIR`); resolves once it logged its URL.
 */
export async function spawnPhantom(
  command: 'serve' | 'worker',
  env: {
    databaseUrl?: string;
    redisUrl?: string;
    redisPrefix?: string;
    extra?: Record<string, string>;
  },
  timeoutMs = 60_000,
): Promise<PhantomProcess> {
  const child = spawn(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', 'src/cli.ts', command],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: '0',
        HOST: '127.0.0.1',
        ...(env.databaseUrl ? { DATABASE_URL: env.databaseUrl } : {}),
        ...(env.redisUrl ? { REDIS_URL: env.redisUrl } : {}),
        ...(env.redisPrefix ? { PHANTOM_REDIS_PREFIX: env.redisPrefix } : {}),
        PHANTOM_ADMIN_TOKEN: ADMIN_TOKEN,
        PHANTOM_EMBEDDED_CLUSTERS: 'off',
        LOG_LEVEL: 'info',
        ...env.extra,
      },
    },
  );
  const output: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `phantom ${command} did not start within ${timeoutMs} ms:\n${output.join('\n')}`,
          ),
        ),
      timeoutMs,
    );
    const onLine = (line: string) => {
      output.push(line);
      try {
        const rec = JSON.parse(line) as { url?: string; msg?: string };
        if (rec.url && /Phantom is serving at|Phantom worker is running/.test(rec.msg ?? '')) {
          clearTimeout(timer);
          resolve(rec.url.replace(/\/graphql$/, ''));
        }
      } catch {
        /* not a log record */
      }
    };
    let buf = '';
    const feed = (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    };
    child.stdout.on('data', feed);
    child.stderr.on('data', feed);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`phantom ${command} exited with ${code}:\n${output.join('\n')}`));
    });
  });
  return {
    child,
    url,
    output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(force);
    },
  };
}

/** POSTs a GraphQL request to a spawned `serve` process. */
export async function gqlAt(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  token: string | null = ADMIN_TOKEN,
): Promise<{ data?: any; errors?: any[] }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: any[] };
}
