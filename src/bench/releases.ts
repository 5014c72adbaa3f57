/**
 * P6, the release engine: N releases at once across two simulated clusters (a second
 * Phantom with its own database, so the read-path figures are not disturbed). Reports
 * releases per minute and the engine's own CPU per wave (one deployment to one cluster).
 * Target: ≤ 10 ms per wave.
 *
 * On MySQL + Redis the engine runs as in production: a `phantom worker` process of its own
 * beside this process's API (`PHANTOM_ROLES=api`), so the API's answers to the
 * `createRelease` calls (and the bench's own HTTP client) are not counted as the engine's.
 * The worker's figures are read off its `/metrics`. Embedded (SQLite, in-process bus) there
 * is one process, and its CPU over the run is an upper bound (`BENCH_P6_ONE_PROCESS=1` forces
 * that on MySQL too, for comparison).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../config.js';
import { startPhantom } from '../main.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { kubeconfigFor } from '../k8s/sim/index.js';

/** `node <cli> …args` as a child process, from source (tests) or from dist. */
function spawnCli(args: string[], env: NodeJS.ProcessEnv, nodeFlags: string[] = []): ChildProcess {
  const self = fileURLToPath(import.meta.url);
  const fromSource = self.endsWith('.ts');
  const cli = fileURLToPath(new URL(fromSource ? '../cli.ts' : '../cli.js', import.meta.url));
  const pre = fromSource ? ['--import', '@swc-node/register/esm-register'] : [];
  return spawn(process.execPath, [...nodeFlags, ...pre, cli, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env,
  });
}

/** Resolves with the first match of `re` in the child's stdout (and keeps draining it). */
function waitForLine(child: ChildProcess, re: RegExp, what: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    let found = false;
    child.stdout!.on('data', (c: Buffer) => {
      if (found) return;
      out += c.toString();
      const m = out.match(re);
      if (m) {
        found = true;
        out = '';
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      if (!found) reject(new Error(`${what} exited with ${code}: ${out}`));
    });
  });
}

/**
 * `phantom sim` as its own process (as in production, the clusters are not in Phantom's
 * process: their CPU must not count as the engine's). Resolves with its URL.
 */
async function spawnSim(name: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnCli(['sim', '--port', '0', '--name', name], process.env);
  const url = await waitForLine(child, /at (http:\/\/\S+)/, 'phantom sim');
  return { child, url };
}

/** The figures P6 reads off a Phantom's `/metrics`. */
interface Scrape {
  cpuSeconds: number;
  systemSeconds: number;
  waves: number;
  commits: number;
  transactions: number;
  statements: number;
}

async function scrape(metricsUrl: string): Promise<Scrape> {
  const text = await (await fetch(metricsUrl)).text();
  const value = (name: string): number => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (!m) throw new Error(`${metricsUrl} has no ${name}`);
    return Number(m[1]);
  };
  const system = value('phantom_process_cpu_system_seconds_total');
  return {
    cpuSeconds: value('phantom_process_cpu_user_seconds_total') + system,
    systemSeconds: system,
    waves: value('phantom_release_engine_waves_total'),
    commits: value('phantom_release_engine_progress_commits_total'),
    transactions: value('phantom_release_engine_progress_transactions_total'),
    statements: value('phantom_db_statements_total'),
  };
}

const diff = (a: Scrape, b: Scrape): Scrape => ({
  cpuSeconds: b.cpuSeconds - a.cpuSeconds,
  systemSeconds: b.systemSeconds - a.systemSeconds,
  waves: b.waves - a.waves,
  commits: b.commits - a.commits,
  transactions: b.transactions - a.transactions,
  statements: b.statements - a.statements,
});

const TOKEN = 'bench-admin-token-0123456789';
/**
 * BENCH_P6_PROFILE=1: CPU profiles in bench-results/: the worker's (`CPU.*.cpuprofile`, its
 * whole life), or in one process `releases.cpuprofile` over the releases.
 */
