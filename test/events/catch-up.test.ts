/**
 * Issue 9, P3 (a bug): every subscriber ran its own catch-up SELECT when the heartbeat or a
 * gap in the bus messages said it missed something — N statements per event at N
 * subscribers. The feed now reads a gap once per process and hands the events to everyone.
 * A lost bus message is made real: an event row written as numbered and published, whose
 * message never reached the bus; the next event then arrives after a gap.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeServices } from '../support/env.js';
import { startTestPhantom, type TestPhantom } from '../support/harness.js';
import { eventFeedOf } from '../../src/domain/events/event-outbox.js';
import { collectEvents, eventually, type Collected } from './support.js';

describeServices('platform event catch-up: one read per gap per process (MySQL + Redis)', () => {
  let t: TestPhantom;
  let apps = 0;
  beforeAll(async () => {
    t = await startTestPhantom('mysql');
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** Statements on `platform_events` (not the relay's numbering and publishing) while `fn` runs. */
  async function eventReadsDuring(fn: () => Promise<void>): Promise<string[]> {
    const stats = t.phantom.platform.sqlStats;
    const seen: string[] = [];
    const push = stats.recent.push;
    stats.recent.push = (...sql: string[]) => {
      seen.push(...sql);
      return push.apply(stats.recent, sql);
    };
    try {
      await fn();
    } finally {
      stats.recent.push = push;
    }
    return seen.filter(
      (s) =>
        /^select/i.test(s) &&
        s.includes('platform_events') &&
        !/is null|get_lock|release_lock|max\(seq\)/i.test(s),
    );
  }

  async function gapWith(subscribers: number): Promise<string[]> {
    const feed = eventFeedOf(t.phantom.platform.services);
    const subs: Collected[] = Array.from({ length: subscribers }, () => collectEvents(t.ws()));
    await eventually(() => feed.listenerCount === subscribers);
    // Let the subscribers' start reads (newest id) finish outside the window.
    await new Promise((r) => setTimeout(r, 300));
    const em = t.phantom.platform.orm.em.fork();
    const conn = em.getConnection('write');
    let lost = 0;
    const reads = await eventReadsDuring(async () => {
      const top = await conn.execute<{ m: string | null }[]>(
        'select max(seq) as m from platform_events',
      );
      lost = Number(top[0]?.m ?? 0) + 1;
      // Numbered and published, but its bus message was lost.
      await conn.execute(
        "insert into platform_events (seq, type, at, actor, app, env, payload, published_at) values (?, 'APP_UPDATED', now(3), 'admin', 'lost', null, '{}', now(3))",
        [lost],
      );
      const r = await t.gql(
        `mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { name } }`,
        { n: `gap-${apps++}` },
      );
      expect(r.errors).toBeUndefined();
      await eventually(() => subs.every((s) => s.events.length >= 2), 15_000);
    });
    for (const s of subs) {
      expect(s.errors).toEqual([]);
      expect(s.events.map((e) => Number(e.id))).toEqual([lost, lost + 1]);
      s.stop();
    }
    await eventually(() => feed.listenerCount === 0);
    return reads;
  }

  it('does not grow with the number of subscribers; every subscriber gets the missed event, in order', async () => {
    const one = await gapWith(1);
    const many = await gapWith(25);
    // The heartbeat (one statement a second, whoever listens) may tick once more in one run.
    expect(many.length).toBeLessThanOrEqual(one.length + 2);
    expect(many.length).toBeLessThan(10);
  }, 60_000);
});
