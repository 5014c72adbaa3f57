/**
 * `npm run bench`: latency of the main read paths on the embedded defaults (or on MySQL +
 * Redis when DATABASE_URL / REDIS_URL are set), the abuse mix (abuse-mix.ts), the release
 * engine (releases.ts) and the P1/P2 read path against a raw baseline (read-path.ts, with
 * BENCH_DATABASE_URL/BENCH_REDIS_URL or DATABASE_URL/REDIS_URL), P4 (stream.ts) and P3 fan-out
 * (fanout.ts) on the same settings. Targets are checked here, never in tests.
 */
import 'reflect-metadata';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../config.js';
import { startPhantom } from '../main.js';
import { runAbuseMix } from './abuse-mix.js';
import { runReleaseBench } from './releases.js';
import { runNotifyBurst } from './notify-burst.js';
import { runReadPathBench } from './read-path.js';
import { runStreamBench } from './stream.js';
import { runFanoutBench } from './fanout.js';

const TOKEN = 'bench-admin-token-0123456789';

interface Target {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  p95TargetMs: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Every verdict line (`ok  `, `SLOW`, `FAIL`, `skip`) the parts print, gathered for the closing
 * summary, with the `  why: …` lines a part prints after a goal it did not meet (the reason
 * its profile found).
 */
const verdicts: { line: string; why: string[] }[] = [];
const out = (line: string): void => {
  for (const l of line.split('\n')) {
    if (/^(ok {2}|SLOW|FAIL|skip) /.test(l)) verdicts.push({ line: l, why: [] });
    else if (/^ {2}why: /.test(l) && verdicts.length) verdicts.at(-1)!.why.push(l.slice(7));
  }
  process.stdout.write(line);
};

/** The closing table: every goal and its figure, once more, also as `bench-results/summary.json`. */
function summarize(): void {
  process.stdout.write(`\nSummary (${verdicts.length} goals, node ${process.version})\n`);
  for (const v of verdicts) {
    process.stdout.write(`  ${v.line}\n`);
    for (const w of v.why) process.stdout.write(`      why: ${w}\n`);
  }
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(
    'bench-results/summary.json',
    JSON.stringify(
      {
        at: new Date().toISOString(),
        node: process.version,
        goals: verdicts.map((v) => ({
          verdict: v.line.slice(0, 4).trim(),
          line: v.line.slice(4).trim(),
          ...(v.why.length ? { why: v.why.join(' ') } : {}),
        })),
      },
      null,
      2,
    ),
  );
}

async function main(): Promise<void> {
  if (process.env.NODE_ENV !== 'production')
    process.stdout.write(
      'note: NODE_ENV is not "production": graphql-js and Express run their development checks (slower than `npm start`); `npm run bench` sets it\n',
    );
  const dir = mkdtempSync(join(tmpdir(), 'phantom-bench-'));
  const config = loadConfig({
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    PHANTOM_ADMIN_TOKEN: TOKEN,
    PHANTOM_DATA_DIR: dir,
    PHANTOM_EMBEDDED_CLUSTERS: 'off',
  });
  const phantom = await startPhantom(config);
  const gql = async (query: string, variables?: Record<string, unknown>) => {
    const res = await fetch(phantom.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body;
  };
  try {
    for (let i = 0; i < 100; i++) {
      await gql(`mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { id } }`, {
        n: `bench-${i}`,
      });
    }
    const targets: Target[] = [
      {
        name: 'apps(first: 50) with members',
        query: `{ apps(first: 50) { totalCount edges { node { name container { replicas } members { role user { username } } } } } }`,
        p95TargetMs: 60,
      },
      {
        name: 'app(name) through the cache',
        query: `{ app(name: "bench-42") { name version } }`,
        p95TargetMs: 15,
      },
      { name: 'viewer', query: `{ viewer { username } }`, p95TargetMs: 10 },
    ];
    let failed = 0;
    for (const t of targets) {
      for (let i = 0; i < 20; i++) await gql(t.query, t.variables); // warm-up
      const times: number[] = [];
      for (let i = 0; i < 300; i++) {
        const s = performance.now();
        await gql(t.query, t.variables);
        times.push(performance.now() - s);
      }
      times.sort((a, b) => a - b);
      const p50 = percentile(times, 50);
      const p95 = percentile(times, 95);
      const ok = p95 <= t.p95TargetMs;
      if (!ok) failed++;
      out(
        `${ok ? 'ok  ' : 'SLOW'} ${t.name}: p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms (target p95 ≤ ${t.p95TargetMs} ms)\n`,
      );
    }
    if (
      !(await runAbuseMix(
        phantom.server.url,
        () => gql(`{ app(name: "bench-42") { name version } }`),
        out,
      ))
    )
      failed++;
    if (!(await runReleaseBench(Number(process.env.BENCH_RELEASES ?? 200), out)).ok) failed++;
    if (!(await runNotifyBurst(out)).ok) failed++;
    // P1/P2 (issue 9): side by side with a raw route, on MySQL + Redis (skipped without them).
    if (!(await runReadPathBench(out)).ok) failed++;
    // P4: partitioned stream consume against raw XREADGROUP loops (skipped without Redis).
    if (!(await runStreamBench(out)).ok) failed++;
    // P3: platformEvents fan-out to 1k/5k/10k graphql-ws subscribers against a raw ws broadcast.
    if (!(await runFanoutBench(out)).ok) failed++;
    summarize();
    process.exitCode = failed ? 1 : 0;
  } finally {
    await phantom.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
