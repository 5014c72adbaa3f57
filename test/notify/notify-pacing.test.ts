/**
 * Chat notifications at the vendors' real limits (issue 13), against local receivers that
 * play each vendor's throttling with shortened windows: per-route pacing shared by every
 * dispatcher (replicas), digests when a burst exceeds the rate, Retry-After and throttle
 * codes honoured with the route's queue waiting, permanent failures ended at once, and a
 * route with repeated permanent failures shown unhealthy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  availableModes,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { startReceiver, type Receiver } from './receivers.js';
import { PlatformEventType, recordEvent } from '../../src/domain/events/event-recorder.js';
import { NotificationDispatcher } from '../../src/domain/notify/notification-dispatcher.js';
import { decideSlot } from '../../src/domain/notify/route-pacing.js';
import { parseRateLimits } from '../../src/domain/notify/rate-limits.js';
import {
  retryAfterMs,
  sendChannelRequest,
  type SendError,
} from '../../src/domain/notify/notification-sender.js';
import { NotificationChannel } from '../../src/domain/notify/notification-channel.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderDigest } from '../../src/domain/notify/notification-message.js';
import { loadConfig } from '../../src/config.js';
import { until } from '../support/until.js';

const DT_SECRET = 'SECdingtalk-pacing-0001';
/** The test's DingTalk window: 20 a window, as DingTalk's 20 a minute, shortened. */
const DT_WINDOW_MS = 3000;
/** How long a throttled route waits when the vendor does not say (DingTalk's 10 minutes, shortened). */
const THROTTLE_WAIT_MS = 2500;
/** The retry window (30 minutes by default, longer than any vendor's throttle), shortened. */
const RETRY_WINDOW_MS = 2500;
const DELIVERY_FIELDS =
  'id status attempts lastError digestId eventId attemptLog { at outcome httpStatus vendorCode message digestId }';

/** Release ids in the accepted requests' bodies, in arrival order (a digest lists its events in order). */
const releaseIds = (r: Receiver) =>
  r.accepted().flatMap((q) => [...q.rawBody.matchAll(/releases\/(\d+)/g)].map((m) => Number(m[1])));