const PROFILE = process.env.BENCH_P6_PROFILE === '1';
const OVERHEAD_TARGET_MS = 10;
/** What the CPU profiles of this bench found (README, "Metrics and benchmarks"), printed when P6 is short of its goal. */
const P6_WHY =
  "each Phantom process pays a share of every wave for following the two clusters (the API process, which runs no engine, spends about half the worker's CPU per wave: ~29 watched changes per wave, parsed by every process's informers, each an XADD, XREADGROUP, XACK and for Pods a PUBLISH on the k8s-events stream); the rest follows the SQL statements (~12 per wave in the worker: the group-committed progress, the flags at each step, the outbox's numbering and stamping, the claim, the prechecks' reads), each about 1 ms of the worker's time here (socket writes are ~25-30% of its busy time, MikroORM and knex ~20%); next: fewer round trips per watched change and per wave (README, P6); BENCH_P6_PROFILE=1 writes the profiles";

export interface ReleaseBenchResult {
  releases: number;
  seconds: number;
  releasesPerMinute: number;
  /** `worker`: the engine in a worker process of its own; `one process`: API and engine together. */
  topology: 'worker' | 'one process';
  steps: number;
  commits: number;
  /** Transactions those commits took (group commit). */
  transactions: number;
  /**
   * The engine's own cost per wave: the engine's process's CPU time over the run / waves. In
   * the worker topology that process runs the engine, the outbox relay, the chat notifier and
   * the informers; in one process it answers the createRelease calls too (an upper bound).
   */
  overheadPerStepMs: number;
  /** Of it, in the kernel (socket writes and reads). */
  kernelPerStepMs: number;
  /** SQL statements the engine's process ran per wave. */
  sqlPerStep: number;
  /** Worker topology: the API process's CPU per createRelease (with the bench's own client). */
  apiCpuPerReleaseMs: number | null;
  statuses: Record<string, number>;
  ok: boolean;
}

