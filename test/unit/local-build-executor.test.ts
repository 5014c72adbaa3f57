/** The local executor's sweep of workspaces left by workers that died mid-build (real directories, real process ids). */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalBuildExecutor } from '../../src/engine/builds/local-build-executor.js';

describe('local build executor: workspace sweep', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'phantom-sweep-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("removes workspaces of processes that no longer run and of this process id; keeps a live worker's and foreign names", async () => {
    const names = [
      'old-1-p999999999-abc123',
      `old-2-p${process.pid}-def456`,
      'other-3-p1-ghi789',
      'unrelated',
    ];
    for (const n of names) mkdirSync(join(dataDir, 'builds', n, 'src'), { recursive: true });
    const ex = new LocalBuildExecutor({ dataDir });
    expect((await ex.sweep()).sort()).toEqual([
      'old-1-p999999999-abc123',
      `old-2-p${process.pid}-def456`,
    ]);
    expect(readdirSync(join(dataDir, 'builds')).sort()).toEqual(['other-3-p1-ghi789', 'unrelated']);
    // Once per executor: a second call removes nothing new.
    mkdirSync(join(dataDir, 'builds', 'old-4-p999999998-jkl012'));
    expect(await ex.sweep()).toEqual(['old-1-p999999999-abc123', `old-2-p${process.pid}-def456`]);
  });

  it('a data dir without builds is fine', async () => {
    expect(
      await new LocalBuildExecutor({ dataDir: join(dataDir, 'nothing-here') }).sweep(),
    ).toEqual([]);
  });
});
