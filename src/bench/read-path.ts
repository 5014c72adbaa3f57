/**
 * P1 and P2 of issue 9, side by side on MySQL + Redis: `apps(first: N)` with members and
 * their users, 2,000 apps × 3 members, N = 5 / 50 / 100, 20 connections, against a raw node
 * `http` + `mysql2` route running the same SQL (raw-apps-server.ts, in a child process).
 * autocannon runs in a child process too; rounds are interleaved (Phantom, raw, per N) and
 * the median of 3 is reported. P2: SQL statements of one request, with and without
 * `workloads(env)`, counted per request by the ORM hook. Bounded: about 70 s of load.
 * BENCH_P1_PROFILE=<N> (e.g. 50): a CPU profile of Phantom's process over its first round at
 * that N, in bench-results/read-path-<N>.cpuprofile.
 */
import { fork, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createConnection } from 'mysql2/promise';
import { loadConfig } from '../config.js';
import { startPhantom } from '../main.js';

/** Goals (issue 9): Phantom's requests/s at N = 50 as a share of the raw route's; SQL per request. */
export const READ_PATH_TARGETS = { minRatioAt50: 0.6, maxSqlPerRequest: 4 };

const TOKEN = 'bench-admin-token-0123456789';
const SIZES = (process.env.BENCH_P1_SIZES ?? '5,50,100').split(',').map(Number);
const ROUNDS = 3;
const CONNECTIONS = 20;
const SECONDS = Number(process.env.BENCH_P1_SECONDS ?? 2);
const APPS = 2000;
/** What the CPU profiles of this bench found (README, "Metrics and benchmarks"), printed when P1 is short of its goal. */
const P1_WHY =
  "not SQL count (3 statements per request, as the raw route's; concurrent requests with one token share their token lookups), nor columns (only those the query shows are read), nor the database server's work (its CPU per request is printed beside: about the same for both routes): the profile at N = 50 shows the socket writes of the three statements and the response (writeBuffer ~13%, writev ~4%), GC (~7%), the response's serialization (~3%), then small shares of Apollo, type-graphql, compiled execution and mysql2's row parsing; the token check ADR 0008 keeps exact on every request (the raw route checks no credential); runs on this machine vary by ±7 points; BENCH_P1_PROFILE=50 writes the profile";
const PROFILE_AT = process.env.BENCH_P1_PROFILE ? Number(process.env.BENCH_P1_PROFILE) : null;

/** The part of autocannon's `-j` report the bench reads. */
interface AutocannonReport {
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
}

const query = `query($first: Int) { apps(first: $first) { totalCount edges { node { name members { role user { username } } } } } }`;

