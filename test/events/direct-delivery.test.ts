/**
 * Direct delivery of `platformEvents` (DIRECT_DELIVERY, src/pubsub/bus.ts), at the domain
 * iterator: while its consumer waits, the next visible event goes to the sink at once; an
 * event that needs a lookup goes to the consumer, and every later event waits behind it, even
 * when it arrives while the lookup runs (a slow cache makes that window wide, on purpose).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPhantom, type TestPhantom } from '../support/harness.js';
import { buildContext } from '../../src/server/context.js';
import { subscribePlatformEvents } from '../../src/domain/events/platform-event.service.js';
import { maxSeq } from '../../src/domain/events/platform-event.repository.js';
import type { PlatformEventFeed } from '../../src/domain/events/platform-event-feed.js';
import type { PlatformEventRecord } from '../../src/domain/events/platform-event.record.js';
import { NOTIFICATION_ROUTE_SETTING } from '../../src/domain/events/event-recorder.js';
import { DIRECT_DELIVERY } from '../../src/pubsub/index.js';
import type { Cache } from '../../src/cache/cache.js';
import { readTokenViewer } from '../support/viewers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('platformEvents direct delivery keeps the order (embedded)', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('embedded');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('hands events to the sink while the consumer waits, and holds them behind a lookup', async () => {
    const listeners: ((e: PlatformEventRecord, seq: bigint) => void)[] = [];
    const feed = {
      listen(fn: (e: PlatformEventRecord, seq: bigint) => void) {
        listeners.push(fn);
        return () => listeners.splice(listeners.indexOf(fn), 1);
      },
    } as unknown as PlatformEventFeed;
    const base = buildContext(t.phantom.platform, null).domain;
    const real = base.deps.cache;
    // Every cached lookup (the viewer's roles, for a route event) takes 300 ms.
    const slow = new Proxy(real, {
      get(target, prop, recv) {
        if (prop === 'getOrLoad')
          return async (...a: Parameters<Cache['getOrLoad']>) => {
            await sleep(300);
            return target.getOrLoad(...a);
          };
        const v = Reflect.get(target, prop, recv) as unknown;
        return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
      },
    });
    const viewer = readTokenViewer(999_999, 'reader', 'test');
    const ctx = { ...base, viewer, deps: { ...base.deps, cache: slow } };
    const newest = await maxSeq(base.em);
    const it = await subscribePlatformEvents(ctx, feed, {}, null);
    const got: string[] = [];
    it[DIRECT_DELIVERY]((e) => {
      got.push(`direct ${e.id}`);
      return true;
    });
    // The consumer, as graphql-ws's loop: one next() at a time.
    const consumer = (async () => {
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        got.push(`next ${r.value.id}`);
      }
    })();
    const ev = (
      n: bigint,
      over: Partial<PlatformEventRecord> = {},
    ): [PlatformEventRecord, bigint] => [
      {
        id: String(newest + n),
        type: 'APP_CREATED',
        at: new Date(),
        actor: 'admin',
        app: 'some-app',
        env: null,
        payload: {},
        ...over,
      },
      newest + n,
    ];
    const emit = ([e, seq]: [PlatformEventRecord, bigint]) => {
      for (const l of [...listeners]) l(e, seq);
    };
    await sleep(20);
    emit(ev(1n));
    expect(got).toEqual([`direct ${newest + 1n}`]);
    // A route event of an app, for a non-admin: a lookup of the viewer's roles (slow here).
    emit(
      ev(2n, {
        type: 'SETTINGS_CHANGED',
        payload: { setting: NOTIFICATION_ROUTE_SETTING, appId: 424_242 },
      }),
    );
    await sleep(50);
    // Arrives while the lookup runs: it must wait behind the route event, not jump ahead.
    emit(ev(3n));
    emit(ev(4n));
    await sleep(600);
    // The route event is not this viewer's to see (no role on that app): skipped. The later
    // events came after it, in order, through the consumer.
    expect(got).toEqual([`direct ${newest + 1n}`, `next ${newest + 3n}`, `next ${newest + 4n}`]);
    // The consumer waits again: the next event goes to the sink.
    emit(ev(5n));
    expect(got.at(-1)).toBe(`direct ${newest + 5n}`);
    // A gap (6 never came): the consumer reads it, the sink is not used.
    emit(ev(7n));
    expect(got.at(-1)).toBe(`direct ${newest + 5n}`);
    await it.return!();
    await consumer;
    // Ended: nothing more reaches the sink.
    const n = got.length;
    emit(ev(8n));
    expect(got.length).toBe(n);
  });
});
