/**
 * Regression tests for the notification review findings, each named after its bug:
 * SSRF through route URLs, routes inherited by a new app reusing a deleted app's name,
 * events the stream lost, double sends by two dispatchers, per-route order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  availableModes,
  createUserWithToken,
  errorCode,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { startReceiver, type Receiver } from './receivers.js';
import { PlatformEventType, recordEvent } from '../../src/domain/events/event-recorder.js';
import { NotificationDelivery } from '../../src/domain/notify/notification-delivery.entity.js';
import { NotificationRoute } from '../../src/domain/notify/notification-route.entity.js';
import { NotifierCursor } from '../../src/domain/notify/notifier-cursor.entity.js';
import { PlatformEventRow } from '../../src/domain/events/platform-event.entity.js';
import { maxSeq } from '../../src/domain/events/platform-event.repository.js';
import { NotificationDispatcher } from '../../src/domain/notify/notification-dispatcher.js';
import {
  NotificationChannel,
  NotificationDeliveryStatus,
} from '../../src/domain/notify/notification-channel.js';
import { sendChannelRequest } from '../../src/domain/notify/notification-sender.js';
import { isNonPublicAddress } from '../../src/domain/notify/webhook-address.js';
import { until } from '../support/until.js';

const SECRET = 'webhook-secret-value-0001';
const DELIVERY_FIELDS = 'id routeId app eventId eventType status attempts lastError';

const hostPort = (r: Receiver) => new URL(r.url).host;
/** The `n` payload field of each request a WEBHOOK receiver got (`accepted` only, or all). */
const ns = (r: Receiver, acceptedOnly = true) =>
  (acceptedOnly ? r.accepted() : r.requests).map((q) => q.body?.event?.payload?.n as number);

describe('SSRF guard (units)', () => {
  it('classifies loopback, private, link-local, unspecified and IPv4-mapped addresses as non-public', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '100.64.0.1',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '0:0:0:0:0:ffff:a00:1',
      '[::ffff:169.254.169.254]',
    ]) {
      expect(isNonPublicAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])
      expect(isNonPublicAddress(a), a).toBe(false);
  });

  // Review finding: IPv4-translated (::ffff:0:a.b.c.d), local-use NAT64 (64:ff9b:1::/48) and
  // Teredo (2001::/32) addresses embed or reach IPv4 (loopback included) and were let through.
  it('classifies IPv4-translated, local-use NAT64 and Teredo addresses as non-public', () => {
    for (const a of [
      '::ffff:0:7f00:1',
      '0:0:0:0:ffff:0:a00:1',
      '[::ffff:0:7f00:1]',
      '::ffff:0:808:808',
      '64:ff9b:1::7f00:1',
      '64:ff9b:1:ffff::1',
      '2001::1',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2',
      '2001:0:ffff:ffff::1',
    ]) {
      expect(isNonPublicAddress(a), a).toBe(true);
    }
    // Public neighbours stay reachable: just past Teredo's /32, past local-use NAT64's /48, IPv4-mapped public.
    for (const a of ['2001:1:0:0:1::1', '2001:4860:4860::8888', '64:ff9b:2::1', '::ffff:8.8.8.8'])
      expect(isNonPublicAddress(a), a).toBe(false);
  });

  it('refuses private addresses unless allowed, and never reports the answer body', async () => {
    const r = await startReceiver('WEBHOOK', { secret: SECRET });
    try {
      const port = new URL(r.url).port;
      const req = (host: string) => ({
        url: `http://${host}:${port}/hooks/phantom`,
        headers: {},
        body: '{}',
      });
      for (const host of [
        '127.0.0.1',
        'localhost',
        '[::ffff:127.0.0.1]',
        '[::1]',
        '169.254.169.254',
        '10.0.0.1',
        '0.0.0.0',
      ]) {
        const err = await sendChannelRequest(NotificationChannel.WEBHOOK, req(host), 2000).catch(
          (e: Error) => e,
        );
        expect(err, host).toBeInstanceOf(Error);
        expect((err as Error).message, host).toMatch(/^refused: .*private/);
        expect((err as any).permanent, host).toBe(true);
      }
      expect(r.requests).toHaveLength(0);
      // Allowed by host:port: it is reached (and the unsigned body is refused with 401, reported without the body).
      r.failNext(1);
      const err = await sendChannelRequest(NotificationChannel.WEBHOOK, req('127.0.0.1'), 2000, {
        allowedHosts: [`127.0.0.1:${port}`],
      }).catch((e: Error) => e);
      expect(r.requests).toHaveLength(1);
      expect((err as Error).message).toBe('HTTP 500'); // the receiver's "upstream trouble" body stays out
      const other = await sendChannelRequest(NotificationChannel.WEBHOOK, req('127.0.0.1'), 2000, {
        allowedHosts: ['127.0.0.1:1'],
      }).catch((e: Error) => e);
      expect((other as Error).message).toMatch(/^refused/);
      expect(r.requests).toHaveLength(1);
    } finally {
      await r.close();
    }
  });
});