function autocannon(
  url: string,
  body: string,
  seconds: number,
): Promise<{ rps: number; total: number; non2xx: number; errors: number }> {
  const bin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  const args = [
    bin,
    '-c',
    String(CONNECTIONS),
    '-d',
    String(seconds),
    '-m',
    'POST',
    '-H',
    'content-type=application/json',
    '-H',
    `authorization=Bearer ${TOKEN}`,
    '-b',
    body,
    '-j',
    url,
  ];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout) => {
      if (err) return reject(new Error(`autocannon failed: ${err.message}`, { cause: err }));
      const r = JSON.parse(stdout) as AutocannonReport;
      resolve({
        rps: r.requests.average,
        total: r.requests.total,
        non2xx: r.non2xx,
        errors: r.errors,
      });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs the P1/P2 bench; skipped (ok) without BENCH_DATABASE_URL/DATABASE_URL and REDIS_URL. */
export async function runReadPathBench(
  log: (line: string) => void,
  out = 'bench-results/read-path.json',
): Promise<{ ok: boolean }> {
  const base = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
  const redis = process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL;
  if (!base || !redis) {
    log(
      'skip P1/P2 read path: set BENCH_DATABASE_URL (or DATABASE_URL) and BENCH_REDIS_URL (or REDIS_URL) to run it on MySQL + Redis\n',
    );
    return { ok: true };
  }
  const u = new URL(base);
  const dbName = `phantom_bench_${randomBytes(4).toString('hex')}`;
  const admin = await createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    multipleStatements: true,
  });
  await admin.query(`create database \`${dbName}\``);
  u.pathname = `/${dbName}`;
  const dbUrl = u.toString();
  const prefix = `phantom-bench:${randomBytes(4).toString('hex')}:`;
  const config = loadConfig({
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    PHANTOM_ADMIN_TOKEN: TOKEN,
    DATABASE_URL: dbUrl,
    REDIS_URL: redis,
    PHANTOM_REDIS_PREFIX: prefix,
    PHANTOM_EMBEDDED_CLUSTERS: 'off',
    NODE_ENV: 'production',
  });
  const phantom = await startPhantom(config);
  const raw = fork(fileURLToPath(new URL('./raw-apps-server.js', import.meta.url)), [], {
    env: { ...process.env, RAW_DATABASE_URL: dbUrl },
  });
  try {
    const gql = async (q: string, variables?: Record<string, unknown>) => {
      const res = await fetch(phantom.server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ query: q, variables }),
      });
      const body = (await res.json()) as { data?: unknown; errors?: unknown };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };
    // Seed: 3 users, one app through the API, then 1,999 copies of its row and 3 members each in SQL.
    for (const name of ['bench-a', 'bench-b', 'bench-c'])
      await gql(
        `mutation($u: String!) { createUser(input: { username: $u, password: "password-123" }) { id } }`,
        { u: name },
      );
    await gql(`mutation { createApp(input: { name: "app-0000", kind: GO }) { id } }`);
    await admin.query(
      `use \`${dbName}\`;
       set session max_recursive_iterations = 100000;
       insert into apps (name, kind, description, repository, build_command, start_command, stop_command, container, release_config, version, created_at, updated_at)
       with recursive n(i) as (select 1 union all select i + 1 from n where i < ${APPS - 1})
       select concat('app-', lpad(n.i, 4, '0')), a.kind, a.description, a.repository, a.build_command, a.start_command, a.stop_command, a.container, a.release_config, a.version, a.created_at, a.updated_at
       from n cross join apps a where a.name = 'app-0000';
       delete from app_members;
       insert into app_members (app_id, user_id, role, created_at)
       select a.id, u.id, if(u.username = 'bench-a', 'OWNER', 'DEVELOPER'), now(3) from apps a cross join users u where u.username like 'bench-%';`,
    );
    const { port } = await new Promise<{ port: number }>((resolve) =>
      raw.once('message', (m) => resolve(m as { port: number })),
    );
    const rawUrl = `http://127.0.0.1:${port}/`;
    /** The raw server's CPU time so far (µs, user + system), asked over IPC. */
    const rawCpu = () =>
      new Promise<number>((resolve) => {
        raw.once('message', (m) => resolve((m as { cpu: number }).cpu));
        raw.send('cpu');
      });
    const cpuNow = () => {
      const u = process.cpuUsage();
      return u.user + u.system;
    };

    // P2: statements per request, counted by the ORM hook around one request.
    const sql: Record<string, number> = {};
    for (const [name, q] of [
      ['apps(first: 100) with members', query],
      [
        'apps(first: 100) with workloads(env)',
        `query($first: Int) { apps(first: $first) { edges { node { name workloads(env: "prod") { cluster } } } } }`,
      ],
    ] as const) {
      for (const first of [5, 100]) {
        await gql(q, { first });
        await gql(q, { first });
        sql[`${name.replace('100', String(first))}`] = phantom.platform.sqlStats.lastRequestQueries;
      }
    }

    // Same answer from both (besides key order nothing may differ), then the load rounds.
    const rawAnswer: unknown = await (
      await fetch(rawUrl, {
        method: 'POST',
        body: JSON.stringify({ query, variables: { first: 5 } }),
      })
    ).json();
    const phantomAnswer = { data: await gql(query, { first: 5 }) };
    if (JSON.stringify(rawAnswer) !== JSON.stringify(phantomAnswer))
      throw new Error(
        `raw and Phantom answers differ: ${JSON.stringify(rawAnswer).slice(0, 300)} vs ${JSON.stringify(phantomAnswer).slice(0, 300)}`,
      );

    const rps: Record<
      string,
      {
        phantom: number[];
        raw: number[];
        phantomCpuUs: number[];
        rawCpuUs: number[];
        phantomDbCpuUs: number[];
        rawDbCpuUs: number[];
      }
    > = {};
    for (const n of SIZES)
      rps[n] = {
        phantom: [],
        raw: [],
        phantomCpuUs: [],
        rawCpuUs: [],
        phantomDbCpuUs: [],
        rawDbCpuUs: [],
      };
    // Only a database on this machine can be read off /proc (a remote one is not that process).
    const dbCpu = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(u.hostname)
      ? dbServerCpu()
      : null;
    for (const n of SIZES) {
      const body = JSON.stringify({ query, variables: { first: n } });
      await autocannon(phantom.server.url, body, 1); // warm-up
      await autocannon(rawUrl, body, 1);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of SIZES) {
        const body = JSON.stringify({ query, variables: { first: n } });
        const session = round === 0 && n === PROFILE_AT ? new Session() : undefined;
        if (session) {
          session.connect();
          await session.post('Profiler.enable');
          await session.post('Profiler.start');
        }
        const cpu0 = cpuNow();
        const db0 = dbCpu?.() ?? 0;
        const p = await autocannon(phantom.server.url, body, SECONDS);
        const phantomDb = (dbCpu?.() ?? 0) - db0;
        // This process is Phantom's (the bench itself waits on autocannon's child meanwhile).
        const phantomCpu = cpuNow() - cpu0;
        if (session) {
          const { profile } = await session.post('Profiler.stop');
          session.disconnect();
          mkdirSync('bench-results', { recursive: true });
          writeFileSync(`bench-results/read-path-${n}.cpuprofile`, JSON.stringify(profile));
          log(`  profile: bench-results/read-path-${n}.cpuprofile\n`);
        }
        const rawCpu0 = await rawCpu();
        const rawDb0 = dbCpu?.() ?? 0;
        const r = await autocannon(rawUrl, body, SECONDS);
        const rawDb = (dbCpu?.() ?? 0) - rawDb0;
        const rawCpuUsed = (await rawCpu()) - rawCpu0;
        if (p.non2xx || p.errors || r.non2xx || r.errors)
          throw new Error(
            `failed requests at N = ${n}: Phantom ${p.non2xx}/${p.errors}, raw ${r.non2xx}/${r.errors}`,
          );
        rps[n].phantom.push(p.rps);
        rps[n].raw.push(r.rps);
        rps[n].phantomCpuUs.push(phantomCpu / Math.max(1, p.total));
        rps[n].rawCpuUs.push(rawCpuUsed / Math.max(1, r.total));
        rps[n].phantomDbCpuUs.push(phantomDb / Math.max(1, p.total));
        rps[n].rawDbCpuUs.push(rawDb / Math.max(1, r.total));
      }
    }
    const rows = SIZES.map((n) => {
      const p = median(rps[n].phantom);
      const r = median(rps[n].raw);
      const phantomCpuUs = median(rps[n].phantomCpuUs);
      const rawCpuUs = median(rps[n].rawCpuUs);
      const db = dbCpu
        ? { phantomDbCpuUs: median(rps[n].phantomDbCpuUs), rawDbCpuUs: median(rps[n].rawDbCpuUs) }
        : null;
      return {
        n,
        phantomRps: p,
        rawRps: r,
        ratio: p / r,
        phantomCpuUs,
        rawCpuUs,
        ...db,
        rounds: rps[n],
      };
    });
    const at50 = rows.find((r) => r.n === 50)!;
    const sqlOk =
      Object.values(sql).every((v) => v <= READ_PATH_TARGETS.maxSqlPerRequest) &&
      sql['apps(first: 5) with workloads(env)'] === sql['apps(first: 100) with workloads(env)'];
    const ratioOk = at50.ratio >= READ_PATH_TARGETS.minRatioAt50;

    log(
      `P1 apps(first: N) with members and users, ${APPS} apps × 3 members, ${CONNECTIONS} connections, median of ${ROUNDS} interleaved ${SECONDS}s rounds\n`,
    );
    log(
      `  N     Phantom req/s   raw req/s   ratio   CPU µs/request Phantom (raw)${dbCpu ? '   database server (for raw)' : ''}\n`,
    );
    for (const r of rows)
      log(
        `  ${String(r.n).padEnd(5)} ${r.phantomRps.toFixed(0).padStart(13)} ${r.rawRps.toFixed(0).padStart(11)} ${(r.ratio * 100).toFixed(1).padStart(6)}%   ${r.phantomCpuUs.toFixed(0).padStart(6)} (${r.rawCpuUs.toFixed(0)})${r.phantomDbCpuUs === undefined ? '' : `${r.phantomDbCpuUs.toFixed(0).padStart(22)} (${r.rawDbCpuUs?.toFixed(0)})`}\n`,
      );
    log(
      `${ratioOk ? 'ok  ' : 'SLOW'} P1 at N = 50: ${(at50.ratio * 100).toFixed(1)}% of raw (goal ≥ ${READ_PATH_TARGETS.minRatioAt50 * 100}%)\n`,
    );
    if (!ratioOk) log(`  why: ${P1_WHY}\n`);
    log(
      `${sqlOk ? 'ok  ' : 'FAIL'} P2 SQL statements per request: ${Object.entries(sql)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ')} (goal: constant in N, ≤ ${READ_PATH_TARGETS.maxSqlPerRequest})\n`,
    );
    mkdirSync(fileURLToPath(new URL('.', `file://${process.cwd()}/${out}`)), { recursive: true });
    writeFileSync(
      out,
      JSON.stringify(
        {
          at: new Date().toISOString(),
          node: process.version,
          apps: APPS,
          connections: CONNECTIONS,
          seconds: SECONDS,
          rounds: ROUNDS,
          p1: rows,
          p2: sql,
          targets: READ_PATH_TARGETS,
        },
        null,
        2,
      ),
    );
    log(`  written: ${out}\n`);
    return { ok: ratioOk && sqlOk };
  } finally {
    raw.kill();
    await phantom.stop();
    await admin.query(`drop database if exists \`${dbName}\``);
    await admin.end();
  }
}

/**
 * The CPU time (µs, user + system) of the database server when it runs on this machine
 * (a `mariadbd` or `mysqld` process in /proc), else null: on a shared machine its work per
 * request takes cores from the server measured too.
 */
function dbServerCpu(): (() => number) | null {
  let pid: string | undefined;
  try {
    pid = readdirSync('/proc').find((d) => {
      if (!/^\d+$/.test(d)) return false;
      try {
        return /^(mariadbd|mysqld)$/.test(readFileSync(`/proc/${d}/comm`, 'utf8').trim());
      } catch {
        return false;
      }
    });
  } catch {
    return null;
  }
  if (pid === undefined) return null;
  const stat = `/proc/${pid}/stat`;
  return () => {
    // utime and stime, fields 14 and 15, in clock ticks (100 per second on Linux)
    const fields = readFileSync(stat, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  };
}

// `node dist/bench/read-path.js` runs this part alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runReadPathBench((l) => process.stdout.write(l)).then(
    (r) => process.exit(r.ok ? 0 : 1),
    (e) => {
      process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}
