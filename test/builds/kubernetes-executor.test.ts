/**
 * The Kubernetes executor (PHANTOM_BUILD_EXECUTOR=kubernetes) through the simulator: the build
 * is a batch/v1 Job (Job → pod → Succeeded), seen by the real kubectl while it runs and gone
 * afterwards; a builder image whose tag ends in `-fail` fails the build; a cancel deletes the Job.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableModes,
  createUserWithToken,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { startTestClusters, waitFor, type TestClusters } from '../k8s/support.js';
import {
  followLog,
  gqlOk,
  makeRepo,
  triggerBuild,
  waitForBuild,
  type TestRepo,
} from './support.js';

const run = promisify(execFile);

describe.each(availableModes)('Kubernetes build executor (%s)', (mode) => {
  let clusters: TestClusters;
  let ok: TestPhantom;
  let failing: TestPhantom;
  let root: string;
  let repo: TestRepo;
  let dev: string;

  // Asynchronous: the simulated clusters answer from this very process.
  const kubectl = async (...args: string[]): Promise<string> =>
    (
      await run(
        'kubectl',
        [
          '--kubeconfig',
          clusters.kubeconfigPath,
          '--context',
          'sim-2',
          '--request-timeout=10s',
          ...args,
        ],
        { encoding: 'utf8' },
      )
    ).stdout;
  const jobs = async (): Promise<string[]> =>
    (await kubectl('get', 'jobs', '-n', 'builds', '-o', 'name')).split('\n').filter(Boolean);

  const start = async (image: string) => {
    const t = await startTestPhantom(mode, {
      env: {
        PHANTOM_KUBECONFIG: clusters.kubeconfigPath,
        PHANTOM_DATA_DIR: join(root, `data-${image.replace(/\W/g, '')}`),
        PHANTOM_BUILD_EXECUTOR: 'kubernetes',
        PHANTOM_BUILD_K8S_CLUSTER: 'sim-2',
        PHANTOM_BUILD_K8S_NAMESPACE: 'builds',
        PHANTOM_BUILD_K8S_IMAGE: image,
        PHANTOM_ENGINE_POLL_MS: '200',
      },
      builds: { jobPollMs: 100 },
    });
    await gqlOk(
      t,
      `mutation($r: String!) { createApp(input: { name: "svc", kind: JAVA, repository: $r, buildCommand: "mvn -q package" }) { id } }`,
      { r: repo.url },
    );
    return t;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'phantom-k8s-builds-'));
    repo = makeRepo({ 'pom.xml': '<project/>' }, root);
    repo.branch('release-1');
    repo.commit({ 'CHANGES.md': 'release 1' });
    // Back on main: the remote's default branch (HEAD) is main again.
    execFileSync('git', ['checkout', '--quiet', 'main'], { cwd: repo.dir });
    clusters = await startTestClusters();
    ok = await start('builder:v1');
    failing = await start('builder:v1-fail');
    dev = await createUserWithToken(ok, 'dev');
    await gqlOk(
      ok,
      `mutation { setAppMember(app: "svc", username: "dev", role: DEVELOPER) { name } }`,
    );
  });
  afterAll(async () => {
    await ok?.stop();
    await failing?.stop();
    await clusters?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('runs the build as a Job (kubectl sees it while it runs), records commit and image, deletes the Job after', async () => {
    const b = await triggerBuild(ok, 'svc', 'release-1', dev);
    await followLog(ok.ws(dev), b.id, {
      until: (_c, all) =>
        all
          .flatMap((c) => c.lines)
          .some((l) => /^\[phantom\] Job phantom-build-\d+-\w+ created on sim-2\/builds/.test(l)),
    });
    expect(
      (
        await waitFor(async () => {
          const j = await jobs();
          return j.length ? j : undefined;
        }, 10_000)
      )[0],
    ).toMatch(/^job\.batch\/phantom-build-\d+-[0-9a-f]+$/);
    const done = await waitForBuild(ok, b.id);
    expect(done.status).toBe('SUCCEEDED');
    const release1 = execFileSync('git', ['rev-parse', 'release-1'], {
      cwd: repo.dir,
      encoding: 'utf8',
    }).trim();
    expect(release1).not.toBe(repo.head());
    expect(done.commit).toBe(release1);
    expect(done.image).toBe(`registry.local/svc:1-${release1.slice(0, 7)}`);
    expect(done.dependencies).toEqual([]);
    const lines: string[] = done.log.lines;
    expect(
      lines.some((l) =>
        /^\[phantom\] pod phantom-build-\d+-\w+-\w+ is (Pending|Running|Succeeded)$/.test(l),
      ),
    ).toBe(true);
    expect(lines).toContain('[sim] container build started (image builder:v1)');
    expect(lines).toContain('[sim] exited with code 0');
    expect(lines.some((l) => /Job phantom-build-\d+-\w+ completed/.test(l))).toBe(true);
    await waitFor(async () => (await jobs()).length === 0, 10_000);
  });

  it("a builder image whose tag ends in -fail fails the build with the Job's reason", async () => {
    const b = await triggerBuild(failing, 'svc', null, undefined);
    const done = await waitForBuild(failing, b.id);
    expect(done.status).toBe('FAILED');
    expect(done.commit).toBe(repo.head());
    expect(done.message).toMatch(/Job phantom-build-\d+-\w+ failed \(BackoffLimitExceeded/);
    expect(done.log.lines).toContain('[sim] error: simulated failure');
    await waitFor(async () => (await jobs()).length === 0, 10_000);
  });

  it('an unknown ref fails before any Job is made; a cancel deletes the running Job', async () => {
    const unknown = await waitForBuild(ok, (await triggerBuild(ok, 'svc', 'nope', dev)).id);
    expect(unknown.status).toBe('FAILED');
    expect(unknown.message).toMatch(/"nope" is no branch, tag or commit/);
    const b = await triggerBuild(ok, 'svc', null, dev);
    await followLog(ok.ws(dev), b.id, {
      until: (_c, all) => all.flatMap((c) => c.lines).some((l) => / is Running$/.test(l)),
    });
    expect(await jobs()).toHaveLength(1);
    await gqlOk(ok, `mutation($id: ID!) { cancelBuild(id: $id) { id } }`, { id: b.id }, dev);
    const done = await waitForBuild(ok, b.id);
    expect(done.status).toBe('CANCELED');
    await waitFor(async () => (await jobs()).length === 0, 10_000);
  });
});

describe('Kubernetes build executor settings', () => {
  it('a build cluster that is not in the kubeconfig stops start-up with a clear message', async () => {
    const clusters = await startTestClusters(['sim-1']);
    try {
      await expect(
        startTestPhantom('embedded', {
          env: {
            PHANTOM_KUBECONFIG: clusters.kubeconfigPath,
            PHANTOM_BUILD_EXECUTOR: 'kubernetes',
            PHANTOM_BUILD_K8S_CLUSTER: 'nowhere',
          },
        }),
      ).rejects.toThrow(
        /PHANTOM_BUILD_EXECUTOR=kubernetes needs a build cluster: "nowhere" \(PHANTOM_BUILD_K8S_CLUSTER\) is not one of sim-1/,
      );
    } finally {
      await clusters.close();
    }
  });
});
