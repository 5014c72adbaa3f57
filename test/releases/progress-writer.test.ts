/**
 * The engine's group commit (ProgressWriter) on both databases: changes that arrive together
 * share transactions, a change whose claim is gone fails alone while the rest of its batch
 * commits, and a change that breaks its batch's transaction is retried alone, so it fails
 * alone. Releases are made through the API of an api-only Phantom (no engine runs them) and
 * claimed by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableModes, startTestPhantom, type TestPhantom } from '../support/harness.js';
import { WorkClaims, ClaimLostError, type Claim } from '../../src/engine/work-claims.js';
import { ProgressWriter, type ProgressChange } from '../../src/engine/releases/progress-writer.js';
import { Release } from '../../src/domain/releases/release.entity.js';
import { ReleaseProgressRow } from '../../src/domain/releases/release-progress.entity.js';
import { ProgressKind, ReleaseStatus } from '../../src/domain/releases/release-model.js';
import { stateOf } from '../../src/domain/releases/release.repository.js';
import { PlatformEventType } from '../../src/domain/events/event-recorder.js';
import { PlatformEventRow } from '../../src/domain/events/platform-event.entity.js';
import { createRelease } from './support.js';

describe.each(availableModes)('release progress group commit (%s)', (mode) => {
  let t: TestPhantom;
  const claims = new WorkClaims<Release>({ entity: Release, open: { activeKey: { $ne: null } } });
  const em = () => t.phantom.platform.orm.em.fork();

  beforeAll(async () => {
    t = await startTestPhantom(mode, {
      env: { PHANTOM_ROLES: 'api', PHANTOM_EMBEDDED_CLUSTERS: 'on' },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** `n` releases of new apps, claimed by the test; with their current row. */
  async function claimed(prefix: string, n: number): Promise<{ claim: Claim; row: Release }[]> {
    const out: { claim: Claim; row: Release }[] = [];
    for (let i = 0; i < n; i++) {
      const app = `${prefix}-${i}`;
      const c = await t.gql(
        `mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { id } }`,
        { n: app },
      );
      expect(c.errors).toBeUndefined();
      const r = await createRelease(t, { app, env: 'dev', image: `registry.local/${app}:1` });
      const id = Number(Buffer.from(r.id, 'base64url').toString().split(':')[1]);
      const claim = await claims.tryClaim(em(), 'test-worker', id);
      expect(claim).not.toBeNull();
      const row = await em().findOneOrFail(Release, { id }, { disableIdentityMap: true });
      out.push({ claim: claim!, row });
    }
    return out;
  }

  const change = (
    c: { claim: Claim; row: Release },
    seq: number,
    message: string,
    event = false,
  ): ProgressChange => {
    const state = { ...stateOf(c.row), status: ReleaseStatus.PRECHECKING };
    return {
      claim: c.claim,
      row: { status: state.status, progressSeq: seq },
      progress: { releaseId: c.claim.id, seq, kind: ProgressKind.STATUS, message, state },
      event: event
        ? {
            type: PlatformEventType.RELEASE_STARTED,
            actor: 'admin',
            app: c.row.app,
            env: c.row.env,
            payload: { message },
          }
        : undefined,
    };
  };

  it('writes changes that arrive together in shared transactions, each with its entry and event', async () => {
    const rs = await claimed('grp', 12);
    const writer = new ProgressWriter(em, claims);
    await Promise.all(rs.map((r) => writer.commit(change(r, 2, `grp ${r.claim.id}`, true))));
    expect(writer.stats.changes).toBe(12);
    // The first change goes alone (nothing waits for a batch), the rest together.
    expect(writer.stats.transactions).toBeLessThan(12);
    for (const r of rs) {
      const row = await em().findOneOrFail(
        Release,
        { id: r.claim.id },
        { disableIdentityMap: true },
      );
      expect(row.status).toBe(ReleaseStatus.PRECHECKING);
      expect(row.progressSeq).toBe(2);
      const entries = await em().find(
        ReleaseProgressRow,
        { releaseId: r.claim.id },
        { orderBy: { seq: 'asc' } },
      );
      expect(entries.map((e) => [e.seq, e.message])).toEqual([
        [1, expect.any(String)],
        [2, `grp ${r.claim.id}`],
      ]);
    }
    const events = await em().find(PlatformEventRow, {
      type: PlatformEventType.RELEASE_STARTED,
      app: { $like: 'grp-%' },
    });
    expect(events).toHaveLength(12);
  });

  it('a change whose claim was taken over fails alone; the others of its batch commit', async () => {
    const rs = await claimed('lost', 6);
    // Another worker took release #3 over (its claim expired): the generation moved on.
    const victim = rs[3];
    await em().nativeUpdate(
      Release,
      { id: victim.claim.id },
      { generation: victim.claim.generation + 1, claimedBy: 'other' },
    );
    const writer = new ProgressWriter(em, claims);
    const results = await Promise.allSettled(
      rs.map((r) => writer.commit(change(r, 2, 'lost', true))),
    );
    expect(results.map((x) => x.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect((results[3] as PromiseRejectedResult).reason).toBeInstanceOf(ClaimLostError);
    const victimEntries = await em().count(ReleaseProgressRow, { releaseId: victim.claim.id });
    expect(victimEntries).toBe(1);
    const victimEvents = await em().count(PlatformEventRow, {
      type: PlatformEventType.RELEASE_STARTED,
      app: victim.row.app,
    });
    expect(victimEvents).toBe(0);
    for (const r of rs.filter((x) => x !== victim))
      expect(await em().count(ReleaseProgressRow, { releaseId: r.claim.id })).toBe(2);
  });

  it('a change that breaks its batch (an entry that exists) is retried alone and fails alone', async () => {
    const rs = await claimed('bad', 5);
    const writer = new ProgressWriter(em, claims);
    // Release #2 writes sequence 1 again: the unique key refuses it, and so its transaction.
    const results = await Promise.allSettled(
      rs.map((r, i) => writer.commit(change(r, i === 2 ? 1 : 2, 'bad'))),
    );
    expect(results.map((x) => x.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    for (const [i, r] of rs.entries()) {
      const row = await em().findOneOrFail(
        Release,
        { id: r.claim.id },
        { disableIdentityMap: true },
      );
      // The refused change left its row as it was.
      expect(row.progressSeq).toBe(i === 2 ? 1 : 2);
      expect(await em().count(ReleaseProgressRow, { releaseId: r.claim.id })).toBe(i === 2 ? 1 : 2);
    }
  });
});
