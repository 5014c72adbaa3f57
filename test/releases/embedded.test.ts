/**
 * The release flow on the embedded default, as a user would run it: embedded clusters, SQLite,
 * in-process bus; everything through GraphQL and graphql-ws.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken, errorCode, startTestPhantom, type TestPhantom } from '../support/harness.js';
import { createRelease, expectDense, follow, getRelease } from './support.js';

describe('releases on the embedded default', () => {
  let t: TestPhantom;
  let dev: string;

  beforeAll(async () => {
    t = await startTestPhantom('embedded', { env: { PHANTOM_EMBEDDED_CLUSTERS: 'on', PHANTOM_RELEASE_FAILURE_GRACE_MS: '1000' } });
    dev = await createUserWithToken(t, 'dev');
    const created = await t.gql(`mutation { createApp(input: { name: "shop", kind: NODE, container: { replicas: 2 } }) { id } }`);
    expect(created.errors).toBeUndefined();
    await t.gql(`mutation { setAppMember(app: "shop", username: "dev", role: DEVELOPER) { name } }`);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('releases to dev: releaseProgress reaches SUCCEEDED with dense sequences and pod counts', async () => {
    const r = await createRelease(t, { app: 'shop', env: 'dev', image: 'registry.local/shop:1.0', description: 'first' }, dev);
    expect(r.status).toBe('PENDING');
    expect(r.steps.map((s: any) => `${s.name}@${s.cluster ?? ''}`)).toEqual(['precheck@', 'deploy@sim-1']);
    const frames = await follow(t.ws(dev), r.id);
    expect(expectDense(frames)).toBe(true);
    const last = frames.at(-1)!;
    expect(last.release.status).toBe('SUCCEEDED');
    expect(frames.map((f) => f.release.status)).toContain('VERIFYING');
    expect(frames.some((f) => f.kind === 'PODS')).toBe(true);
    expect(last.release.clusters).toEqual([{ cluster: 'sim-1', desired: 2, updated: 2, ready: 2, available: 2 }]);
    const w = await t.gql(`{ app(name: "shop") { workloads(env: "dev") { image status releaseId: revision } } }`);
    expect(w.data.app.workloads[0]).toMatchObject({ image: 'registry.local/shop:1.0', status: 'AVAILABLE' });
    const again = await getRelease(t, r.id);
    expect(again.status).toBe('SUCCEEDED');
    expect(again.prechecks.every((p: any) => p.passed)).toBe(true);
  });

  it('a -crashloop image rolls back by itself to the previous image', async () => {
    const r = await createRelease(t, { app: 'shop', env: 'dev', image: 'registry.local/shop:2.0-crashloop' }, dev);
    const frames = await follow(t.ws(dev), r.id);
    const last = frames.at(-1)!;
    expect(last.release.status).toBe('ROLLED_BACK');
    expect(last.release.message).toMatch(/CrashLoopBackOff/);
    expect(last.release.message).toMatch(/rolled back to #\d+ \(registry\.local\/shop:1\.0\)/);
    expect(frames.map((f) => f.release.status)).toContain('ROLLING_BACK');
    const w = await t.gql(`{ app(name: "shop") { workloads(env: "dev") { image status } } }`);
    expect(w.data.app.workloads[0]).toEqual({ image: 'registry.local/shop:1.0', status: 'AVAILABLE' });
  });

  it('one active release per app and env: a second one is CONFLICT', async () => {
    const r = await createRelease(t, { app: 'shop', env: 'dev', image: 'registry.local/shop:1.1' }, dev);
    const second = await t.gql(`mutation { createRelease(input: { app: "shop", env: "dev", image: "registry.local/shop:1.2" }) { id } }`, {}, dev);
    expect(errorCode(second)).toBe('CONFLICT');
    expect(second.errors![0]!.message).toMatch(/already has an active release/);
    const frames = await follow(t.ws(dev), r.id);
    expect(frames.at(-1)!.release.status).toBe('SUCCEEDED');
  });

  it('bad input answers with stable codes', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ app: 'nope', env: 'dev', image: 'x:1' }, 'NOT_FOUND', 'app'],
      [{ app: 'shop', env: 'nowhere', image: 'x:1' }, 'BAD_USER_INPUT', 'env'],
      [{ app: 'shop', env: 'dev', image: 'bad image' }, 'BAD_USER_INPUT', 'image'],
      [{ app: 'shop', env: 'dev' }, 'BAD_USER_INPUT', 'image'],
      [{ app: 'shop', env: 'dev', image: 'x:1', buildId: 'QnVpbGQ6MQ' }, 'BAD_USER_INPUT', 'buildId'],
    ];
    for (const [input, code, field] of cases) {
      const r = await t.gql(`mutation($i: CreateReleaseInput!) { createRelease(input: $i) { id } }`, { i: input }, dev);
      expect([errorCode(r), r.errors?.[0]?.extensions?.field]).toEqual([code, field]);
    }
  });
});
