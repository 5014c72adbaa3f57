/**
 * P6, the release engine: N releases at once across two simulated clusters (a second
 * Phantom with its own database, so the read-path figures are not disturbed). Reports
 * releases per minute and the engine's own time per step (database writes, cache reads and
 * evaluation: the time not spent waiting on the clusters). Target: ≤ 10 ms per step.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../config.js';
import { startPhantom } from '../main.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { kubeconfigFor } from '../k8s/sim/index.js';

/**
 * `phantom sim` as its own process (as in production, the clusters are not in Phantom's
 * process: their CPU must not count as the engine's). Resolves with its URL.
 */
async function spawnSim(name: string): Promise<{ child: ChildProcess; url: string }> {
  const self = fileURLToPath(import.meta.url);
  const fromSource = self.endsWith('.ts');
  const cli = fileURLToPath(new URL(fromSource ? '../cli.ts' : '../cli.js', import.meta.url));
  const args = fromSource ? ['--import', '@swc-node/register/esm-register', cli] : [cli];
  const child = spawn(process.execPath, [...args, 'sim', '--port', '0', '--name', name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = out.match(/at (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`phantom sim exited with ${code}: ${out}`)));
  });
  return { child, url };
}

const TOKEN = 'bench-admin-token-0123456789';
/** BENCH_P6_PROFILE=1: a CPU profile of Phantom's process over the releases, in bench-results/releases.cpuprofile. */
const PROFILE = process.env.BENCH_P6_PROFILE === '1';
const OVERHEAD_TARGET_MS = 10;
/** What the CPU profiles of this bench found (README, "Metrics and benchmarks"), printed when P6 is short of its goal. */
const P6_WHY =
  "the CPU follows the SQL statements (about 1 ms of this process each on this machine: the write syscall plus MikroORM and knex around it), ~18 per wave: the progress changes (group-committed: ~2.2 changes per wave in ~0.9 transactions of BEGIN, fenced UPDATEs, one INSERT, COMMIT), the flags, the prechecks' rule reads, the outbox's numbering and publishing, the claim; next: one round trip per transaction and plain SQL instead of the ORM on this path; BENCH_P6_PROFILE=1 writes the profile";

export interface ReleaseBenchResult {
  releases: number;
  seconds: number;
  releasesPerMinute: number;
  steps: number;
  commits: number;
  /** Transactions those commits took (group commit). */
  transactions: number;
  /**
   * The engine's own cost per wave: this process's CPU time over the run (engine, API answering
   * the createRelease calls, informers; the simulated clusters are child processes) / waves.
   */
  overheadPerStepMs: number;
  /**
   * Wall time of the engine's database and cache work per wave, summed over the releases that
   * run at once: includes queueing on the pool and on the event loop, so it grows with the
   * concurrency and is not the engine's own cost.
   */
  busyPerStepMs: number;
  /** SQL statements this process ran per wave (engine, API, the bench's own status look). */
  sqlPerStep: number;
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
  const phantom = await startPhantom(loadConfig(env));
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
    const engine = phantom.platform.services.releaseEngine!;
    const session = PROFILE ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const before = { ...engine.stats };
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const sql0 = phantom.platform.sqlStats.queries;
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const r = await gql<{ createRelease: { id: string } }>(
          `mutation($a: String!) { createRelease(input: { app: $a, env: "bench", image: "registry.local/bench:1" }) { id } }`,
          { a: `rel-${i}` },
        );
        ids.push(r.createRelease.id);
      }),
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
    const cpu = process.cpuUsage(cpu0);
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      mkdirSync('bench-results', { recursive: true });
      writeFileSync('bench-results/releases.cpuprofile', JSON.stringify(profile));
    }
    // Without the bench's own looks at the statuses.
    const statements = phantom.platform.sqlStats.queries - sql0 - looks;
    const steps = engine.stats.steps - before.steps;
    const busy = engine.stats.busyMs - before.busyMs;
    const result: ReleaseBenchResult = {
      releases: count,
      seconds,
      releasesPerMinute: (count / seconds) * 60,
      steps,
      commits: engine.stats.commits - before.commits,
      transactions: engine.stats.transactions - before.transactions,
      overheadPerStepMs: steps ? (cpu.user + cpu.system) / 1000 / steps : 0,
      busyPerStepMs: steps ? busy / steps : 0,
      sqlPerStep: steps ? statements / steps : 0,
      statuses,
      ok: false,
    };
    result.ok =
      (statuses.SUCCEEDED ?? 0) === count && result.overheadPerStepMs <= OVERHEAD_TARGET_MS;
    log(
      `${result.ok ? 'ok  ' : 'SLOW'} P6 release engine: ${count} releases × 2 clusters in ${seconds.toFixed(1)} s = ${result.releasesPerMinute.toFixed(0)} releases/min; ` +
        `engine overhead ${result.overheadPerStepMs.toFixed(2)} ms CPU per wave (${(cpu.system / 1000 / Math.max(1, steps)).toFixed(2)} ms of it in the kernel; ${steps} waves, ${result.commits} commits in ${result.transactions} transactions, ${result.sqlPerStep.toFixed(1)} SQL statements per wave; target ≤ ${OVERHEAD_TARGET_MS} ms; wall time of its database work ${result.busyPerStepMs.toFixed(0)} ms per wave, summed over concurrent releases); statuses ${JSON.stringify(statuses)}\n`,
    );
    if (!result.ok && (statuses.SUCCEEDED ?? 0) === count) log(`  why: ${P6_WHY}\n`);
    return result;
  } finally {
    await phantom.stop();
    for (const s of sims) s.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