describe.each(availableModes)('notification review fixes (%s)', (mode) => {
  let t: TestPhantom;
  /** Reachable: its host:port is in PHANTOM_WEBHOOK_ALLOWED_HOSTS. */
  let hook: Receiver;
  /** Not listed: on 127.0.0.1, so the SSRF guard must refuse it. */
  let internal: Receiver;
  let slow: Receiver;
  let gap: Receiver;
  let alice: string;
  let bob: string;

  async function emit(
    type: PlatformEventType,
    app: string,
    payload: Record<string, unknown>,
    env: string | null = 'prod',
  ): Promise<void> {
    const { orm, deps } = t.phantom.platform;
    await orm.em.fork().transactional((em) => {
      recordEvent(em, { type, actor: 'admin', app, env, payload });
    });
    deps.onEventsCommitted();
  }

  async function createRoute(
    app: string,
    url: string,
    token: string = ADMIN_TOKEN,
    eventTypes: string[] = ['RELEASE_SUCCEEDED'],
  ): Promise<string> {
    const r = await t.gql(
      `mutation($i: CreateNotificationRouteInput!) { createNotificationRoute(input: $i) { id } }`,
      {
        i: {
          name: `${app} hook`,
          app,
          channel: 'WEBHOOK',
          webhookUrl: url,
          secret: SECRET,
          eventTypes,
        },
      },
      token,
    );
    expect(r.errors).toBeUndefined();
    return r.data.createNotificationRoute.id;
  }

  async function deliveries(
    filter: Record<string, unknown>,
    token: string = ADMIN_TOKEN,
  ): Promise<any[]> {
    const r = await t.gql(
      `query($f: NotificationDeliveryFilter) { notificationDeliveries(first: 100, filter: $f) { edges { node { ${DELIVERY_FIELDS} } } } }`,
      { f: filter },
      token,
    );
    expect(r.errors).toBeUndefined();
    return r.data.notificationDeliveries.edges.map((e: any) => e.node);
  }

  beforeAll(async () => {
    hook = await startReceiver('WEBHOOK', { secret: SECRET });
    internal = await startReceiver('WEBHOOK', { secret: SECRET });
    slow = await startReceiver('WEBHOOK', { secret: SECRET, delayMs: 250, failFirst: 1 });
    gap = await startReceiver('WEBHOOK', { secret: SECRET });
    t = await startTestPhantom(mode, {
      env: { PHANTOM_WEBHOOK_ALLOWED_HOSTS: [hook, slow, gap].map(hostPort).join(',') },
      // A short claim margin: a claim outlives a send by only 150 ms, so two dispatchers
      // would overlap at once if a claim covered more than the one send it is for.
      // maxEventAgeMs 1 ms: every event is "old" when handled. Only the history that existed
      // when the group was first set up may be skipped for age; everything after is announced.
      notifier: {
        backoffBaseMs: 30,
        maxAttempts: 4,
        pollMs: 25,
        blockMs: 100,
        timeoutMs: 1000,
        claimMarginMs: 150,
        maxEventAgeMs: 1,
      },
    });
    alice = await createUserWithToken(t, 'alice');
    bob = await createUserWithToken(t, 'bob');
  });
  afterAll(async () => {
    await t?.stop();
    for (const r of [hook, internal, slow, gap]) await r?.close();
  });

  it('an existing group announces events however old they are by the time it handles them', async () => {
    expect(
      (await t.gql(`mutation { createApp(input: { name: "late", kind: GO }) { id } }`)).errors,
    ).toBeUndefined();
    const routeId = await createRoute('late', hook.url);
    await emit(PlatformEventType.RELEASE_SUCCEEDED, 'late', { n: 301 });
    await until('the event announced', () => ns(hook).includes(301));
    expect((await deliveries({ route: routeId })).map((d) => d.status)).toEqual(['SENT']);
  });

  it('SSRF: a route to a private address ends DEAD with a clear error, and nothing is sent', async () => {
    expect(
      (await t.gql(`mutation { createApp(input: { name: "ssrf", kind: NODE }) { id } }`)).errors,
    ).toBeUndefined();
    // By name: an IP literal is refused when the route is created (next test); a name is
    // only resolved, and refused, when sending.
    const routeId = await createRoute('ssrf', internal.url.replace('127.0.0.1', 'localhost'));
    await emit(PlatformEventType.RELEASE_SUCCEEDED, 'ssrf', { n: 1 });
    const [d] = await until('a DEAD delivery', async () => {
      const ds = await deliveries({ route: routeId });
      return ds.length === 1 && ds[0].status === 'DEAD' && ds;
    });
    expect(d.attempts).toBe(1); // refused for good: no retries against an internal address
    expect(d.lastError).toMatch(
      /^refused: the webhook host is a loopback, private or link-local address/,
    );
    expect(internal.requests).toHaveLength(0);
  });

  it('refuses a private IP literal already when the route is created or changed', async () => {
    const r = await t.gql(
      `mutation($i: CreateNotificationRouteInput!) { createNotificationRoute(input: $i) { id } }`,
      {
        i: {
          name: 'internal',
          app: 'ssrf',
          channel: 'WEBHOOK',
          webhookUrl: internal.url,
          secret: SECRET,
        },
      },
    );
    expect(r.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'webhookUrl',
    });
    const ok = await createRoute('ssrf', hook.url); // allowed by PHANTOM_WEBHOOK_ALLOWED_HOSTS
    const u = await t.gql(
      `mutation($id: ID!, $url: String!) { updateNotificationRoute(id: $id, input: { webhookUrl: $url }) { id } }`,
      { id: ok, url: 'http://169.254.169.254/latest/meta-data' },
    );
    expect(u.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'webhookUrl',
    });
  });

  // Review finding: the dispatcher checked only that the route still existed, so deliveries
  // queued before a route was switched off still went out on it.
  it('a delivery queued for a route since switched off ends DEAD ("route disabled"), and nothing is sent', async () => {
    expect(
      (await t.gql(`mutation { createApp(input: { name: "off", kind: GO }) { id } }`)).errors,
    ).toBeUndefined();
    const routeId = await createRoute('off', hook.url);
    const off = await t.gql(
      `mutation($id: ID!) { updateNotificationRoute(id: $id, input: { enabled: false }) { enabled } }`,
      { id: routeId },
    );
    expect(off.data?.updateNotificationRoute).toEqual({ enabled: false });
    // As if queued just before the switch: a due PENDING delivery of the (now disabled) route.
    const em = t.phantom.platform.orm.em.fork();
    const event = {
      id: '999001',
      type: 'RELEASE_SUCCEEDED',
      at: new Date().toISOString(),
      actor: 'admin',
      app: 'off',
      env: 'prod',
      payload: { n: 401 },
    };
    const route = await em.findOneOrFail(NotificationRoute, { app: 'off' });
    expect(route.enabled).toBe(false);
    em.create(NotificationDelivery, {
      eventId: event.id,
      routeId: route.id,
      app: 'off',
      appId: route.appId,
      eventType: event.type,
      event,
      status: NotificationDeliveryStatus.PENDING,
      nextAttemptAt: new Date(),
    });
    await em.flush();
    t.phantom.platform.deps.onEventsCommitted();
    const [d] = await until('a DEAD delivery', async () => {
      const ds = await deliveries({ route: routeId });
      return ds.length === 1 && ds[0].status === 'DEAD' && ds;
    });
    expect(d).toMatchObject({
      eventId: event.id,
      status: 'DEAD',
      attempts: 0,
      lastError: 'route disabled',
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(hook.requests.map((q) => q.body?.event?.payload?.n)).not.toContain(401);
  });

  // The notifier keeps the routes it read while it sees every event in order: each route
  // change is an event of its own, which must make the very next event see the change.
  it('a route created, switched off, switched on or re-pointed counts from the next event on', async () => {
    expect(
      (await t.gql(`mutation { createApp(input: { name: "rc", kind: GO }) { id } }`)).errors,
    ).toBeUndefined();
    const sent = () => hook.accepted().filter((q) => q.body?.event?.app === 'rc');
    const gapSent = () => gap.accepted().filter((q) => q.body?.event?.app === 'rc');
    // Events before any route: nothing to send, but the (empty) routes are read and kept.
    await emit(PlatformEventType.RELEASE_SUCCEEDED, 'rc', { n: 501 });
    await emit(PlatformEventType.RELEASE_SUCCEEDED, 'rc', { n: 502 });
    const routeId = await createRoute('rc', hook.url);
    await emit(PlatformEventType.RELEASE_SUCCEEDED, 'rc', { n: 503 });
    await until('503 sent', () => sent().some((q) => q.body.event.payload.n === 503));
    const off = await t.gql(
      `mutation($id: ID!) { updateNotificationRoute(id: $id, input: { enabled: false }) { enabled } }`,
      { id: routeId },
    );
    expect(off.errors).toBeUndefined();
    await emit(PlatformEventType.RELEASE_SUCCEEDED, 'rc', { n: 504 });
    const on = await t.gql(
      `mutation($id: ID!, $url: String!) { updateNotificationRoute(id: $id, input: { enabled: true, webhookUrl: $url }) { enabled } }`,
      { id: routeId, url: gap.url },
    );
    expect(on.errors).toBeUndefined();
    await emit(PlatformEventType.RELEASE_SUCCEEDED, 'rc', { n: 505 });
    await until('505 sent to the new address', () =>
      gapSent().some((q) => q.body.event.payload.n === 505),
    );
    // 504 came while the route was off: queued for nobody.
    expect(await deliveries({ route: routeId })).toHaveLength(2);
    expect(sent().map((q) => q.body.event.payload.n)).toEqual([503]);
    expect(gapSent().map((q) => q.body.event.payload.n)).toEqual([505]);
  });

  it("reads the routes once for events of many apps; each event gets only its own app's routes", async () => {
    for (const name of ['many-a', 'many-b', 'many-c', 'many-d'])
      expect(
        (
          await t.gql(`mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { id } }`, {
            n: name,
          })
        ).errors,
      ).toBeUndefined();
    await createRoute('many-a', hook.url);
    await createRoute('many-b', gap.url);
    const toA = () => hook.accepted().filter((q) => q.body?.event?.app === 'many-a');
    const toB = () => gap.accepted().filter((q) => q.body?.event?.app === 'many-b');
    await emit(PlatformEventType.RELEASE_SUCCEEDED, 'many-a', { n: 600 });
    await until('600 sent', () => toA().length === 1);
    const stats = t.phantom.platform.sqlStats;
    stats.recent.length = 0;
    await emit(PlatformEventType.RELEASE_SUCCEEDED, 'many-b', { n: 601 });
    await emit(PlatformEventType.RELEASE_SUCCEEDED, 'many-c', { n: 602 });
    await emit(PlatformEventType.RELEASE_SUCCEEDED, 'many-d', { n: 604 });
    await emit(PlatformEventType.RELEASE_SUCCEEDED, 'many-a', { n: 603 });
    await until('601 and 603 sent', () => toA().length === 2 && toB().length === 1);
    // Four apps' events (two of them never seen before), one read at most (none when the
    // routes read for 600 are still kept); one read per app would make it two.
    expect(
      stats.recent.filter((q) => /from [`"]?notification_routes.* where .*enabled/.test(q)).length,
    ).toBeLessThanOrEqual(1);
    expect(toA().map((q) => q.body.event.payload.n)).toEqual([600, 603]);
    expect(toB().map((q) => q.body.event.payload.n)).toEqual([601]);
    expect(gap.accepted().some((q) => q.body?.event?.app === 'many-a')).toBe(false);
    expect(
      hook.accepted().some((q) => ['many-b', 'many-c', 'many-d'].includes(q.body?.event?.app)),
    ).toBe(false);
  });

  it("a new app reusing a deleted app's name does not inherit its routes", async () => {
    expect(
      (await t.gql(`mutation { createApp(input: { name: "pay", kind: GO }) { id } }`, {}, alice))
        .errors,
    ).toBeUndefined();
    const oldRoute = await createRoute('pay', hook.url, alice, [
      'RELEASE_SUCCEEDED',
      'APP_DELETED',
    ]);
    await emit(PlatformEventType.RELEASE_SUCCEEDED, 'pay', { n: 101 });
    await until('the old route delivers', () => ns(hook).includes(101));
    expect((await t.gql(`mutation { deleteApp(name: "pay") }`, {}, alice)).errors).toBeUndefined();
    await until('"App deleted" to the old route', () =>
      hook.accepted().some((q) => q.body?.event?.type === 'APP_DELETED'),
    );

    // Bob creates "pay" again: he is its OWNER, not of the old app's routes and deliveries.
    expect(
      (await t.gql(`mutation { createApp(input: { name: "pay", kind: GO }) { id } }`, {}, bob))
        .errors,
    ).toBeUndefined();
    const routes = await t.gql(
      `{ notificationRoutes(first: 100) { edges { node { id } } } }`,
      {},
      bob,
    );
    expect(routes.data.notificationRoutes.edges).toEqual([]);
    expect(
      errorCode(
        await t.gql(`{ notificationRoutes(app: "pay") { edges { node { id } } } }`, {}, bob),
      ),
    ).toBeUndefined();
    expect(
      (await t.gql(`{ notificationRoutes(app: "pay") { edges { node { id } } } }`, {}, bob)).data
        .notificationRoutes.edges,
    ).toEqual([]);
    expect(await deliveries({}, bob)).toEqual([]);
    expect(await deliveries({ app: 'pay' }, bob)).toEqual([]);
    expect(
      errorCode(
        await t.gql(
          `query($r: ID) { notificationDeliveries(filter: { route: $r }) { edges { node { id } } } }`,
          { r: oldRoute },
          bob,
        ),
      ),
    ).toBe('FORBIDDEN');
    // Nobody can switch the old route back on (it would post the new app's news to the old team).
    for (const token of [bob, alice, ADMIN_TOKEN]) {
      const r = await t.gql(
        `mutation($id: ID!) { updateNotificationRoute(id: $id, input: { enabled: true }) { enabled } }`,
        { id: oldRoute },
        token,
      );
      expect(errorCode(r)).toBe('NOT_FOUND');
    }
    const oldDelivery = (await deliveries({ route: oldRoute }))[0];
    expect(
      errorCode(
        await t.gql(
          `mutation($id: ID!) { retryNotificationDelivery(id: $id) { id } }`,
          { id: oldDelivery.id },
          bob,
        ),
      ),
    ).toBe('NOT_FOUND');

    // Even switched on behind the API's back, the old route is matched by its app id only: it does not fire.
    const em = t.phantom.platform.orm.em.fork();
    const [oldRow] = await em.find(
      NotificationRoute,
      { app: 'pay' },
      { orderBy: { id: 'asc' }, limit: 1 },
    );
    await em.nativeUpdate(NotificationRoute, { id: oldRow.id }, { enabled: true });
    const newRoute = await createRoute('pay', gap.url, bob);
    const before = hook.requests.length;
    await emit(PlatformEventType.RELEASE_SUCCEEDED, 'pay', { n: 102 });
    await until("the new app's own route delivers", () => ns(gap).includes(102));
    await new Promise((r) => setTimeout(r, 300));
    expect(hook.requests.slice(before)).toEqual([]);
    expect((await deliveries({ route: newRoute }, bob)).map((d) => d.eventType)).toEqual([
      'RELEASE_SUCCEEDED',
    ]);
    // Admins still see and may delete the orphaned route.
    expect(
      (await t.gql(`mutation($id: ID!) { deleteNotificationRoute(id: $id) }`, { id: oldRoute }))
        .data?.deleteNotificationRoute,
    ).toBe(true);
  });

  it('fills events the stream lost from the events table (the cursor is in the database)', async () => {
    expect(
      (await t.gql(`mutation { createApp(input: { name: "gap", kind: GO }) { id } }`)).errors,
    ).toBeUndefined();
    const routeId = await createRoute('gap', gap.url);
    await emit(PlatformEventType.RELEASE_SUCCEEDED, 'gap', { n: 201 });
    await until('201 SENT', async () => {
      const list = await deliveries({ route: routeId });
      return list.length === 1 && list[0].status === 'SENT' && list;
    });
    // Event 202 is committed and numbered but never reaches the stream (as if the stream had
    // lost it): the notifier learns of it only from the gap before 203.
    const em = t.phantom.platform.orm.em.fork();
    const top = await maxSeq(em);
    await em.insert(PlatformEventRow, {
      type: PlatformEventType.RELEASE_SUCCEEDED,
      actor: 'admin',
      app: 'gap',
      env: 'prod',
      payload: { n: 202 },
      at: new Date(),
      seq: String(top + 1n),
      publishedAt: new Date(),
    });
    const seen = ns(gap).length;
    await emit(PlatformEventType.RELEASE_SUCCEEDED, 'gap', { n: 203 });
    await until('202 sent from the table, then 203', () => {
      const got = ns(gap).slice(seen);
      return got.includes(202) && got.includes(203) && got;
    });
    expect(ns(gap).slice(seen)).toEqual([202, 203]);
    // And the cursor in the database moves past both (written behind, within a second).
    await until('cursor at 203', async () => {
      const cur = await t.phantom.platform.orm.em
        .fork()
        .findOne(NotifierCursor, { groupName: 'notifier' }, { disableIdentityMap: true });
      return cur?.lastEventId === String(top + 2n) && cur;
    });
  });

  it('two dispatchers and a slow receiver: each delivery sent exactly once, in order per route, even across a retry', async () => {
    expect(
      (await t.gql(`mutation { createApp(input: { name: "dup", kind: GO }) { id } }`)).errors,
    ).toBeUndefined();
    const routeId = await createRoute('dup', slow.url);
    const extra = [1, 2].map(
      () =>
        new NotificationDispatcher({
          em: () => t.phantom.platform.orm.em.fork(),
          publicUrl: () => 'https://phantom.example.test',
          webhookPolicy: { allowedHosts: [hostPort(slow)] },
          pollMs: 25,
          timeoutMs: 1000,
          claimMarginMs: 150,
          backoffBaseMs: 30,
          maxAttempts: 4,
        }),
    );
    for (const d of extra) d.start();
    try {
      for (let n = 1; n <= 6; n++) await emit(PlatformEventType.RELEASE_SUCCEEDED, 'dup', { n });
      await until(
        '6 SENT',
        async () => {
          const list = await deliveries({ route: routeId });
          return list.length === 6 && list.every((d) => d.status === 'SENT') && list;
        },
        { timeoutMs: 30_000 },
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(ns(slow)).toEqual([1, 2, 3, 4, 5, 6]);
      // The first attempt failed (HTTP 500): the later ones waited for its retry.
      expect(ns(slow, false)).toEqual([1, 1, 2, 3, 4, 5, 6]);
    } finally {
      for (const d of extra) await d.stop();
    }
  }, 60_000);
});
