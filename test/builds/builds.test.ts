/**
 * Builds end to end through the real API, on MySQL + Redis and on the embedded default: real
 * git repositories made here (file:// URLs), the local executor, the dependency scan feeding
 * the release prechecks, live logs over graphql-ws, cancel, auto-release to dev.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  availableModes,
  createUserWithToken,
  errorCode,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { startTestClusters, type TestClusters } from '../k8s/support.js';
import { follow } from '../releases/support.js';
import {
  followLog,
  getBuild,
  gqlOk,
  makeJar,
  makeRepo,
  triggerBuild,
  waitForBuild,
  type TestRepo,
} from './support.js';

describe.each(availableModes)('builds (%s)', (mode) => {
  let t: TestPhantom;
  let clusters: TestClusters | undefined;
  let dev: string;
  let viewer: string;
  let root: string;
  let dataDir: string;
  let shop: TestRepo;

  const createApp = async (name: string, repository: string, buildCommand: string, extra = '') => {
    await gqlOk(
      t,
      `mutation($n: String!, $r: String!, $b: String!) { createApp(input: { name: $n, kind: JAVA, repository: $r, buildCommand: $b, container: { replicas: 1 } ${extra} }) { id } }`,
      { n: name, r: repository, b: buildCommand },
    );
    await gqlOk(
      t,
      `mutation($n: String!) { a: setAppMember(app: $n, username: "dev", role: DEVELOPER) { name } b: setAppMember(app: $n, username: "viewer", role: VIEWER) { name } }`,
      { n: name },
    );
  };

  /** The app's build events, once at least `n` were relayed. */
  const buildEvents = async (app: string, n: number): Promise<any[]> => {
    for (let i = 0; ; i++) {
      const q = await gqlOk(
        t,
        `query($a: String!) { platformEvents(first: 50, filter: { app: $a, types: [BUILD_STARTED, BUILD_SUCCEEDED, BUILD_FAILED] }) { edges { node { type actor app payload } } } }`,
        { a: app },
      );
      const events = q.platformEvents.edges.map((e: any) => e.node);
      if (events.length >= n || i > 100) return events;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'phantom-builds-'));
    dataDir = join(root, 'data');
    const env: Record<string, string> = {
      PHANTOM_DATA_DIR: dataDir,
      PHANTOM_RELEASE_FAILURE_GRACE_MS: '1000',
      PHANTOM_ENGINE_POLL_MS: '200',
    };
    if (mode === 'mysql') {
      clusters = await startTestClusters();
      env.PHANTOM_KUBECONFIG = clusters.kubeconfigPath;
    } else {
      env.PHANTOM_EMBEDDED_CLUSTERS = 'on';
    }
    t = await startTestPhantom(mode, { env });
    dev = await createUserWithToken(t, 'dev');
    viewer = await createUserWithToken(t, 'viewer');
    shop = makeRepo(
      {
        'README.md': '# shop\n',
        'build.sh': 'echo "building $PHANTOM_BUILD_APP #$PHANTOM_BUILD_NUMBER"\nls lib\n',
      },
      root,
    );
    makeJar(shop.dir, 'lib/log4j-core-2.14.1.jar', [
      { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-core', version: '2.14.1' },
    ]);
    shop.commit(
      {
        'package-lock.json': JSON.stringify({
          lockfileVersion: 3,
          packages: { '': { name: 'shop' }, 'node_modules/left-pad': { version: '1.3.0' } },
        }),
      },
      'add jar',
    );
    await createApp('shop', shop.url, 'sh build.sh');
  });
  afterAll(async () => {
    await t?.stop();
    await clusters?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('builds the default branch: commit, image, dependencies, log; the workspace is removed', async () => {
    const b = await triggerBuild(t, 'shop', null, dev);
    expect(b).toMatchObject({
      app: 'shop',
      number: 1,
      ref: null,
      status: 'QUEUED',
      triggeredBy: 'dev',
    });
    const done = await waitForBuild(t, b.id);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.commit).toBe(shop.head());
    expect(done.image).toBe(`registry.local/shop:1-${shop.head().slice(0, 7)}`);
    expect(done.dependencies).toEqual(
      expect.arrayContaining([
        { name: 'log4j-core', version: '2.14.1', path: 'lib/log4j-core-2.14.1.jar' },
        { name: 'left-pad', version: '1.3.0', path: 'package-lock.json' },
      ]),
    );
    expect(done.log.lines).toContain('building shop #1');
    expect(done.log.lines).toContain('log4j-core-2.14.1.jar');
    expect(done.log.nextOffset).toBe(done.log.lines.length);
    expect(done.startedAt).not.toBeNull();
    expect(done.finishedAt).not.toBeNull();
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(join(t.config.dataDir, 'builds'))).toEqual([]);
    // A page of the log from an offset.
    const page = await gqlOk(
      t,
      `query($id: ID!) { build(id: $id) { log(offset: 2, limit: 2) { lines nextOffset } } }`,
      { id: b.id },
    );
    expect(page.build.log).toEqual({ lines: done.log.lines.slice(2, 4), nextOffset: 4 });
    // The node interface and the app's connection.
    const node = await gqlOk(
      t,
      `query($id: ID!) { node(id: $id) { id ... on Build { number status } } }`,
      { id: b.id },
    );
    expect(node.node).toEqual({ id: b.id, number: 1, status: 'SUCCEEDED' });
    const list = await gqlOk(
      t,
      `{ app(name: "shop") { builds(first: 5) { edges { node { id number } } pageInfo { hasNextPage } } } }`,
    );
    expect(list.app.builds.edges[0].node).toEqual({ id: b.id, number: 1 });
    // BUILD_STARTED and BUILD_SUCCEEDED went through the outbox.
    const events = await buildEvents('shop', 2);
    expect(events.map((e: any) => e.type)).toEqual(['BUILD_STARTED', 'BUILD_SUCCEEDED']);
    expect(events[1]).toMatchObject({
      actor: 'dev',
      app: 'shop',
      payload: {
        buildId: b.id,
        number: 1,
        status: 'SUCCEEDED',
        image: done.image,
        commit: done.commit,
      },
    });
  });

  it('a banned jar fails the release precheck naming both versions and the path', async () => {
    await gqlOk(
      t,
      `mutation { createDependencyRule(input: { artifact: "log4j-core", minVersion: "2.17.1", message: "Upgrade log4j-core to 2.17.1 or later." }) { id } }`,
      {},
      ADMIN_TOKEN,
    );
    const list = await gqlOk(
      t,
      `{ app(name: "shop") { builds(first: 1) { edges { node { id status } } } } }`,
    );
    const build = list.app.builds.edges[0].node;
    expect(build.status).toBe('SUCCEEDED');
    const r = (
      await gqlOk(
        t,
        `mutation($b: ID!) { createRelease(input: { app: "shop", env: "dev", buildId: $b }) { id image status build { id } } }`,
        { b: build.id },
        dev,
      )
    ).createRelease;
    expect(r.build.id).toBe(build.id);
    const frames = await follow(t.ws(dev), r.id);
    const last = frames.at(-1)!;
    expect(last.release.status).toBe('FAILED');
    expect(last.release.message).toMatch(
      /log4j-core 2\.14\.1 \(lib\/log4j-core-2\.14\.1\.jar\) is below the minimum safe version 2\.17\.1/,
    );
    expect(last.release.message).toMatch(/Upgrade log4j-core/);
    await gqlOk(
      t,
      `mutation { deleteDependencyRule(id: "${(await gqlOk(t, `{ settings { dependencyRules { id } } }`)).settings.dependencyRules[0].id}") }`,
      {},
      ADMIN_TOKEN,
    );
  });

  it('createRelease with buildId refuses unfinished, foreign and unknown builds', async () => {
    const failing = makeRepo({ 'x.txt': 'x' }, root);
    await createApp('broken', failing.url, 'echo about to fail; exit 3');
    const b = await triggerBuild(t, 'broken', null, dev);
    const done = await waitForBuild(t, b.id);
    expect(done.status).toBe('FAILED');
    expect(done.message).toMatch(/exited with code 3/);
    expect(done.log.lines).toContain('about to fail');
    expect(done.image).toBeNull();
    const failed = await buildEvents('broken', 2);
    expect(failed[1]).toMatchObject({
      type: 'BUILD_FAILED',
      payload: {
        buildId: b.id,
        status: 'FAILED',
        reason: expect.stringMatching(/exited with code 3/),
      },
    });
    const bad = await t.gql(
      `mutation($b: ID!) { createRelease(input: { app: "broken", env: "dev", buildId: $b }) { id } }`,
      { b: b.id },
      dev,
    );
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.errors![0].extensions!.field).toBe('buildId');
    expect(bad.errors![0].message).toMatch(/FAILED/);
    const shopBuild = (
      await gqlOk(t, `{ app(name: "shop") { builds(first: 1) { edges { node { id } } } } }`)
    ).app.builds.edges[0].node.id;
    const foreign = await t.gql(
      `mutation($b: ID!) { createRelease(input: { app: "broken", env: "dev", buildId: $b }) { id } }`,
      { b: shopBuild },
      dev,
    );
    expect(errorCode(foreign)).toBe('BAD_USER_INPUT');
    expect(foreign.errors![0].message).toMatch(/not of "broken"/);
    const unknown = await t.gql(
      `mutation { createRelease(input: { app: "broken", env: "dev", buildId: "${Buffer.from('Build:99999').toString('base64url')}" }) { id } }`,
      {},
      dev,
    );
    expect(errorCode(unknown)).toBe('NOT_FOUND');
    // With neither image nor build the release builds first: a failing build fails it.
    const r = (
      await gqlOk(
        t,
        `mutation { createRelease(input: { app: "broken", env: "dev" }) { id status steps { name } } }`,
        {},
        dev,
      )
    ).createRelease;
    expect(r.steps.map((s: any) => s.name)).toEqual(['build', 'precheck', 'deploy']);
    const frames = await follow(t.ws(dev), r.id);
    expect(frames.map((f) => f.release.status)).toContain('BUILDING');
    expect(frames.at(-1)!.release.status).toBe('FAILED');
    expect(frames.at(-1)!.release.message).toMatch(
      /Build #2 failed: The build command exited with code 3/,
    );
  });

  it('buildLog streams lines live and replays from an offset; the build environment has no secrets of Phantom', async () => {
    process.env.PHANTOM_SECRET_PROBE = 'sekrit-probe-value';
    const repo = makeRepo(
      { 'slow.sh': 'for i in 1 2 3 4 5 6; do echo "line $i"; sleep 0.4; done\nenv | sort\n' },
      root,
    );
    await createApp('slow', repo.url, 'sh slow.sh');
    const b = await triggerBuild(t, 'slow', 'main', dev);
    const chunks = await followLog(t.ws(dev), b.id);
    const lines = chunks.flatMap((c) => c.lines);
    // Live: the lines came in several chunks, in order, offsets dense.
    expect(chunks.length).toBeGreaterThan(2);
    chunks.forEach((c, i) => i > 0 && expect(c.offset).toBe(chunks[i - 1].nextOffset));
    expect(lines.filter((l) => l.startsWith('line '))).toEqual([
      'line 1',
      'line 2',
      'line 3',
      'line 4',
      'line 5',
      'line 6',
    ]);
    expect(lines.at(-1)).toMatch(/build SUCCEEDED/);
    const env = lines.filter((l) => /^[A-Z_]+=/.test(l));
    expect(env.some((l) => l === 'PHANTOM_BUILD_APP=slow')).toBe(true);
    expect(env.some((l) => l.startsWith('PHANTOM_BUILD_REF=main'))).toBe(true);
    expect(
      env.filter((l) =>
        /DATABASE_URL|REDIS_URL|PHANTOM_ADMIN_TOKEN|PHANTOM_SECRET_PROBE|sekrit/.test(l),
      ),
    ).toEqual([]);
    delete process.env.PHANTOM_SECRET_PROBE;
    // Replay from an offset after the end: exactly the rest, then complete.
    const replay = await followLog(t.ws(viewer), b.id, { offset: 3 });
    expect(replay.flatMap((c) => c.lines)).toEqual(lines.slice(3));
    expect(replay[0].offset).toBe(3);
  });

  it('cancelBuild kills the running build process', async () => {
    const pidFile = join(root, 'sleeper.pid');
    const repo = makeRepo(
      { 'run.sh': `echo $$ > ${pidFile}\necho started\nsleep 120\necho never\n` },
      root,
    );
    await createApp('sleeper', repo.url, 'sh run.sh');
    const b = await triggerBuild(t, 'sleeper', null, dev);
    await followLog(t.ws(dev), b.id, {
      until: (_c, all) => all.flatMap((c) => c.lines).includes('started'),
    });
    const { readFileSync } = await import('node:fs');
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(process.kill(pid, 0)).toBe(true);
    const forbidden = await t.gql(
      `mutation($id: ID!) { cancelBuild(id: $id) { id } }`,
      { id: b.id },
      viewer,
    );
    expect(errorCode(forbidden)).toBe('FORBIDDEN');
    const c = (
      await gqlOk(
        t,
        `mutation($id: ID!) { cancelBuild(id: $id) { cancelRequested status } }`,
        { id: b.id },
        dev,
      )
    ).cancelBuild;
    expect(c.cancelRequested).toBe(true);
    const done = await waitForBuild(t, b.id, 30_000);
    expect(done.status).toBe('CANCELED');
    expect(done.message).toMatch(/Canceled/);
    expect(done.log.lines).not.toContain('never');
    // Gone, or a zombie nobody reaped (a container's PID 1 may not reap orphans): not running.
    const { existsSync } = await import('node:fs');
    const state = existsSync(`/proc/${pid}/stat`)
      ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0]
      : 'gone';
    expect(['gone', 'Z', 'X']).toContain(state);
    const again = await t.gql(
      `mutation($id: ID!) { cancelBuild(id: $id) { id } }`,
      { id: b.id },
      dev,
    );
    expect(errorCode(again)).toBe('CONFLICT');
  });

  it('a successful build of the default branch releases to dev by itself (watched over releaseProgress)', async () => {
    const repo = makeRepo({ Makefile: 'all:\n\techo compiled\n' }, root);
    await createApp(
      'auto',
      repo.url,
      'echo compiled',
      ', releaseConfig: { autoReleaseEnvs: ["dev"] }',
    );
    // A ref build does not auto-release; the default branch does.
    const onRef = await waitForBuild(t, (await triggerBuild(t, 'auto', 'main', dev)).id);
    expect(onRef.status).toBe('SUCCEEDED');
    const b = await triggerBuild(t, 'auto', null, dev);
    const done = await waitForBuild(t, b.id);
    expect(done.status).toBe('SUCCEEDED');
    let release: any;
    for (let i = 0; i < 100 && !release; i++) {
      const q = await gqlOk(
        t,
        `{ app(name: "auto") { releases(env: "dev", first: 5) { edges { node { id image createdBy build { id } } } } } }`,
      );
      release = q.app.releases.edges[0]?.node;
      if (!release) await new Promise((r) => setTimeout(r, 100));
    }
    expect(release).toMatchObject({ image: done.image, createdBy: 'dev', build: { id: b.id } });
    const frames = await follow(t.ws(dev), release.id);
    expect(frames.at(-1)!.release.status).toBe('SUCCEEDED');
    const all = await gqlOk(
      t,
      `{ app(name: "auto") { releases(first: 10) { edges { node { id } } } } }`,
    );
    expect(all.app.releases.edges).toHaveLength(1);
    const w = await gqlOk(t, `{ app(name: "auto") { workloads(env: "dev") { image status } } }`);
    expect(w.app.workloads[0]).toMatchObject({ image: done.image, status: 'AVAILABLE' });
    // And createRelease with neither image nor build builds the default branch first (BUILDING).
    const r = (
      await gqlOk(
        t,
        `mutation { createRelease(input: { app: "auto", env: "test" }) { id status build { id number } } }`,
        {},
        dev,
      )
    ).createRelease;
    expect(r.build.number).toBe(3);
    const rf = await follow(t.ws(dev), r.id);
    expect(rf.map((f) => f.release.status)).toEqual(
      expect.arrayContaining(['BUILDING', 'PRECHECKING', 'SUCCEEDED']),
    );
  });

  it('a worker runs at most PHANTOM_BUILD_CONCURRENCY (default 2) builds at once; the rest wait QUEUED', async () => {
    const gate = join(root, 'gate-concurrency');
    const repo = makeRepo(
      { 'wait.sh': `echo waiting\nwhile [ ! -e ${gate} ]; do sleep 0.1; done\necho through\n` },
      root,
    );
    await createApp('busy', repo.url, 'sh wait.sh');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await triggerBuild(t, 'busy', null, dev)).id);
    const statuses = async () =>
      Promise.all(ids.map(async (id) => (await getBuild(t, id)).status as string));
    // Two start and wait at the gate; the third stays QUEUED however long we look.
    for (let i = 0; i < 200 && (await statuses()).filter((s) => s === 'RUNNING').length < 2; i++)
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1500));
    const held = await statuses();
    expect(held.filter((s) => s === 'RUNNING')).toHaveLength(2);
    expect(held.filter((s) => s === 'QUEUED')).toHaveLength(1);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(gate, '');
    for (const id of ids) expect((await waitForBuild(t, id)).status).toBe('SUCCEEDED');
  });

  it('a VIEWER cannot trigger; bad input answers with stable codes', async () => {
    const v = await t.gql(`mutation { triggerBuild(app: "shop") { id } }`, {}, viewer);
    expect(errorCode(v)).toBe('FORBIDDEN');
    const cases: [string, string, string][] = [
      [`mutation { triggerBuild(app: "nope") { id } }`, 'NOT_FOUND', 'app'],
      [
        `mutation { triggerBuild(app: "shop", ref: "--upload-pack=evil") { id } }`,
        'BAD_USER_INPUT',
        'ref',
      ],
      [`mutation { triggerBuild(app: "shop", ref: "a..b") { id } }`, 'BAD_USER_INPUT', 'ref'],
    ];
    for (const [q, code, field] of cases) {
      const r = await t.gql(q, {}, dev);
      expect(errorCode(r), q).toBe(code);
      expect(r.errors![0].extensions!.field, q).toBe(field);
    }
    await gqlOk(t, `mutation { createApp(input: { name: "norepo", kind: GO }) { id } }`);
    const norepo = await t.gql(`mutation { triggerBuild(app: "norepo") { id } }`);
    expect(errorCode(norepo)).toBe('BAD_USER_INPUT');
    expect(norepo.errors![0].message).toMatch(/no repository/);
    const unknownRef = await waitForBuild(
      t,
      (await triggerBuild(t, 'shop', 'no-such-branch', dev)).id,
    );
    expect(unknownRef.status).toBe('FAILED');
    expect(unknownRef.message).toMatch(/"no-such-branch" is no branch, tag or commit/);
  });
});