export async function runReleaseBench(
  count: number,
  log: (line: string) => void,
): Promise<ReleaseBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'phantom-bench-rel-'));
  const sims = await Promise.all(
    ['sim-1', 'sim-2'].map(async (name) => ({ name, ...(await spawnSim(name)) })),
  );
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigFor(sims.map((s) => ({ name: s.name, url: s.url }))));
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    PHANTOM_ADMIN_TOKEN: TOKEN,
    PHANTOM_DATA_DIR: dir,
    PHANTOM_KUBECONFIG: kubeconfig,
    PHANTOM_ENGINE_CONCURRENCY: String(count),
  };
  // On MySQL, a database of its own (the read-path bench keeps its own).
  if (process.env.BENCH_RELEASES_DATABASE_URL)
    env.DATABASE_URL = process.env.BENCH_RELEASES_DATABASE_URL;
  // The engine runs all releases at once: on a 10-connection pool the waves queued (1.7 s/wave measured).
  if (env.DATABASE_URL) env.DATABASE_POOL_MAX = '40';
  const redisUrl = process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL;
  const split = Boolean(env.DATABASE_URL && redisUrl) && process.env.BENCH_P6_ONE_PROCESS !== '1';
  let worker: ChildProcess | undefined;
  let workerExit: Promise<unknown> | undefined;
  if (split) {
    env.REDIS_URL = redisUrl;
    env.PHANTOM_REDIS_PREFIX = `phantom-bench-p6-${process.pid}:`;
    env.PHANTOM_ROLES = 'api';
  }
  const phantom = await startPhantom(loadConfig(env));
  let metricsUrl = phantom.server.url.replace(/\/graphql$/, '/metrics');
  if (split) {
    // Started after the API, which has migrated the database.
    worker = spawnCli(
      ['worker'],
      { ...env, PHANTOM_ROLES: 'worker', LOG_LEVEL: 'info' },
      PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${resolve('bench-results')}`] : [],
    );
    const w = worker;
    workerExit = new Promise((r) => w.once('exit', r));
    const health = await waitForLine(
      worker,
      /health at (http:\/\/[^\s/]+)\/healthz/,
      'phantom worker',
    );
    metricsUrl = `${health}/metrics`;
  }
  const gql = async <T = unknown>(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<T> => {
    const res = await fetch(phantom.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data as T;
  };
  try {
    await gql(
      `mutation { upsertEnvironment(input: { name: "bench", requiresApproval: false, targets: [{ cluster: "sim-1", namespace: "bench" }, { cluster: "sim-2", namespace: "bench" }] }) { name } }`,
    );
    for (let i = 0; i < count; i++)
      await gql(
        `mutation($n: String!) { createApp(input: { name: $n, kind: GO, container: { replicas: 2, cpu: "10m" } }) { id } }`,
        { n: `rel-${i}` },
      );
    // A worker writes its own profile (--cpu-prof) when it stops; this process's (one process,
    // or the API's with BENCH_P6_PROFILE_API=1) goes to bench-results/releases.cpuprofile.
    const session =
      PROFILE && (!split || process.env.BENCH_P6_PROFILE_API === '1') ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const before = await scrape(metricsUrl);
    const t0 = performance.now();
    const apiCpu0 = process.cpuUsage();
    const apiSql0 = phantom.platform.sqlStats.queries;
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        gql(
          `mutation($a: String!) { createRelease(input: { app: $a, env: "bench", image: "registry.local/bench:1" }) { id } }`,
          { a: `rel-${i}` },
        ),
      ),
    );
    const terminal = new Set(['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'CANCELED', 'REJECTED']);
    let statuses: Record<string, number> = {};
    const deadline = Date.now() + 300_000;
    // The bench's own look (one small statement every 250 ms) must not weigh on what it measures.
    const conn = phantom.platform.orm.em.getConnection('write');
    let looks = 0;
    for (;;) {
      looks++;
      const rows = (await conn.execute(
        'select status, count(*) as n from releases group by status',
      )) as { status: string; n: number | string }[];
      statuses = Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
      const done = rows.filter((r) => terminal.has(r.status)).reduce((a, r) => a + Number(r.n), 0);
      if (done >= count || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (performance.now() - t0) / 1000;
    const apiCpu = process.cpuUsage(apiCpu0);
    const apiSql = phantom.platform.sqlStats.queries - apiSql0 - looks;
    const d = diff(before, await scrape(metricsUrl));
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      mkdirSync('bench-results', { recursive: true });
      writeFileSync('bench-results/releases.cpuprofile', JSON.stringify(profile));
    }
    const steps = d.waves;
    const per = (x: number) => (steps ? x / steps : 0);
    const result: ReleaseBenchResult = {
      releases: count,
      seconds,
      releasesPerMinute: (count / seconds) * 60,
      topology: split ? 'worker' : 'one process',
      steps,
      commits: d.commits,
      transactions: d.transactions,
      overheadPerStepMs: per(d.cpuSeconds * 1000),
      kernelPerStepMs: per(d.systemSeconds * 1000),
      // In one process, the bench's looks are among the statements counted.
      sqlPerStep: per(d.statements - (split ? 0 : looks)),
      apiCpuPerReleaseMs: split ? (apiCpu.user + apiCpu.system) / 1000 / count : null,
      statuses,
      ok: false,
    };
    result.ok =
      (statuses.SUCCEEDED ?? 0) === count && result.overheadPerStepMs <= OVERHEAD_TARGET_MS;
    const where = split
      ? `the worker process's CPU (engine, outbox relay, notifier, informers)`
      : `this one process's CPU (engine, API, informers, the bench's client: an upper bound)`;
    log(
      `${result.ok ? 'ok  ' : 'SLOW'} P6 release engine: ${count} releases × 2 clusters in ${seconds.toFixed(1)} s = ${result.releasesPerMinute.toFixed(0)} releases/min; ` +
        `engine overhead ${result.overheadPerStepMs.toFixed(2)} ms CPU per wave, ${where} (${result.kernelPerStepMs.toFixed(2)} ms of it in the kernel; ${steps} waves, ${result.commits} commits in ${result.transactions} transactions, ${result.sqlPerStep.toFixed(1)} SQL statements per wave; target ≤ ${OVERHEAD_TARGET_MS} ms)` +
        (split
          ? `; API process: ${result.apiCpuPerReleaseMs!.toFixed(2)} ms CPU and ${(apiSql / count).toFixed(1)} SQL statements per createRelease`
          : '') +
        `; statuses ${JSON.stringify(statuses)}\n`,
    );
    if (!result.ok && (statuses.SUCCEEDED ?? 0) === count) log(`  why: ${P6_WHY}\n`);
    return result;
  } finally {
    if (worker) {
      worker.kill('SIGTERM');
      await workerExit;
    }
    await phantom.stop();
    for (const s of sims) s.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
