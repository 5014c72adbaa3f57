/**
 * Found by an adversarial probe: the dispatcher's pass waited for every send it started, so a
 * receiver that hangs (up to the request timeout) held back the next deliveries of every other
 * route. A route now holds back only its own queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestPhantom, type TestPhantom } from '../support/harness.js';
import { startReceiver, type Receiver } from './receivers.js';
import { PlatformEventType, recordEvent } from '../../src/domain/events/event-recorder.js';
import { until } from '../support/until.js';

const SECRET = 'webhook-secret-value-0002';
const ns = (r: Receiver) => r.accepted().map((q) => q.body?.event?.payload?.n as number);

describe('a hanging receiver holds back its own route only (embedded)', () => {
  let t: TestPhantom;
  let hanging: Receiver;
  let fast: Receiver;

  beforeAll(async () => {
    // Answers after 30 s: past the 15 s request timeout below, so each attempt hangs 15 s.
    hanging = await startReceiver('WEBHOOK', { secret: SECRET, delayMs: 30_000 });
    fast = await startReceiver('WEBHOOK', { secret: SECRET });
    t = await startTestPhantom('embedded', {
      env: {
        PHANTOM_WEBHOOK_ALLOWED_HOSTS: [hanging, fast].map((r) => new URL(r.url).host).join(','),
      },
      notifier: { pollMs: 25, blockMs: 100, timeoutMs: 15_000, backoffBaseMs: 30 },
    });
    expect(
      (await t.gql(`mutation { createApp(input: { name: "hol", kind: GO }) { id } }`)).errors,
    ).toBeUndefined();
    for (const [name, r] of [
      ['hanging', hanging],
      ['fast', fast],
    ] as const) {
      const made = await t.gql(
        `mutation($i: CreateNotificationRouteInput!) { createNotificationRoute(input: $i) { id } }`,
        {
          i: {
            name,
            app: 'hol',
            channel: 'WEBHOOK',
            webhookUrl: r.url,
            secret: SECRET,
            eventTypes: ['RELEASE_SUCCEEDED'],
          },
        },
        ADMIN_TOKEN,
      );
      expect(made.errors).toBeUndefined();
    }
  });
  afterAll(async () => {
    await t?.stop();
    for (const r of [hanging, fast]) await r?.close();
  });

  const emit = async (n: number) => {
    const { orm, deps } = t.phantom.platform;
    await orm.em.fork().transactional((em) => {
      recordEvent(em, {
        type: PlatformEventType.RELEASE_SUCCEEDED,
        actor: 'admin',
        app: 'hol',
        env: 'prod',
        payload: { n },
      });
    });
    deps.onEventsCommitted();
  };

  it('delivers the next events on the other route while a send hangs', async () => {
    await emit(1);
    await until('the fast route got event 1', () => ns(fast).includes(1), { timeoutMs: 10_000 });
    await until('the hanging receiver got event 1', () => hanging.requests.length === 1, {
      timeoutMs: 10_000,
    });
    for (const n of [2, 3]) {
      await emit(n);
      await until(`the fast route got event ${n}`, () => ns(fast).includes(n), {
        timeoutMs: 10_000,
      });
    }
    // All of that while the hanging route's first send was still in flight: no answer yet,
    // so no retry and no second request (its next attempt comes only after the timeout).
    expect(hanging.requests).toHaveLength(1);
    expect(ns(fast)).toEqual([1, 2, 3]);
  });
});
