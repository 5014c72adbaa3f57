/**
 * Pod counts during verification are committed at most once per
 * PHANTOM_RELEASE_PROGRESS_INTERVAL_MS per release: the first counts of a wave at once (they
 * carry the VERIFYING status), later changes ride on the next commit (the wave's end).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPhantom, type TestPhantom } from '../support/harness.js';
import { createRelease, expectDense, follow, type ProgressFrame } from './support.js';

async function rollTwice(t: TestPhantom, app: string): Promise<ProgressFrame[]> {
  const created = await t.gql(
    `mutation($n: String!) { createApp(input: { name: $n, kind: NODE, container: { replicas: 4 } }) { id } }`,
    { n: app },
  );
  expect(created.errors).toBeUndefined();
  const first = await createRelease(t, { app, env: 'dev', image: `registry.local/${app}:1` });
  const done1 = await follow(t.ws(), first.id);
  expect(done1.at(-1)!.release.status).toBe('SUCCEEDED');
  // A rolling update of 4 replicas replaces them a few at a time: the counts change many times.
  const second = await createRelease(t, { app, env: 'dev', image: `registry.local/${app}:2` });
  const frames = await follow(t.ws(), second.id);
  expect(expectDense(frames)).toBe(true);
  const last = frames.at(-1)!;
  expect(last.release.status).toBe('SUCCEEDED');
  // Whatever was committed on the way, the end carries the final counts.
  expect(last.release.clusters).toEqual([
    { cluster: 'sim-1', desired: 4, updated: 4, ready: 4, available: 4 },
  ]);
  return frames;
}

describe('release progress interval', () => {
  let slow: TestPhantom;
  let eager: TestPhantom;
  beforeAll(async () => {
    [slow, eager] = await Promise.all(
      ['60000', '0'].map((ms) =>
        startTestPhantom('embedded', {
          env: { PHANTOM_EMBEDDED_CLUSTERS: 'on', PHANTOM_RELEASE_PROGRESS_INTERVAL_MS: ms },
        }),
      ),
    );
  });
  afterAll(async () => {
    await Promise.all([slow?.stop(), eager?.stop()]);
  });

  it('with a long interval a wave commits its first counts (as VERIFYING) and its end, nothing between', async () => {
    const frames = await rollTwice(slow, 'quiet');
    const pods = frames.filter((f) => f.kind === 'PODS');
    expect(pods).toHaveLength(1);
    expect(pods[0].release.status).toBe('VERIFYING');
    expect(pods[0].message).toMatch(
      /^Verifying registry\.local\/quiet:2 on sim-1; sim-1: \d\/4 updated/,
    );
    // Prechecks ride on their result, the wave's end on the release's end: CREATED, prechecks
    // passed, the wave's intent, its first counts, the end.
    expect(frames.map((f) => f.kind)).toEqual(['CREATED', 'STATUS', 'STEP', 'PODS', 'STATUS']);
    expect(frames[1].message).toBe('Running prechecks; Prechecks passed; deploying');
    expect(frames.at(-1)!.message).toMatch(
      /^deploy on sim-1 done: registry\.local\/quiet:2 is available; Released/,
    );
  });

  it('with no interval every change of the counts is an entry', async () => {
    const frames = await rollTwice(eager, 'chatty');
    const pods = frames.filter((f) => f.kind === 'PODS');
    expect(pods.length).toBeGreaterThan(1);
    // Each entry differs from the one before it (counts may come back to an earlier value).
    const counts = pods.map((f) => JSON.stringify(f.release.clusters));
    expect(counts.filter((c, i) => i > 0 && c === counts[i - 1])).toEqual([]);
  });
});
