/**
 * The release flow on the embedded default, as a user would run it: embedded clusters, SQLite,
 * in-process bus; everything through GraphQL and graphql-ws.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createUserWithToken,
  errorCode,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { createRelease, expectDense, follow, getRelease } from './support.js';
import { until } from '../support/until.js';

/** The number in a release's global id (`Release:<n>`, base64url). */
const localReleaseId = (id: string): number =>
  Number(Buffer.from(id, 'base64url').toString('utf8').split(':')[1]);

describe('releases on the embedded default', () => {
  let t: TestPhantom;
  let dev: string;

  beforeAll(async () => {
    t = await startTestPhantom('embedded', {
      env: { PHANTOM_EMBEDDED_CLUSTERS: 'on', PHANTOM_RELEASE_FAILURE_GRACE_MS: '1000' },
    });
    dev = await createUserWithToken(t, 'dev');
    const created = await t.gql(
      `mutation { createApp(input: { name: "shop", kind: NODE, container: { replicas: 2 } }) { id } }`,
    );
    expect(created.errors).toBeUndefined();
    await t.gql(
      `mutation { setAppMember(app: "shop", username: "dev", role: DEVELOPER) { name } }`,
    );
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('releases to dev: releaseProgress reaches SUCCEEDED with dense sequences and pod counts', async () => {
    const r = await createRelease(
      t,
      { app: 'shop', env: 'dev', image: 'registry.local/shop:1.0', description: 'first' },
      dev,
    );
    expect(r.status).toBe('PENDING');
    expect(r.steps.map((s: any) => `${s.name}@${s.cluster ?? ''}`)).toEqual([
      'precheck@',
      'deploy@sim-1',
    ]);
    const frames = await follow(t.ws(dev), r.id);
    expect(expectDense(frames)).toBe(true);
    const last = frames.at(-1)!;
    expect(last.release.status).toBe('SUCCEEDED');
    expect(frames.map((f) => f.release.status)).toContain('VERIFYING');
    expect(frames.some((f) => f.kind === 'PODS')).toBe(true);
    expect(last.release.clusters).toEqual([
      { cluster: 'sim-1', desired: 2, updated: 2, ready: 2, available: 2 },
    ]);
    const w = await t.gql(
      `{ app(name: "shop") { workloads(env: "dev") { image status releaseId: revision } } }`,
    );
    expect(w.data.app.workloads[0]).toMatchObject({
      image: 'registry.local/shop:1.0',
      status: 'AVAILABLE',
    });
    const again = await getRelease(t, r.id);
    expect(again.status).toBe('SUCCEEDED');
    expect(again.prechecks.every((p: any) => p.passed)).toBe(true);
  });

  it('a -crashloop image rolls back by itself to the previous image', async () => {
    const r = await createRelease(
      t,
      { app: 'shop', env: 'dev', image: 'registry.local/shop:2.0-crashloop' },
      dev,
    );
    const frames = await follow(t.ws(dev), r.id);
    const last = frames.at(-1)!;
    expect(last.release.status).toBe('ROLLED_BACK');
    expect(last.release.message).toMatch(/CrashLoopBackOff/);
    expect(last.release.message).toMatch(/rolled back to #\d+ \(registry\.local\/shop:1\.0\)/);
    expect(frames.map((f) => f.release.status)).toContain('ROLLING_BACK');
    const w = await t.gql(`{ app(name: "shop") { workloads(env: "dev") { image status } } }`);
    expect(w.data.app.workloads[0]).toEqual({
      image: 'registry.local/shop:1.0',
      status: 'AVAILABLE',
    });
  });

  it('many watchers of one release cost one read per change, not one per watcher', async () => {
    // prod waits for approval: the watchers join (and replay) first, then the changes come.
    const r = await createRelease(
      t,
      { app: 'shop', env: 'prod', image: 'registry.local/shop:1.0.1' },
      dev,
    );
    const feed = t.phantom.platform.services.releaseProgress!;
    const waiting = Array.from({ length: 30 }, () => {
      let ready!: () => void;
      const joined = new Promise<void>((res) => (ready = res));
      const all = follow(t.ws(dev), r.id, {
        until: (f) => (f.release.status === 'AWAITING_APPROVAL' && ready(), false),
      });
      return { joined, all };
    });
    await Promise.all(waiting.map((w) => w.joined));
    const before = feed.reads;
    const q = await t.gql(`query($id: ID!) { release(id: $id) { ticket { id } } }`, { id: r.id });
    expect(
      (
        await t.gql(`mutation($id: ID!) { approveTicket(id: $id) { status } }`, {
          id: q.data.release.ticket.id,
        })
      ).errors,
    ).toBeUndefined();
    const watchers = await Promise.all(waiting.map((w) => w.all));
    const frames = watchers[0];
    expect(frames.at(-1)!.release.status).toBe('SUCCEEDED');
    for (const w of watchers)
      expect(w.map((f) => f.sequence)).toEqual(frames.map((f) => f.sequence));
    const live = frames.filter(
      (f) =>
        f.release.status !== 'AWAITING_APPROVAL' &&
        f.release.status !== 'PRECHECKING' &&
        f.release.status !== 'PENDING',
    ).length;
    // Each change is read once for everyone (plus heartbeats: one statement for all watched releases).
    expect(feed.reads - before).toBeLessThan(live + 10);
  });

  it('one active release per app and env: a second one is CONFLICT', async () => {
    const r = await createRelease(
      t,
      { app: 'shop', env: 'dev', image: 'registry.local/shop:1.1' },
      dev,
    );
    const second = await t.gql(
      `mutation { createRelease(input: { app: "shop", env: "dev", image: "registry.local/shop:1.2" }) { id } }`,
      {},
      dev,
    );
    expect(errorCode(second)).toBe('CONFLICT');
    expect(second.errors![0].message).toMatch(/already has an active release/);
    const frames = await follow(t.ws(dev), r.id);
    expect(frames.at(-1)!.release.status).toBe('SUCCEEDED');
  });

  // Found by an adversarial probe: a resume at the very end never completed, and a watcher
  // starting beyond the end held back the shared live read of every other watcher.
  it('releaseProgress: a resume at the end completes at once; beyond the end is refused and stalls nobody', async () => {
    const r = await createRelease(
      t,
      { app: 'shop', env: 'dev', image: 'registry.local/shop:1.0.2' },
      dev,
    );
    // A watcher that asks to start far beyond the end, before anyone else watches.
    await expect(follow(t.ws(dev), r.id, { after: '999999', timeoutMs: 10_000 })).rejects.toThrow(
      /BAD_USER_INPUT/,
    );
    const frames = await follow(t.ws(dev), r.id, { timeoutMs: 40_000 });
    expect(expectDense(frames)).toBe(true);
    const last = frames.at(-1)!;
    expect(last.release.status).toBe('SUCCEEDED');
    expect(await follow(t.ws(dev), r.id, { after: last.sequence, timeoutMs: 10_000 })).toEqual([]);
    await expect(
      follow(t.ws(dev), r.id, { after: String(Number(last.sequence) + 1), timeoutMs: 10_000 }),
    ).rejects.toThrow(/beyond the last progress entry/);
    // From one before the end: just the last entry, then complete.
    const tail = await follow(t.ws(dev), r.id, {
      after: String(Number(last.sequence) - 1),
      timeoutMs: 10_000,
    });
    expect(tail.map((f) => f.sequence)).toEqual([last.sequence]);
  });

  // Found by an adversarial probe: a direct deploy during a release took the release's id,
  // and the release reported SUCCEEDED for the image it did not deploy.
  it('deployApp and removeWorkload are refused while a release of the app runs in that env', async () => {
    const r = await createRelease(
      t,
      { app: 'shop', env: 'dev', image: 'registry.local/shop:5.0' },
      dev,
    );
    const deploy = await t.gql(
      `mutation { deployApp(app: "shop", env: "dev", image: "registry.local/shop:6.0") { cluster } }`,
      undefined,
      dev,
    );
    expect(errorCode(deploy)).toBe('CONFLICT');
    expect(deploy.errors![0].message).toMatch(/Release #\d+ of shop is in progress in dev/);
    const remove = await t.gql(
      `mutation { removeWorkload(app: "shop", env: "dev") { cluster } }`,
      undefined,
      dev,
    );
    expect(errorCode(remove)).toBe('CONFLICT');
    const last = (await follow(t.ws(dev), r.id)).at(-1)!;
    expect(last.release.status).toBe('SUCCEEDED');
    const w = await t.gql(`{ app(name: "shop") { workloads(env: "dev") { image releaseId } } }`);
    expect(w.data.app.workloads[0]).toEqual({
      image: 'registry.local/shop:5.0',
      releaseId: String(localReleaseId(r.id)),
    });
    // Once it ended, a direct deploy goes through, and the workload no longer names the
    // release (it does not run what the release deployed any more).
    const after = await t.gql(
      `mutation { deployApp(app: "shop", env: "dev", image: "registry.local/shop:5.1") { cluster } }`,
      undefined,
      dev,
    );
    expect(after.errors).toBeUndefined();
    await until('the direct deploy in the informer cache', async () => {
      const x = await t.gql(`{ app(name: "shop") { workloads(env: "dev") { image releaseId } } }`);
      const [wl] = x.data.app.workloads;
      return wl.image === 'registry.local/shop:5.1' && wl;
    }).then((wl: any) => expect(wl.releaseId).toBeNull());
  });

  it('bad input answers with stable codes', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ app: 'nope', env: 'dev', image: 'x:1' }, 'NOT_FOUND', 'app'],
      [{ app: 'shop', env: 'nowhere', image: 'x:1' }, 'BAD_USER_INPUT', 'env'],
      [{ app: 'shop', env: 'dev', image: 'bad image' }, 'BAD_USER_INPUT', 'image'],
      // A real kubelet refuses these (InvalidImageName): refused here, before the release.
      [{ app: 'shop', env: 'dev', image: 'registry.local/Shop:1' }, 'BAD_USER_INPUT', 'image'],
      [{ app: 'shop', env: 'dev', image: 'registry.local/shop:-1' }, 'BAD_USER_INPUT', 'image'],
      [{ app: 'shop', env: 'dev' }, 'BAD_USER_INPUT', 'image'],
      [
        { app: 'shop', env: 'dev', image: 'x:1', buildId: 'QnVpbGQ6MQ' },
        'BAD_USER_INPUT',
        'buildId',
      ],
    ];
    for (const [input, code, field] of cases) {
      const r = await t.gql(
        `mutation($i: CreateReleaseInput!) { createRelease(input: $i) { id } }`,
        { i: input },
        dev,
      );
      expect([errorCode(r), r.errors?.[0]?.extensions?.field]).toEqual([code, field]);
    }
  });
});

