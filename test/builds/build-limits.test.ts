/**
 * Builds at their limits: the time limit, the log bound (and the line saying what was
 * dropped), a worker that died or lost its claim mid-build (never stuck RUNNING), and many
 * watchers of one log costing one read per flush.
 */
import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableModes,
  createUserWithToken,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { Build } from '../../src/domain/builds/build.entity.js';
import { BuildStatus } from '../../src/domain/builds/build-model.js';
import { App } from '../../src/domain/apps/app.entity.js';
import { followLog, getBuild, gqlOk, makeRepo, triggerBuild, waitForBuild } from './support.js';

const globalId = (id: number) => Buffer.from(`Build:${id}`).toString('base64url');

describe.each(availableModes)('build limits (%s)', (mode) => {
  let t: TestPhantom;
  let dev: string;
  let root: string;

  const createApp = async (
    name: string,
    buildCommand: string,
    files: Record<string, string> = { 'README.md': name },
  ) => {
    const repo = makeRepo(files, root);
    await gqlOk(
      t,
      `mutation($n: String!, $r: String!, $b: String!) { createApp(input: { name: $n, kind: GO, repository: $r, buildCommand: $b }) { id } }`,
      { n: name, r: repo.url, b: buildCommand },
    );
    await gqlOk(
      t,
      `mutation($n: String!) { setAppMember(app: $n, username: "dev", role: DEVELOPER) { name } }`,
      { n: name },
    );
    return repo;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'phantom-build-limits-'));
    t = await startTestPhantom(mode, {
      env: {
        PHANTOM_DATA_DIR: join(root, 'data'),
        PHANTOM_BUILD_TIMEOUT_SECONDS: '5',
        PHANTOM_BUILD_LOG_MAX_BYTES: '4096',
        PHANTOM_ENGINE_CLAIM_TTL_MS: '1500',
        PHANTOM_ENGINE_POLL_MS: '200',
        PHANTOM_BUILD_CONCURRENCY: '4',
      },
    });
    dev = await createUserWithToken(t, 'dev');
  });
  afterAll(async () => {
    await t?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('a build past PHANTOM_BUILD_TIMEOUT_SECONDS is stopped and FAILED with the reason', async () => {
    await createApp('forever', 'echo start; sleep 60; echo never');
    const b = await waitForBuild(t, (await triggerBuild(t, 'forever', null, dev)).id);
    expect(b.status).toBe('FAILED');
    expect(b.message).toMatch(
      /ran past its time limit \(PHANTOM_BUILD_TIMEOUT_SECONDS = 5 s\) during the build command/,
    );
    expect(b.log.lines).toContain('start');
    expect(b.log.lines).not.toContain('never');
  });

  it('a build that prints a lot keeps the newest lines within PHANTOM_BUILD_LOG_MAX_BYTES and says what was dropped', async () => {
    await createApp('chatty', 'seq 1 3000');
    const done = await waitForBuild(t, (await triggerBuild(t, 'chatty', null, dev)).id);
    expect(done.status).toBe('SUCCEEDED');
    const lines: string[] = done.log.lines;
    expect(lines[0]).toMatch(
      /^\[phantom\] \d+ earlier lines \(offsets 0–\d+\) dropped: the log is bounded by PHANTOM_BUILD_LOG_MAX_BYTES/,
    );
    const kept = lines.slice(1);
    expect(kept.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0)).toBeLessThanOrEqual(4096);
    const numbers = kept.filter((l) => /^\d+$/.test(l)).map(Number);
    expect(numbers.at(-1)).toBe(3000);
    numbers.forEach((n, i) => i > 0 && expect(n).toBe(numbers[i - 1] + 1));
    expect(numbers.length).toBeLessThan(3000);
    expect(kept.at(-1)).toMatch(/build SUCCEEDED/);
    // The next offset still counts every line ever written.
    const first = Number(/offsets 0–(\d+)/.exec(lines[0])![1]) + 1;
    expect(done.log.nextOffset).toBe(first + kept.length);
    // Replay over buildLog from 0 says the same.
    const chunks = await followLog(t.ws(dev), done.id, { offset: 0 });
    expect(chunks.flatMap((c) => c.lines)).toEqual(lines);
    expect(chunks.at(-1)!.nextOffset).toBe(done.log.nextOffset);
  });

  it('a build left RUNNING by a dead worker is run again, then FAILED once no attempts are left', async () => {
    const repo = await createApp('orphan', 'echo rebuilt');
    const em = t.phantom.platform.orm.em.fork();
    const app = await em.findOneOrFail(App, { name: 'orphan' });
    // What a worker that died mid-build leaves: RUNNING, its claim expired.
    const dead = {
      claimedBy: 'dead-worker',
      claimExpiresAt: Date.now() - 1000,
      generation: 1,
      startedAt: new Date(),
      createdAt: new Date(),
      updatedAt: new Date(),
    };
    const retried = await em.insert(Build, {
      appId: app.id,
      app: 'orphan',
      number: 1,
      status: BuildStatus.RUNNING,
      attempts: 1,
      triggeredBy: 'dev',
      triggeredById: 1,
      ...dead,
    });
    const gaveUp = await em.insert(Build, {
      appId: app.id,
      app: 'orphan',
      number: 2,
      status: BuildStatus.RUNNING,
      attempts: 2,
      triggeredBy: 'dev',
      triggeredById: 1,
      ...dead,
    });
    t.phantom.platform.services.buildEngine!.wake();
    const a = await waitForBuild(t, globalId(retried));
    expect(a.status).toBe('SUCCEEDED');
    expect(a.commit).toBe(repo.head());
    expect(a.log.lines[0]).toMatch(
      /the worker running attempt 1 stopped before it finished; retrying/,
    );
    expect(a.log.lines).toContain('rebuilt');
    const b = await waitForBuild(t, globalId(gaveUp));
    expect(b.status).toBe('FAILED');
    expect(b.message).toMatch(
      /The worker running this build stopped before it finished \(attempt 2 of 2\)/,
    );
  });

  it('a worker that loses its claim mid-build kills the build; the build is taken over, not stuck RUNNING', async () => {
    const pidFile = join(root, 'lost.pid');
    await createApp(
      'lost',
      `echo $$ > ${pidFile}; echo started; if [ -e ${root}/second ]; then echo second run; else touch ${root}/second; sleep 60; fi`,
    );
    const b = await triggerBuild(t, 'lost', null, dev);
    await followLog(t.ws(dev), b.id, {
      until: (_c, all) => all.flatMap((c) => c.lines).includes('started'),
    });
    const { readFileSync, existsSync } = await import('node:fs');
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    // Another worker took the claim over (as after a pause past the expiry), then died itself.
    const id = Number(Buffer.from(b.id, 'base64url').toString().split(':')[1]);
    const em = t.phantom.platform.orm.em.fork();
    const row = await em.findOneOrFail(Build, { id }, { disableIdentityMap: true });
    expect(row.status).toBe(BuildStatus.RUNNING);
    await em.nativeUpdate(
      Build,
      { id },
      { claimedBy: 'thief', claimExpiresAt: Date.now() - 1, generation: row.generation + 1 },
    );
    const done = await waitForBuild(t, b.id, 60_000);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.log.lines).toContain('second run');
    expect(done.log.lines.some((l: string) => /retrying/.test(l))).toBe(true);
    const state = existsSync(`/proc/${pid}/stat`)
      ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0]
      : 'gone';
    expect(['gone', 'Z', 'X']).toContain(state);
  });

  it('many watchers of one build log cost one read per flush, not one per watcher', async () => {
    await createApp('watched', 'for i in $(seq 1 6); do echo "tick $i"; sleep 0.2; done');
    const b = await triggerBuild(t, 'watched', null, dev);
    const feed = t.phantom.platform.services.buildLog!;
    const before = feed.reads;
    const watchers = await Promise.all(
      Array.from({ length: 25 }, () => followLog(t.ws(dev), b.id)),
    );
    const lines = watchers[0].flatMap((c) => c.lines);
    expect(lines.filter((l) => l.startsWith('tick '))).toHaveLength(6);
    for (const w of watchers) expect(w.flatMap((c) => c.lines)).toEqual(lines);
    const chunks = watchers[0].length;
    // Each flush is read once for everyone; replays and heartbeats add a few statements per watcher at most at the start.
    expect(feed.reads - before).toBeLessThan(chunks + 25 * 2 + 20);
    expect(feed.reads - before).toBeLessThan(25 * chunks);
    expect((await getBuild(t, b.id)).status).toBe('SUCCEEDED');
  });
});
