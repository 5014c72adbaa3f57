/**
 * Issue 9, retention: the worker's periodic job deletes platform events and audit entries
 * older than PHANTOM_RETENTION_DAYS in batches, keeps what is newer, unpublished or the
 * newest numbered event, runs on the engine's claim primitive, and a resume point older than
 * what is kept answers EVENTS_EXPIRED (subscription and history).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableModes, startTestPhantom, type TestPhantom } from '../support/harness.js';
import { collectEvents, eventually, newestEventId } from '../events/support.js';
import { EngineJob } from '../../src/engine/jobs/engine-job.entity.js';

describe.each(availableModes)('retention (%s)', (mode) => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom(mode, { env: { PHANTOM_RETENTION_DAYS: '30' } });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  });

  const sql = async <T = any>(q: string, params: unknown[] = []): Promise<T> =>
    t.phantom.platform.orm.em.fork().getConnection('write').execute(q, params) as Promise<T>;

  async function createApps(prefix: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const r = await t.gql(
        `mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { name } }`,
        { n: `${prefix}-${i}` },
      );
      expect(r.errors).toBeUndefined();
    }
  }

  it('deletes old events and audit entries in batches, keeps the rest, and numbering goes on', async () => {
    await createApps('old', 8);
    await eventually(async () => Number(await newestEventId(t)) >= 8);
    const oldTop = Number(await newestEventId(t));
    // Everything so far is 40 days old.
    await sql(`update platform_events set at = ? where seq is not null`, [
      new Date(Date.now() - 40 * 86_400_000),
    ]);
    await sql(`update audit_log set at = ?`, [new Date(Date.now() - 40 * 86_400_000)]);
    const auditBefore = Number((await sql<any[]>('select count(*) as c from audit_log'))[0].c);
    expect(auditBefore).toBeGreaterThanOrEqual(8);
    await createApps('new', 3);
    await eventually(async () => Number(await newestEventId(t)) >= oldTop + 3);
    const newTop = Number(await newestEventId(t));
    const auditNew = Number(
      (
        await sql<any[]>('select count(*) as c from audit_log where at > ?', [
          new Date(Date.now() - 86_400_000),
        ])
      )[0].c,
    );

    const jobs = t.phantom.platform.services.periodicJobs!;
    expect(jobs).toBeTruthy();
    const before = await t.phantom.platform.orm.em.fork().findOne(EngineJob, { name: 'retention' });
    await jobs.runNow();
    const job = await eventually(async () => {
      const row = await t.phantom.platform.orm.em.fork().findOne(EngineJob, { name: 'retention' });
      return row?.lastRunAt && (!before?.lastRunAt || row.lastRunAt > before.lastRunAt)
        ? row
        : null;
    }, 20_000);
    expect(job.generation).toBeGreaterThan(before?.generation ?? 0);
    expect(job.lastResult).toMatchObject({ platformEvents: oldTop, auditEntries: auditBefore });

    const seqs = (
      await sql<any[]>('select seq from platform_events where seq is not null order by seq')
    ).map((r) => Number(r.seq));
    expect(seqs[0]).toBe(oldTop + 1);
    expect(seqs).toEqual(Array.from({ length: newTop - oldTop }, (_, i) => oldTop + 1 + i));
    const auditAfter = Number((await sql<any[]>('select count(*) as c from audit_log'))[0].c);
    expect(auditAfter).toBe(auditNew);

    // Numbering continues from the newest kept event.
    await createApps('next', 1);
    await eventually(async () => Number(await newestEventId(t)) === newTop + 1);
  }, 120_000);

  it('never deletes the newest numbered event, even when it is old', async () => {
    await sql(`update platform_events set at = ?`, [new Date(Date.now() - 40 * 86_400_000)]);
    const top = Number(await newestEventId(t));
    const before = await t.phantom.platform.orm.em.fork().findOne(EngineJob, { name: 'retention' });
    await t.phantom.platform.services.periodicJobs!.runNow();
    await eventually(async () => {
      const row = await t.phantom.platform.orm.em.fork().findOne(EngineJob, { name: 'retention' });
      return row!.lastRunAt! > before!.lastRunAt!;
    }, 20_000);
    const seqs = (await sql<any[]>('select seq from platform_events where seq is not null')).map(
      (r) => Number(r.seq),
    );
    expect(seqs).toEqual([top]);
    await createApps('after-all', 1);
    await eventually(async () => Number(await newestEventId(t)) === top + 1);
  }, 120_000);

  it('answers EVENTS_EXPIRED for a resume point older than what is kept', async () => {
    const oldest = Number(
      (await sql<any[]>('select min(seq) as m from platform_events where seq is not null'))[0].m,
    );
    expect(oldest).toBeGreaterThan(2);
    // History.
    const cursor = Buffer.from(JSON.stringify({ e: String(oldest - 2) })).toString('base64url');
    const direct = await t.gql(
      `query($a: String) { platformEvents(first: 5, after: $a) { edges { node { id } } } }`,
      { a: cursor },
    );
    const firstPage = await t.gql(`{ platformEvents(first: 1) { edges { node { id } cursor } } }`);
    expect(firstPage.errors).toBeUndefined();
    expect(firstPage.data.platformEvents.edges[0].node.id).toBe(String(oldest));
    // Subscription: from just before the oldest kept event works; from earlier is refused.
    const ok = collectEvents(t.ws(), { after: String(oldest - 1) });
    await eventually(() => ok.events.length >= 1);
    expect(ok.events[0].id).toBe(String(oldest));
    expect(ok.errors).toEqual([]);
    ok.stop();
    const gone = collectEvents(t.ws(), { after: String(oldest - 2) });
    await eventually(() => gone.errors.length > 0);
    const err = (gone.errors[0] as any[])?.[0] ?? gone.errors[0];
    expect(err.extensions?.code ?? err.message).toBe('EVENTS_EXPIRED');
    expect(err.message ?? '').toMatch(/no longer kept/);
    expect(direct.errors?.[0]?.extensions?.code).toBe('EVENTS_EXPIRED');
    expect(direct.errors?.[0]?.extensions?.oldestId).toBe(String(oldest));
  }, 60_000);
});