describe('release strategies, cancel and rollback on the embedded default', () => {
  let t: TestPhantom;

  beforeAll(async () => {
    t = await startTestPhantom('embedded', {
      env: { PHANTOM_EMBEDDED_CLUSTERS: 'on', PHANTOM_RELEASE_FAILURE_GRACE_MS: '1000' },
    });
    const env = await t.gql(
      `mutation { upsertEnvironment(input: { name: "staging", requiresApproval: false, targets: [{ cluster: "sim-1", namespace: "staging" }, { cluster: "sim-2", namespace: "staging" }] }) { name } }`,
    );
    expect(env.errors).toBeUndefined();
  });
  afterAll(async () => {
    await t?.stop();
  });

  const kubectlJson = async (cluster: string, args: string[]): Promise<any> => {
    // Asynchronously: the simulated clusters answer from this very process.
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const kubeconfig = t.phantom.platform.services.k8s!.kubeconfigPath!;
    const { stdout } = await promisify(execFile)(
      'kubectl',
      ['--kubeconfig', kubeconfig, '--context', cluster, ...args, '-o', 'json'],
      { encoding: 'utf8' },
    );
    return JSON.parse(stdout);
  };

  it('deploys wave by wave (sim-1 verified before sim-2 starts); RECREATE and the progress deadline reach the Deployment', async () => {
    await t.gql(
      `mutation { createApp(input: { name: "api", kind: GO, releaseConfig: { strategy: RECREATE, progressDeadlineSeconds: 90 } }) { id } }`,
    );
    const r = await createRelease(t, { app: 'api', env: 'staging', image: 'registry.local/api:1' });
    const frames = await follow(t.ws(), r.id);
    expect(frames.at(-1)!.release.status).toBe('SUCCEEDED');
    // The second wave starts only after the first one succeeded.
    const firstRunning2 = frames.findIndex(
      (f) => f.release.steps.find((s) => s.cluster === 'sim-2')?.status === 'RUNNING',
    );
    expect(firstRunning2).toBeGreaterThan(0);
    expect(frames[firstRunning2].release.steps.find((s) => s.cluster === 'sim-1')!.status).toBe(
      'SUCCEEDED',
    );
    for (const cluster of ['sim-1', 'sim-2']) {
      const d = await kubectlJson(cluster, ['-n', 'staging', 'get', 'deployment', 'api']);
      expect(d.spec.strategy).toEqual({ type: 'Recreate' });
      expect(d.spec.progressDeadlineSeconds).toBe(90);
      expect(d.metadata.annotations['phantom.io/release-id']).toBe(
        String(Buffer.from(r.id, 'base64url').toString().split(':')[1]),
      );
    }
  });

  it('a canary pauses after its wave, is promoted, rolls out everywhere, and is removed', async () => {
    await t.gql(
      `mutation { createApp(input: { name: "web", kind: NODE, container: { replicas: 2 }, releaseConfig: { strategy: CANARY, canaryReplicas: 1, canaryPauseSeconds: 3600 } }) { id } }`,
    );
    const r = await createRelease(t, { app: 'web', env: 'staging', image: 'registry.local/web:2' });
    expect(r.steps.map((s: any) => `${s.name}@${s.cluster ?? ''}`)).toEqual([
      'precheck@',
      'canary@sim-1',
      'pause@sim-1',
      'deploy@sim-1',
      'deploy@sim-2',
      'cleanup@sim-1',
    ]);
    const paused = await follow(t.ws(), r.id, { until: (f) => f.release.status === 'PAUSED' });
    expect(paused.at(-1)!.release.steps.find((s) => s.name === 'canary')!.status).toBe('SUCCEEDED');
    const runtime = t.phantom.platform.services.k8s!.runtime;
    const canary = await runtime.workloads([{ cluster: 'sim-1', namespace: 'staging' }], {
      app: 'web',
      env: 'staging',
      variant: 'canary',
    });
    expect(canary[0]).toMatchObject({
      name: 'web-canary',
      image: 'registry.local/web:2',
      replicas: 1,
      status: 'AVAILABLE',
    });
    const main = await runtime.workloads([{ cluster: 'sim-1', namespace: 'staging' }], {
      app: 'web',
      env: 'staging',
    });
    expect(main[0].status).toBe('MISSING');
    // The API shows the canary beside the (not yet deployed) workloads.
    const seen = await t.gql(
      `{ app(name: "web") { canaries(env: "staging") { name cluster image replicas status pods { name } } workloads(env: "staging") { cluster status } } }`,
    );
    expect(seen.errors).toBeUndefined();
    expect(seen.data.app.canaries).toHaveLength(1);
    expect(seen.data.app.canaries[0]).toMatchObject({
      name: 'web-canary',
      cluster: 'sim-1',
      image: 'registry.local/web:2',
      replicas: 1,
      status: 'AVAILABLE',
    });
    expect(seen.data.app.canaries[0].pods).toHaveLength(1);
    expect(seen.data.app.workloads.map((w: any) => w.status)).toEqual(['MISSING', 'MISSING']);
    // Still paused: a query says so, and a promote of something not paused is CONFLICT.
    expect((await getRelease(t, r.id)).status).toBe('PAUSED');
    const p = await t.gql(`mutation($id: ID!) { promoteRelease(id: $id) { status } }`, {
      id: r.id,
    });
    expect(p.errors).toBeUndefined();
    const rest = await follow(t.ws(), r.id, { after: paused.at(-1)!.sequence });
    expect(Number(rest[0].sequence)).toBe(Number(paused.at(-1)!.sequence) + 1);
    expect(rest.at(-1)!.release.status).toBe('SUCCEEDED');
    expect(rest.at(-1)!.release.steps.map((s) => s.status)).toEqual([
      'SUCCEEDED',
      'SUCCEEDED',
      'SUCCEEDED',
      'SUCCEEDED',
      'SUCCEEDED',
      'SUCCEEDED',
    ]);
    expect(rest.at(-1)!.release.steps[0].message).toMatch(
      /^\d+ checks passed\. Checked again when promoted: all \d+ passed\.$/,
    );
    const after = await runtime.workloads([{ cluster: 'sim-1', namespace: 'staging' }], {
      app: 'web',
      env: 'staging',
      variant: 'canary',
    });
    expect(after[0].status).toBe('MISSING');
    const gone = await t.gql(`{ app(name: "web") { canaries(env: "staging") { name } } }`);
    expect(gone.data.app.canaries).toEqual([]);
    const again = await t.gql(`mutation($id: ID!) { promoteRelease(id: $id) { status } }`, {
      id: r.id,
    });
    expect(errorCode(again)).toBe('CONFLICT');
  });

  it('a maintenance window that began during the canary pause stops the promotion: FAILED, the canary removed, nothing else deployed', async () => {
    await t.gql(
      `mutation { createApp(input: { name: "web-late", kind: NODE, container: { replicas: 2 }, releaseConfig: { strategy: CANARY, canaryReplicas: 1, canaryPauseSeconds: 3600 } }) { id } }`,
    );
    const r = await createRelease(t, {
      app: 'web-late',
      env: 'staging',
      image: 'registry.local/web-late:2',
    });
    const paused = await follow(t.ws(), r.id, { until: (f) => f.release.status === 'PAUSED' });
    const made = await t.gql(
      `mutation($i: MaintenanceWindowInput!) { createMaintenanceWindow(input: $i) { id } }`,
      {
        i: {
          name: 'pause freeze',
          envs: ['staging'],
          startsAt: new Date(Date.now() - 60_000).toISOString(),
          endsAt: new Date(Date.now() + 3600_000).toISOString(),
          reason: 'incident',
        },
      },
    );
    expect(made.errors).toBeUndefined();
    try {
      const p = await t.gql(`mutation($id: ID!) { promoteRelease(id: $id) { status } }`, {
        id: r.id,
      });
      expect(p.errors).toBeUndefined();
      const last = (await follow(t.ws(), r.id, { after: paused.at(-1)!.sequence })).at(-1)!;
      expect(last.release.status).toBe('FAILED');
      expect(last.release.message).toMatch(/Promoted, but the prechecks no longer pass/);
      expect(last.release.message).toMatch(/pause freeze/);
      expect(last.release.message).toMatch(/the canary was removed\.$/);
      expect(last.release.message).not.toMatch(/\.;/);
      // The precheck step keeps its first outcome and says what the second check found.
      expect(last.release.steps[0].message).toMatch(
        /^\d+ checks passed\. Checked again when promoted: 1 of \d+ failed: .*pause freeze/,
      );
      expect(last.release.steps.map((s: any) => `${s.name}:${s.status}`)).toEqual([
        'precheck:SUCCEEDED',
        'canary:SUCCEEDED',
        'pause:FAILED',
        'deploy:SKIPPED',
        'deploy:SKIPPED',
        'cleanup:SKIPPED',
      ]);
      const runtime = t.phantom.platform.services.k8s!.runtime;
      const target = [{ cluster: 'sim-1', namespace: 'staging' }];
      const canary = await runtime.workloads(target, {
        app: 'web-late',
        env: 'staging',
        variant: 'canary',
      });
      expect(canary[0].status).toBe('MISSING');
      const main = await runtime.workloads(target, { app: 'web-late', env: 'staging' });
      expect(main[0].status).toBe('MISSING');
    } finally {
      await t.gql(`mutation($id: ID!) { deleteMaintenanceWindow(id: $id) }`, {
        id: made.data.createMaintenanceWindow.id,
      });
    }
  });

  it('cancel mid-rollout stops before the next wave and rolls the deployed waves back', async () => {
    await t.gql(
      `mutation { createApp(input: { name: "big", kind: JAVA, container: { replicas: 24, cpu: "10m" } }) { id } }`,
    );
    const first = await createRelease(t, {
      app: 'big',
      env: 'staging',
      image: 'registry.local/big:1',
    });
    expect((await follow(t.ws(), first.id)).at(-1)!.release.status).toBe('SUCCEEDED');
    const r = await createRelease(t, { app: 'big', env: 'staging', image: 'registry.local/big:2' });
    let canceled = false;
    const frames = await follow(t.ws(), r.id, {
      until: (f) => {
        if (
          !canceled &&
          f.release.steps.find((s) => s.cluster === 'sim-1' && s.name === 'deploy')?.status ===
            'SUCCEEDED'
        ) {
          canceled = true;
          void t.gql(`mutation($id: ID!) { cancelRelease(id: $id) { cancelRequested } }`, {
            id: r.id,
          });
        }
        return false;
      },
    });
    const last = frames.at(-1)!;
    expect(last.release.status).toBe('CANCELED');
    expect(last.release.message).toMatch(
      /Canceled.*rolled back to #\d+ \(registry\.local\/big:1\)/,
    );
    expect(frames.map((f) => f.release.status)).toContain('ROLLING_BACK');
    const w = await t.gql(
      `{ app(name: "big") { workloads(env: "staging") { cluster image status } } }`,
    );
    expect(w.data.app.workloads).toEqual([
      { cluster: 'sim-1', image: 'registry.local/big:1', status: 'AVAILABLE' },
      { cluster: 'sim-2', image: 'registry.local/big:1', status: 'AVAILABLE' },
    ]);
    const ended = await t.gql(`mutation($id: ID!) { cancelRelease(id: $id) { id } }`, { id: r.id });
    expect(errorCode(ended)).toBe('CONFLICT');
  });

  it('rollbackRelease puts the env back on the last success before it; without one it says so', async () => {
    await t.gql(`mutation { createApp(input: { name: "solo", kind: NODE }) { id } }`);
    const one = await createRelease(t, {
      app: 'solo',
      env: 'staging',
      image: 'registry.local/solo:1',
    });
    await follow(t.ws(), one.id);
    const none = await t.gql(`mutation($id: ID!) { rollbackRelease(id: $id) { id } }`, {
      id: one.id,
    });
    expect(errorCode(none)).toBe('CONFLICT');
    expect(none.errors![0].message).toMatch(/nothing to roll back to/);
    const two = await createRelease(t, {
      app: 'solo',
      env: 'staging',
      image: 'registry.local/solo:2',
    });
    await follow(t.ws(), two.id);
    const rb = await t.gql(
      `mutation($id: ID!) { rollbackRelease(id: $id) { id image rollbackOf { id image } } }`,
      { id: two.id },
    );
    expect(rb.errors).toBeUndefined();
    expect(rb.data.rollbackRelease).toMatchObject({
      image: 'registry.local/solo:1',
      rollbackOf: { id: two.id, image: 'registry.local/solo:2' },
    });
    expect((await follow(t.ws(), rb.data.rollbackRelease.id)).at(-1)!.release.status).toBe(
      'SUCCEEDED',
    );
    // Again: the same answer (it targets the last success before the given release, not "the previous revision").
    const rb2 = await t.gql(`mutation($id: ID!) { rollbackRelease(id: $id) { id image } }`, {
      id: two.id,
    });
    expect(rb2.data.rollbackRelease.image).toBe('registry.local/solo:1');
    await follow(t.ws(), rb2.data.rollbackRelease.id);
    const list = await t.gql(
      `{ app(name: "solo") { releases(first: 2, env: "staging") { edges { node { image status } } pageInfo { hasNextPage } } } }`,
    );
    expect(list.data.app.releases.edges.map((e: any) => e.node.status)).toEqual([
      'SUCCEEDED',
      'SUCCEEDED',
    ]);
    expect(list.data.app.releases.pageInfo.hasNextPage).toBe(true);
  });

  it('without autoRollback a failure leaves the workloads as they are; without an earlier success it says so', async () => {
    await t.gql(
      `mutation { createApp(input: { name: "raw", kind: NODE, releaseConfig: { autoRollback: false } }) { id } }`,
    );
    const r = await createRelease(t, {
      app: 'raw',
      env: 'staging',
      image: 'registry.local/raw:1-badpull',
    });
    const last = (await follow(t.ws(), r.id)).at(-1)!;
    expect(last.release.status).toBe('FAILED');
    expect(last.release.message).toMatch(/ImagePullBackOff|ErrImagePull/);
    expect(last.release.message).toMatch(/autoRollback is off/);
    await t.gql(`mutation { createApp(input: { name: "fresh", kind: NODE }) { id } }`);
    const f = await createRelease(t, {
      app: 'fresh',
      env: 'staging',
      image: 'registry.local/fresh:1-crashloop',
    });
    const end = (await follow(t.ws(), f.id)).at(-1)!;
    expect(end.release.status).toBe('FAILED');
    expect(end.release.message).toMatch(/nothing to roll back to/);
  });
});

