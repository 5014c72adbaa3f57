/**
 * The "abuse mix" of the Hardening issue (item 1): a legitimate query's latency alone and while
 * two anonymous clients keep sending a 255 KB document of one field repeated 15,000 times, and
 * the server-side time one such refusal costs. Targets: p99 rises by at most 25 %, a refusal
 * costs under 5 ms. The abusive clients run in a child process, so their own work (sending
 * 255 KB) is not counted against the server, which runs in this process: the CPU time this
 * process spends while the child sends refused documents one at a time is the server's cost.
 */
import { fork } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** Goals of the abuse mix (checked here, never in tests). */
export const ABUSE_TARGETS = { maxP99Rise: 1.25, maxRefusalMs: 5 };

/** What the CPU profile of the refusals found (README, "Metrics and benchmarks"), printed when the p99 goal is not met. */
const ABUSE_WHY =
  "the refusal path is not the cost (the parse stops at the token limit, and since this round on the text up to it, without scanning the 255 KB for the error's line): a refusal's server CPU (3-4 ms here) goes mostly to taking in the 255 KB body (socket reads, joining and decoding the chunks ~10%, JSON.parse ~10%), writing the answer (~6%) and GC; two closed-loop clients keep the one event loop busy with refusals, and a legitimate request waits behind the ones queued before it, on two cores shared with the abusive clients (which send 255 KB each time) and this process's own client; holding p99 within 25% would take admission control before the body is read (a per-client bound on anonymous requests, or a body cap below the document's size), which changes what the hardening issue answers; profile: --cpu-prof on the server while one client sends refused documents";

const REPEAT = 15_000;
const ABUSIVE_QUERY = `{ ${Array.from({ length: REPEAT }, () => 'viewer{username}').join(' ')} }`;

// Plain JavaScript for the child (a temp .cjs file): `clients` loops sending the abusive body
// until told to stop, or `count` requests one after another; reports how many were refused.
const CHILD_SOURCE = `
const { url, repeat, clients, count } = JSON.parse(process.env.ABUSE);
const http = require('node:http');
// A prepared buffer over keep-alive connections: the client spends as little CPU as it can,
// since it shares the machine's cores with the server being measured.
const body = Buffer.from(JSON.stringify({ query: '{ ' + Array.from({ length: repeat }, () => 'viewer{username}').join(' ') + ' }' }));
const agent = new http.Agent({ keepAlive: true });
let stop = false, sent = 0, refused = 0;
process.on('message', (m) => { if (m === 'stop') stop = true; });
function one() {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', 'content-length': body.length } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        sent++;
        if (res.statusCode === 400 && JSON.parse(text).errors?.[0]?.extensions?.code === 'QUERY_TOO_COMPLEX') refused++;
        resolve();
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
async function loop() { while (!stop && (count === undefined || sent < count)) await one(); }
Promise.all(Array.from({ length: clients }, loop)).then(() => process.send({ sent, refused }, () => process.exit(0)), (e) => { console.error(e); process.exit(1); });
`;

interface AbuseReport {
  sent: number;
  refused: number;
}

function startAbusers(
  script: string,
  url: string,
  clients: number,
  count?: number,
): { stop: () => Promise<AbuseReport>; done: Promise<AbuseReport> } {
  const child = fork(script, [], {
    env: { ...process.env, ABUSE: JSON.stringify({ url, repeat: REPEAT, clients, count }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const done = new Promise<AbuseReport>((resolve, reject) => {
    child.once('message', (r) => resolve(r as AbuseReport));
    child.once('error', reject);
    child.once('exit', (code) =>
      code ? reject(new Error(`abusive client exited with ${code}`)) : undefined,
    );
  });
  return {
    done,
    stop: () => {
      child.send('stop');
      return done;
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function sample(
  run: () => Promise<unknown>,
  n: number,
): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await run();
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/**
 * Runs the abuse mix against `url` with `legit` as the legitimate request; prints the figures
 * and whether each goal was met. Returns true when both were.
 */
export async function runAbuseMix(
  url: string,
  legit: () => Promise<unknown>,
  write: (line: string) => void,
): Promise<boolean> {
  write(
    `abuse mix: document of ${ABUSIVE_QUERY.length} bytes (viewer{username} ×15000), 2 anonymous clients\n`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'phantom-abuse-'));
  const script = join(dir, 'abuser.cjs');
  writeFileSync(script, CHILD_SOURCE);
  try {
    for (let i = 0; i < 30; i++) await legit(); // warm-up
    const alone = await sample(legit, 400);

    const abusers = startAbusers(script, url, 2);
    await new Promise((r) => setTimeout(r, 500)); // let the abusers get going
    const underAbuse = await sample(legit, 400);
    const abuse = await abusers.stop();

    // Server time per refusal: this process's CPU time while the child sends refused documents
    // one at a time and nothing else runs here (CPU time, not wall time: other load on the
    // machine does not inflate it).
    const count = 200;
    const cpu = process.cpuUsage();
    const serial = await startAbusers(script, url, 1, count).done;
    const used = process.cpuUsage(cpu);
    const perRefusal = (used.user + used.system) / 1000 / count;
    return report(alone, underAbuse, abuse, serial, perRefusal, write);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(
  alone: { p50: number; p99: number },
  underAbuse: { p50: number; p99: number },
  abuse: AbuseReport,
  serial: AbuseReport,
  perRefusal: number,
  write: (line: string) => void,
): boolean {
  const rise = underAbuse.p99 / alone.p99;
  const riseOk = rise <= ABUSE_TARGETS.maxP99Rise;
  const refusalOk =
    perRefusal < ABUSE_TARGETS.maxRefusalMs &&
    serial.refused === serial.sent &&
    abuse.refused === abuse.sent;
  write(`  legit alone:       p50 ${alone.p50.toFixed(1)} ms, p99 ${alone.p99.toFixed(1)} ms\n`);
  write(
    `  legit under abuse: p50 ${underAbuse.p50.toFixed(1)} ms, p99 ${underAbuse.p99.toFixed(1)} ms (${abuse.sent} abusive requests, ${abuse.refused} refused with QUERY_TOO_COMPLEX)\n`,
  );
  write(
    `${riseOk ? 'ok  ' : 'SLOW'} p99 under abuse / alone: ${rise.toFixed(2)} (goal ≤ ${ABUSE_TARGETS.maxP99Rise}) — ${riseOk ? 'met' : 'NOT met'}\n`,
  );
  if (!riseOk) write(`  why: ${ABUSE_WHY}\n`);
  write(
    `${refusalOk ? 'ok  ' : 'SLOW'} server time per refused document: ${perRefusal.toFixed(2)} ms (goal < ${ABUSE_TARGETS.maxRefusalMs} ms; ${serial.refused}/${serial.sent} refused) — ${refusalOk ? 'met' : 'NOT met'}\n`,
  );
  return riseOk && refusalOk;
}
