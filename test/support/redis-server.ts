/**
 * A dedicated `redis-server` for fault tests (frozen, killed, restarted from its dump): on a
 * free port and in a temp directory of its own, never the shared Redis other suites use.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './until.js';

/** True when `redis-server` is on PATH (the fault tests run only then). */
export const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface DedicatedRedis {
  port: number;
  url: string;
  /** Runs `redis-cli -p <port> <args>` and returns its stdout (trimmed). */
  cli(...args: string[]): string;
  /** Starts the server (again) and waits for PONG; it loads `dump.rdb` if a `SAVE` wrote one. */
  start(): Promise<void>;
  /** SIGKILL, waits for the exit. */
  kill(): Promise<void>;
  /** SIGSTOP: the process keeps its connections open and answers nothing. */
  freeze(): void;
  /** SIGCONT. */
  thaw(): void;
  /** Kills the server and removes its directory. */
  dispose(): Promise<void>;
}

async function redisOnFreePort(opts: { args?: string[] }): Promise<DedicatedRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'phantom-redis-'));
  let proc: ChildProcess | undefined;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--dbfilename',
    'dump.rdb',
    '--save',
    '',
    '--appendonly',
    'no',
    ...(opts.args ?? []),
  ];
  const cli = (...a: string[]) =>
    spawnSync('redis-cli', ['-p', String(port), ...a])
      .stdout?.toString()
      .trim() ?? '';
  const r: DedicatedRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    cli,
    async start() {
      const child = spawn('redis-server', args, { stdio: 'ignore' });
      proc = child;
      // A server that exits (its port taken meanwhile by another test's server) fails at once.
      let exited = false;
      const exit = new Promise<never>((_, reject) =>
        child.once('exit', (code, signal) => {
          exited = true;
          reject(new Error(`redis-server on ${port} exited (${code ?? signal})`));
        }),
      );
      exit.catch(() => {}); // a later kill() ends it too: nobody waits for that
      await Promise.race([until('redis-server up', () => exited || cli('ping') === 'PONG'), exit]);
      if (exited) await exit;
    },
    async kill() {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((res) => proc!.once('exit', res));
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
      await exited;
    },
    freeze() {
      proc?.kill('SIGSTOP');
    },
    thaw() {
      proc?.kill('SIGCONT');
    },
    async dispose() {
      await r.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return r;
}

/**
 * A redis-server on a free port. No automatic snapshots; `cli('SAVE')` writes `dump.rdb` in its
 * directory and a restart loads it, like a persisted production Redis restarting from its dump.
 * Without a SAVE a restart comes back empty. A free port can be taken by another test file's
 * server before this one binds it: then it tries again on another port (three times at most).
 */
export async function dedicatedRedis(opts: { args?: string[] } = {}): Promise<DedicatedRedis> {
  for (let attempt = 1; ; attempt++) {
    const r = await redisOnFreePort(opts);
    try {
      await r.start();
      return r;
    } catch (e) {
      await r.dispose();
      if (attempt >= 3 || !(e instanceof Error && e.message.includes('exited'))) throw e;
    }
  }
}