describe('releases to an environment that requires approval (embedded default)', () => {
  let t: TestPhantom;
  let dev: string;
  let owner: string;

  beforeAll(async () => {
    t = await startTestPhantom('embedded', { env: { PHANTOM_EMBEDDED_CLUSTERS: 'on' } });
    dev = await createUserWithToken(t, 'dev');
    owner = await createUserWithToken(t, 'olive');
    await t.gql(`mutation { createApp(input: { name: "pay", kind: JAVA }) { id } }`);
    await t.gql(`mutation { setAppMember(app: "pay", username: "dev", role: DEVELOPER) { name } }`);
    await t.gql(`mutation { setAppMember(app: "pay", username: "olive", role: OWNER) { name } }`);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const ticketOf = async (id: string, token?: string) => {
    const r = await t.gql(
      `query($id: ID!) { release(id: $id) { status ticket { id kind status requester viewerCanDecide release { id } } } }`,
      { id },
      token,
    );
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data.release;
  };

  it('prod waits for an OWNER who is not the requester, then deploys to both clusters one after the other', async () => {
    const r = await createRelease(
      t,
      { app: 'pay', env: 'prod', image: 'registry.local/pay:1' },
      dev,
    );
    expect(r.steps.map((s: any) => `${s.name}@${s.cluster ?? ''}`)).toEqual([
      'precheck@',
      'approval@',
      'deploy@sim-1',
      'deploy@sim-2',
    ]);
    await follow(t.ws(dev), r.id, { until: (f) => f.release.status === 'AWAITING_APPROVAL' });
    const waiting = await ticketOf(r.id, owner);
    expect(waiting.ticket).toMatchObject({
      kind: 'RELEASE_APPROVAL',
      status: 'OPEN',
      requester: 'dev',
      viewerCanDecide: true,
      release: { id: r.id },
    });
    // The requester can never approve their own release.
    const own = await t.gql(
      `mutation($id: ID!) { approveTicket(id: $id) { status } }`,
      { id: waiting.ticket.id },
      dev,
    );
    expect(errorCode(own)).toBe('FORBIDDEN');
    expect((await ticketOf(r.id)).status).toBe('AWAITING_APPROVAL');
    const ok = await t.gql(
      `mutation($id: ID!) { approveTicket(id: $id, comment: "go") { status decidedBy } }`,
      { id: waiting.ticket.id },
      owner,
    );
    expect(ok.data.approveTicket).toEqual({ status: 'APPROVED', decidedBy: 'olive' });
    const frames = await follow(t.ws(dev), r.id);
    const last = frames.at(-1)!;
    expect(last.release.status).toBe('SUCCEEDED');
    expect(last.release.steps.find((s) => s.name === 'approval')!.message).toBe(
      'Approved by olive: go',
    );
    const sim2Start = frames.findIndex(
      (f) => f.release.steps.find((s) => s.cluster === 'sim-2')!.status === 'RUNNING',
    );
    expect(frames[sim2Start].release.steps.find((s) => s.cluster === 'sim-1')!.status).toBe(
      'SUCCEEDED',
    );
    const w = await t.gql(
      `{ app(name: "pay") { workloads(env: "prod") { cluster image status } } }`,
    );
    expect(w.data.app.workloads).toEqual([
      { cluster: 'sim-1', image: 'registry.local/pay:1', status: 'AVAILABLE' },
      { cluster: 'sim-2', image: 'registry.local/pay:1', status: 'AVAILABLE' },
    ]);
  });

  // Found by an adversarial probe: the rules were evaluated only before the approval, which
  // may come hours later; a freeze that began meanwhile did not stop the deployment.
  it('a maintenance window that began while the release waited stops it at the approval, before any deploy', async () => {
    const r = await createRelease(
      t,
      { app: 'pay', env: 'prod', image: 'registry.local/pay:9' },
      dev,
    );
    await follow(t.ws(dev), r.id, { until: (f) => f.release.status === 'AWAITING_APPROVAL' });
    const made = await t.gql(
      `mutation($i: MaintenanceWindowInput!) { createMaintenanceWindow(input: $i) { id } }`,
      {
        i: {
          name: 'late freeze',
          envs: ['prod'],
          startsAt: new Date(Date.now() - 60_000).toISOString(),
          endsAt: new Date(Date.now() + 3600_000).toISOString(),
          reason: 'quarter close',
        },
      },
    );
    expect(made.errors).toBeUndefined();
    try {
      const { ticket } = await ticketOf(r.id);
      const ok = await t.gql(
        `mutation($id: ID!) { approveTicket(id: $id) { status } }`,
        { id: ticket.id },
        owner,
      );
      expect(ok.data.approveTicket.status).toBe('APPROVED');
      const last = (await follow(t.ws(dev), r.id)).at(-1)!;
      expect(last.release.status).toBe('FAILED');
      expect(last.release.message).toMatch(/Approved, but the prechecks no longer pass/);
      expect(last.release.message).toMatch(/late freeze/);
      expect(last.release.steps[0]).toMatchObject({ name: 'precheck', status: 'SUCCEEDED' });
      expect(last.release.steps[0].message).toMatch(
        /Checked again when approved: \d+ of \d+ failed: .*late freeze/,
      );
      const w = await t.gql(`{ app(name: "pay") { workloads(env: "prod") { image } } }`);
      expect(w.data.app.workloads.map((x: any) => x.image)).not.toContain('registry.local/pay:9');
    } finally {
      await t.gql(`mutation($id: ID!) { deleteMaintenanceWindow(id: $id) }`, {
        id: made.data.createMaintenanceWindow.id,
      });
    }
  });

  // Found by an adversarial probe: an app deleted while its release waited was deployed once
  // the ticket was approved, leaving workloads no app owns.
  it('deleteApp is refused while a release of the app runs; once it ended, the app goes', async () => {
    await t.gql(`mutation { createApp(input: { name: "brief", kind: GO }) { id } }`);
    await t.gql(
      `mutation { setAppMember(app: "brief", username: "dev", role: DEVELOPER) { name } }`,
    );
    const r = await createRelease(
      t,
      { app: 'brief', env: 'prod', image: 'registry.local/brief:1' },
      dev,
    );
    await follow(t.ws(dev), r.id, { until: (f) => f.release.status === 'AWAITING_APPROVAL' });
    const refused = await t.gql(`mutation { deleteApp(name: "brief") }`);
    expect(errorCode(refused)).toBe('CONFLICT');
    expect(refused.errors![0].message).toMatch(/release #\d+ in progress in prod/);
    await t.gql(`mutation($id: ID!) { cancelRelease(id: $id) { id } }`, { id: r.id }, dev);
    expect((await follow(t.ws(dev), r.id)).at(-1)!.release.status).toBe('CANCELED');
    expect((await t.gql(`mutation { deleteApp(name: "brief") }`)).data.deleteApp).toBe(true);
  });

  it('a rejected ticket ends the release REJECTED; a canceled one closes its ticket', async () => {
    const r = await createRelease(
      t,
      { app: 'pay', env: 'prod', image: 'registry.local/pay:2' },
      dev,
    );
    await follow(t.ws(dev), r.id, { until: (f) => f.release.status === 'AWAITING_APPROVAL' });
    const { ticket } = await ticketOf(r.id);
    const no = await t.gql(
      `mutation($id: ID!) { rejectTicket(id: $id, comment: "not on a Friday") { status } }`,
      { id: ticket.id },
      owner,
    );
    expect(no.errors).toBeUndefined();
    const last = (await follow(t.ws(dev), r.id)).at(-1)!;
    expect(last.release.status).toBe('REJECTED');
    expect(last.release.message).toBe('Rejected by olive: not on a Friday');
    const c = await createRelease(
      t,
      { app: 'pay', env: 'prod', image: 'registry.local/pay:3' },
      dev,
    );
    await follow(t.ws(dev), c.id, { until: (f) => f.release.status === 'AWAITING_APPROVAL' });
    const cancel = await t.gql(
      `mutation($id: ID!) { cancelRelease(id: $id) { cancelRequested } }`,
      { id: c.id },
      dev,
    );
    expect(cancel.data.cancelRelease.cancelRequested).toBe(true);
    const canceled = (await follow(t.ws(dev), c.id)).at(-1)!.release;
    expect(canceled.status).toBe('CANCELED');
    // The approval step says why it ended, not that it is still waiting.
    expect(canceled.steps.find((s) => s.name === 'approval')).toMatchObject({
      status: 'FAILED',
      message: 'Canceled while waiting for approval.',
    });
    expect((await ticketOf(c.id)).ticket.status).toBe('CANCELED');
    // Prod still runs release 1: nothing was deployed by the rejected or canceled ones.
    const w = await t.gql(`{ app(name: "pay") { workloads(env: "prod") { image } } }`);
    expect(w.data.app.workloads.map((x: any) => x.image)).toEqual([
      'registry.local/pay:1',
      'registry.local/pay:1',
    ]);
  });
});

describe('an approval ticket that expires', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    // ~1.1 s tickets: the engine wakes the waiting release when its ticket expires.
    t = await startTestPhantom('embedded', {
      env: { PHANTOM_EMBEDDED_CLUSTERS: 'on', PHANTOM_TICKET_TTL_HOURS: '0.0003' },
    });
    await t.gql(`mutation { createApp(input: { name: "late", kind: GO }) { id } }`);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('ends the release CANCELED with the reason, and the ticket EXPIRED', async () => {
    const r = await createRelease(t, { app: 'late', env: 'prod', image: 'registry.local/late:1' });
    const last = (await follow(t.ws(), r.id, { timeoutMs: 20_000 })).at(-1)!;
    expect(last.release.status).toBe('CANCELED');
    expect(last.release.message).toMatch(/approval ticket expired/);
    const q = await t.gql(`query($id: ID!) { release(id: $id) { ticket { status } } }`, {
      id: r.id,
    });
    expect(q.data.release.ticket.status).toBe('EXPIRED');
  });
});