describe('pacing units', () => {
  it('allows `limit` requests per window, then says when the oldest leaves it', () => {
    const limits = [{ limit: 3, periodMs: 1000 }];
    let recent: number[] = [];
    for (const now of [0, 10, 20]) {
      const d = decideSlot(recent, limits, now);
      expect(d.ok).toBe(true);
      if (d.ok) recent = d.recent;
    }
    // The oldest leaves at 1000; a margin of 2 % of the window covers clocks that differ a little.
    expect(decideSlot(recent, limits, 30)).toEqual({ ok: false, waitUntil: 1020, reason: 'paced' });
    expect(decideSlot(recent, limits, 1020)).toMatchObject({ ok: true });
    // Several windows (Feishu: 5 a second and 100 a minute): the tightest decides.
    const feishu = [
      { limit: 5, periodMs: 1000 },
      { limit: 6, periodMs: 60_000 },
    ];
    expect(decideSlot([0, 1, 2, 3, 4, 2000], feishu, 2500)).toEqual({
      ok: false,
      waitUntil: 61_000,
      reason: 'paced',
    });
    expect(decideSlot([], [], 5)).toMatchObject({ ok: true, remaining: Number.POSITIVE_INFINITY });
  });

  it('parses PHANTOM_NOTIFY_RATE_LIMITS and refuses nonsense', () => {
    expect(parseRateLimits('DINGTALK=20/1m, FEISHU=5/1s+100/60s,WEBHOOK=off')).toEqual({
      DINGTALK: [{ limit: 20, periodMs: 60_000 }],
      FEISHU: [
        { limit: 5, periodMs: 1000 },
        { limit: 100, periodMs: 60_000 },
      ],
      WEBHOOK: [],
    });
    expect(() => parseRateLimits('TEAMS=1/1s')).toThrow(/channels/);
    expect(() => parseRateLimits('SLACK=fast')).toThrow(/limit\/period/);
    // Through the config: a bad value stops start-up with its own line; defaults otherwise.
    expect(() => loadConfig({ PHANTOM_NOTIFY_RATE_LIMITS: 'SLACK=fast' })).toThrow(
      /PHANTOM_NOTIFY_RATE_LIMITS/,
    );
    expect(loadConfig({}).notify).toEqual({
      rateLimits: {},
      throttleWaitMs: undefined,
      retryWindowMs: 1_800_000,
      digestMax: 20,
      unhealthyAfter: 3,
    });
  });

  it("reads Retry-After as seconds or a date, and Feishu's x-ogw-ratelimit-reset", () => {
    expect(retryAfterMs({ 'retry-after': '30' })).toBe(30_000);
    expect(retryAfterMs({ 'retry-after': new Date(10_000).toUTCString() }, 4000)).toBe(6000);
    expect(retryAfterMs({ 'x-ogw-ratelimit-reset': '52' })).toBe(52_000);
    expect(retryAfterMs({})).toBeUndefined();
  });

  it('tells throttles, permanent failures and passing ones apart, per vendor', async () => {
    const send = async (channel: NotificationChannel, url: string, body = '{"text":"x"}') =>
      (await sendChannelRequest(
        channel,
        { url, headers: { 'content-type': 'application/json' }, body },
        2000,
        { allowPrivate: true },
      ).catch((e: SendError) => e)) as SendError;
    // Over the limit at once (limit 0): each vendor's own throttle answer.
    for (const kind of ['WECOM', 'FEISHU', 'DINGTALK'] as const) {
      const r = await startReceiver(kind, { rateLimit: { limit: 0, windowMs: 60_000 } });
      try {
        const err = await send(NotificationChannel[kind], r.url);
        expect(err, kind).toMatchObject({
          throttled: true,
          permanent: false,
          vendorCode: { WECOM: '45009', FEISHU: '11232', DINGTALK: '130101' }[kind],
        });
      } finally {
        await r.close();
      }
    }
    // Slack's answers for a webhook that is gone or misused, and a passing 500.
    const answers: Record<string, [number, string]> = {
      '/gone': [404, 'no_service'],
      '/archived': [410, 'channel_is_archived'],
      '/busy': [500, 'upstream'],
      '/slow': [429, 'rate_limited'],
    };
    const server = createServer((req, res) => {
      const [status, text] = answers[req.url ?? ''] ?? [200, 'ok'];
      res
        .writeHead(status, {
          'content-type': 'text/plain',
          ...(status === 429 ? { 'retry-after': '30' } : {}),
        })
        .end(text);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect(await send(NotificationChannel.SLACK, `${base}/gone`)).toMatchObject({
        permanent: true,
        httpStatus: 404,
        vendorCode: 'no_service',
        message: expect.stringContaining("update the route's webhook URL"),
      });
      expect(await send(NotificationChannel.SLACK, `${base}/archived`)).toMatchObject({
        permanent: true,
        httpStatus: 410,
      });
      expect(await send(NotificationChannel.SLACK, `${base}/busy`)).toMatchObject({
        permanent: false,
        throttled: false,
        httpStatus: 500,
      });
      expect(await send(NotificationChannel.SLACK, `${base}/slow`)).toMatchObject({
        throttled: true,
        retryAfterMs: 30_000,
      });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    // A Feishu signature refusal: permanent, with the hint.
    const fs = await startReceiver('FEISHU', { secret: 'feishu-right-0001' });
    try {
      expect(
        await send(
          NotificationChannel.FEISHU,
          fs.url,
          '{"timestamp":"1","sign":"bad","msg_type":"text"}',
        ),
      ).toMatchObject({
        permanent: true,
        vendorCode: '19021',
        message: expect.stringContaining('signing secret'),
      });
    } finally {
      await fs.close();
    }
  });

  it('renders a digest: count, apps, kinds, and every event in order with its link', () => {
    const ev = (id: number, type: string, app: string) => ({
      id: String(id),
      type,
      at: '2026-12-01T00:00:00Z',
      actor: 'admin',
      app,
      env: 'prod',
      payload: { releaseId: id },
    });
    const m = renderDigest(
      [
        ev(1, 'RELEASE_SUCCEEDED', 'web'),
        ev(2, 'RELEASE_FAILED', 'api'),
        ev(3, 'RELEASE_SUCCEEDED', 'web'),
      ],
      'https://p',
    );
    expect(m.title).toBe('3 events in web, api');
    expect(m.text).toContain('2 × Release succeeded, 1 × Release failed');
    expect(m.markdown.indexOf('/releases/1')).toBeLessThan(m.markdown.indexOf('/releases/2'));
    expect(m.markdown).toContain('[Release failed: api → prod (release #2)](https://p/releases/2)');
  });
});

describe.each(availableModes)("notifications at the vendors' limits (%s)", (mode) => {
  let t: TestPhantom;
  const receivers: Receiver[] = [];

  async function emitMany(app: string, type: PlatformEventType, ids: number[]): Promise<void> {
    const { orm, deps } = t.phantom.platform;
    // One transaction: the events arrive together, as a release train's do.
    await orm.em.fork().transactional((em) => {
      for (const releaseId of ids)
        recordEvent(em, { type, actor: 'admin', app, env: 'prod', payload: { releaseId } });
    });
    deps.onEventsCommitted();
  }

  async function createRoute(
    app: string,
    channel: string,
    url: string,
    secret: string | null,
    eventTypes: string[],
  ): Promise<string> {
    const r = await t.gql(
      `mutation($i: CreateNotificationRouteInput!) { createNotificationRoute(input: $i) { id } }`,
      {
        i: { name: `${app} ${channel}`, app, channel, webhookUrl: url, secret, eventTypes },
      },
      ADMIN_TOKEN,
    );
    expect(r.errors).toBeUndefined();
    return r.data.createNotificationRoute.id;
  }

  async function deliveries(route: string): Promise<any[]> {
    const r = await t.gql(
      `query($f: NotificationDeliveryFilter) { notificationDeliveries(first: 100, filter: $f) { edges { node { ${DELIVERY_FIELDS} } } } }`,
      { f: { route } },
      ADMIN_TOKEN,
    );
    expect(r.errors).toBeUndefined();
    return r.data.notificationDeliveries.edges.map((e: any) => e.node).reverse(); // oldest first
  }

  async function allSent(route: string, n: number): Promise<any[]> {
    return until(
      `${n} SENT on ${route}`,
      async () => {
        const ds = await deliveries(route);
        expect(ds.filter((d) => d.status === 'DEAD')).toEqual([]);
        return ds.length === n && ds.every((d) => d.status === 'SENT') && ds;
      },
      { timeoutMs: 60_000 },
    );
  }

  beforeAll(async () => {
    t = await startTestPhantom(mode, {
      env: {
        PHANTOM_WEBHOOK_ALLOW_PRIVATE: 'on',
        // DingTalk's 20 a minute with a 3 s minute; Slack paced faster than the receiver
        // allows, so its 429 + Retry-After is what paces it.
        PHANTOM_NOTIFY_RATE_LIMITS: `DINGTALK=20/${DT_WINDOW_MS}ms,SLACK=50/1s`,
        PHANTOM_NOTIFY_THROTTLE_WAIT_MS: String(THROTTLE_WAIT_MS),
        PHANTOM_NOTIFY_RETRY_WINDOW_MS: String(RETRY_WINDOW_MS),
      },
      // Fast retries: six failures take well under the retry window.
      notifier: { backoffBaseMs: 30, backoffMaxMs: 200, pollMs: 25, blockMs: 100, timeoutMs: 2000 },
    });
    for (const app of ['burst', 'slack', 'throttle', 'broken', 'flaky']) {
      expect(
        (
          await t.gql(
            `mutation { createApp(input: { name: "${app}", kind: NODE }) { id } }`,
            {},
            ADMIN_TOKEN,
          )
        ).errors,
      ).toBeUndefined();
    }
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    for (const r of receivers) await r.close();
  });

  it('30 events in a burst reach a DingTalk robot at most 20 a window, as digests, in order, none DEAD, with two more dispatchers sharing the pace', async () => {
    const dt = await startReceiver('DINGTALK', {
      secret: DT_SECRET,
      rateLimit: { limit: 20, windowMs: DT_WINDOW_MS, penaltyMs: 10_000 },
    });
    receivers.push(dt);
    const route = await createRoute('burst', 'DINGTALK', dt.url, DT_SECRET, ['RELEASE_SUCCEEDED']);
    // Two more replicas' dispatchers on the same database: the pace is the route's, not a process's.
    const extra = [1, 2].map(
      () =>
        new NotificationDispatcher({
          em: () => t.phantom.platform.orm.em.fork(),
          publicUrl: () => 'https://phantom.example.test',
          webhookPolicy: { allowPrivate: true },
          pollMs: 25,
          timeoutMs: 2000,
          rateLimits: { DINGTALK: [{ limit: 20, periodMs: DT_WINDOW_MS }] },
          throttleWaitMs: THROTTLE_WAIT_MS,
        }),
    );
    for (const d of extra) d.start();
    try {
      const ids = Array.from({ length: 30 }, (_, i) => i + 1);
      await emitMany('burst', PlatformEventType.RELEASE_SUCCEEDED, ids);
      const ds = await allSent(route, 30);
      // The robot never refused (no 130101), every signature held, and no window saw more than 20.
      expect(dt.requests.filter((q) => q.throttled)).toEqual([]);
      expect(dt.requests.every((q) => q.signatureValid)).toBe(true);
      const at = dt.requests.map((q) => q.at);
      for (let i = 20; i < at.length; i++)
        expect(at[i] - at[i - 20]).toBeGreaterThanOrEqual(DT_WINDOW_MS);
      // Fewer requests than events: what waited went out merged, each event once, in order.
      expect(dt.requests.length).toBeLessThan(30);
      expect(releaseIds(dt)).toEqual(ids);
      const digested = ds.filter((d) => d.digestId != null);
      expect(digested.length).toBeGreaterThan(1);
      // Each event keeps its own record: one SENT attempt, naming the digest it went out in.
      for (const d of digested)
        expect(d.attemptLog).toEqual([
          expect.objectContaining({ outcome: 'SENT', httpStatus: 200, digestId: d.digestId }),
        ]);
      // A digest's id is its first delivery's: that one went out in it too.
      for (const id of new Set(digested.map((d) => d.digestId)))
        expect(ds.find((d) => d.id === id)?.digestId).toBe(id);
      expect(dt.accepted().some((q) => /\d+ events in burst/.test(q.body.markdown.title))).toBe(
        true,
      );
    } finally {
      for (const d of extra) await d.stop();
    }
  }, 120_000);

  it('a Slack 429 waits as long as its Retry-After says, and counts as no failure', async () => {
    const slack = await startReceiver('SLACK', {
      rateLimit: { limit: 1, windowMs: 1000, retryAfterSec: 2 },
    });
    receivers.push(slack);
    const route = await createRoute('slack', 'SLACK', slack.url, null, ['RELEASE_STARTED']);
    await emitMany('slack', PlatformEventType.RELEASE_STARTED, [101, 102]);
    const ds = await allSent(route, 2);
    const refused = slack.requests.findIndex((q) => q.status === 429);
    expect(refused).toBeGreaterThan(-1);
    // The next request came no sooner than Slack asked (a lower bound: load only makes it later).
    expect(slack.requests[refused + 1].at - slack.requests[refused].at).toBeGreaterThanOrEqual(
      2000,
    );
    const waited = ds.find((d) => d.attemptLog.some((a: any) => a.outcome === 'THROTTLED'))!;
    expect(waited.attemptLog).toEqual([
      expect.objectContaining({
        outcome: 'THROTTLED',
        httpStatus: 429,
        vendorCode: 'rate_limited',
      }),
      // The answer's status is kept for a success too (it was null).
      expect.objectContaining({ outcome: 'SENT', httpStatus: 200 }),
    ]);
    expect(
      Date.parse(waited.attemptLog[1].at) - Date.parse(waited.attemptLog[0].at),
    ).toBeGreaterThanOrEqual(2000);
    expect(releaseIds(slack)).toEqual([101, 102]);
  }, 60_000);

  it('a DingTalk 130101 stops the route for the penalty: nothing more hits the throttled robot, then the queue goes on in order', async () => {
    // A robot stricter than its documentation: 3 a window, then refusals for the penalty.
    const dt = await startReceiver('DINGTALK', {
      secret: DT_SECRET,
      rateLimit: { limit: 3, windowMs: 1500, penaltyMs: 2000 },
    });
    receivers.push(dt);
    const route = await createRoute('throttle', 'DINGTALK', dt.url, DT_SECRET, ['RELEASE_FAILED']);
    const ids = [201, 202, 203, 204, 205];
    await emitMany('throttle', PlatformEventType.RELEASE_FAILED, ids);
    const ds = await allSent(route, 5);
    // One refusal, then the route waited (PHANTOM_NOTIFY_THROTTLE_WAIT_MS) instead of knocking again.
    expect(dt.requests.filter((q) => q.throttled)).toHaveLength(1);
    expect(releaseIds(dt)).toEqual(ids);
    const throttled = ds.flatMap((d) => d.attemptLog).filter((a: any) => a.outcome === 'THROTTLED');
    expect(throttled).toEqual([
      expect.objectContaining({
        httpStatus: 200,
        vendorCode: '130101',
        message: expect.stringContaining('send too fast'),
      }),
    ]);
  }, 60_000);

  it('a failing delivery is retried for the whole retry window, not just six attempts, before it is DEAD', async () => {
    const hook = await startReceiver('WEBHOOK', {
      secret: 'webhook-secret-pacing-0001',
      failFirst: 10_000,
    });
    receivers.push(hook);
    const route = await createRoute('flaky', 'WEBHOOK', hook.url, 'webhook-secret-pacing-0001', [
      'RELEASE_SUCCEEDED',
    ]);
    await emitMany('flaky', PlatformEventType.RELEASE_SUCCEEDED, [401]);
    const [dead] = await until('DEAD', async () => {
      const list = await deliveries(route);
      return list.length === 1 && list[0].status === 'DEAD' && list;
    });
    expect(dead.attempts).toBeGreaterThanOrEqual(6);
    const log = dead.attemptLog;
    expect(log.at(-1)).toMatchObject({ outcome: 'DEAD', httpStatus: 500 });
    expect(log.slice(0, -1).every((a: any) => a.outcome === 'FAILED')).toBe(true);
    // A lower bound: it kept trying at least as long as the window.
    expect(Date.parse(log.at(-1).at) - Date.parse(log[0].at)).toBeGreaterThanOrEqual(
      RETRY_WINDOW_MS,
    );
  }, 60_000);

  it('permanent failures end DEAD at once, and a route failing so repeatedly is shown unhealthy', async () => {
    const dt = await startReceiver('DINGTALK', { secret: DT_SECRET });
    receivers.push(dt);
    const route = await createRoute('broken', 'DINGTALK', dt.url, 'SECnot-the-right-one', [
      'RELEASE_CANCELED',
    ]);
    const health = async () => {
      const r = await t.gql(
        `{ notificationRoutes(app: "broken") { edges { node { id health { healthy unhealthySince permanentFailures lastPermanentError throttledUntil } } } } }`,
        {},
        ADMIN_TOKEN,
      );
      expect(r.errors).toBeUndefined();
      return r.data.notificationRoutes.edges
        .map((e: any) => e.node)
        .find((n: any) => n.id === route).health;
    };
    expect(await health()).toMatchObject({
      healthy: true,
      permanentFailures: 0,
      lastPermanentError: null,
    });
    await emitMany('broken', PlatformEventType.RELEASE_CANCELED, [301, 302, 303]);
    const ds = await until('3 DEAD', async () => {
      const list = await deliveries(route);
      return list.length === 3 && list.every((d) => d.status === 'DEAD') && list;
    });
    for (const d of ds) {
      expect(d.attempts).toBe(1);
      expect(d.lastError).toMatch(/310000: sign not match \(fix the route's signing secret/);
    }
    expect(dt.requests).toHaveLength(3);
    const h = await until('the route unhealthy', async () => {
      const got = await health();
      return !got.healthy && got;
    });
    expect(h).toMatchObject({
      healthy: false,
      permanentFailures: 3,
      lastPermanentError: expect.stringContaining('310000'),
    });
    expect(h.unhealthySince).not.toBeNull();
    // A platform event says so, once, with the vendor's message and hint and no credential.
    const events = await until('the unhealthy route event', async () => {
      const r = await t.gql(
        `{ platformEvents(first: 100, filter: { app: "broken", types: [SETTINGS_CHANGED] }) { edges { node { actor payload } } } }`,
        {},
        ADMIN_TOKEN,
      );
      expect(r.errors).toBeUndefined();
      const found = r.data.platformEvents.edges
        .map((e: any) => e.node)
        .filter((n: any) => n.payload.action === 'unhealthy');
      return found.length > 0 && found;
    });
    expect(events).toEqual([
      {
        actor: null,
        payload: expect.objectContaining({
          setting: 'notificationRoute',
          action: 'unhealthy',
          name: 'broken DINGTALK',
          channel: 'DINGTALK',
          error: expect.stringContaining('310000'),
        }),
      },
    ]);
    expect(JSON.stringify(events)).not.toMatch(/SECnot-the-right-one|dt-access-token/);
  }, 60_000);
});
