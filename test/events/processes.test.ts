/**
 * Phantom as separate OS processes on one MySQL + Redis (review findings: "two Phantom
 * PROCESSES", and a `worker` role apart from the API). The second process is the real CLI
 * (`node src/cli.ts serve|worker`), started and killed by the test.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { describeServices, testRedisUrl } from '../support/env.js';
import { ADMIN_TOKEN, startTestPhantom, type TestPhantom } from '../support/harness.js';
import { PLATFORM_EVENTS_STREAM } from '../../src/domain/events/platform-event.record.js';
import { collectEvents, eventually, newestEventId } from './support.js';
import { gqlAt, spawnPhantom, type PhantomProcess } from './process.js';

describeServices('two Phantom processes (serve + serve)', () => {
  let a: TestPhantom;
  let b: PhantomProcess;
  beforeAll(async () => {
    a = await startTestPhantom('mysql');
    b = await spawnPhantom('serve', {
      databaseUrl: a.databaseUrl!,
      redisUrl: testRedisUrl!,
      redisPrefix: a.config.redisPrefix,
    });
  }, 90_000);
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('delivers events caused through either process to subscribers on the other', async () => {
    const after = await newestEventId(a);
    const onA = collectEvents(a.ws(), { after });
    const clientB = createClient({
      url: `${b.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const onB = collectEvents(clientB, { after });
    try {
      // Through the child process, seen in this one …
      expect(
        (await gqlAt(b.url, `mutation { createApp(input: { name: "proc-b", kind: GO }) { name } }`))
          .errors,
      ).toBeUndefined();
      await eventually(() => onA.events.some((e) => e.app === 'proc-b'), 20_000);
      // … and through this process, seen in the child.
      expect(
        (
          await a.gql(
            `mutation { updateApp(name: "proc-b", input: { description: "from a" }) { version } }`,
          )
        ).errors,
      ).toBeUndefined();
      // Both subscribers, each at its own pace (this process's own one may come second).
      await eventually(() => onB.events.length >= 2 && onA.events.length >= 2, 20_000);
      for (const s of [onA, onB]) {
        expect(s.events.slice(0, 2).map((e) => [e.type, e.app, Number(e.id)])).toEqual([
          ['APP_CREATED', 'proc-b', Number(after) + 1],
          ['APP_UPDATED', 'proc-b', Number(after) + 2],
        ]);
        expect(s.errors).toEqual([]);
      }
    } finally {
      onA.stop();
      onB.stop();
      await clientB.dispose();
    }
  }, 60_000);
});

describeServices('worker role (api-only server + worker process)', () => {
  let api: TestPhantom;
  let worker: PhantomProcess | undefined;
  beforeAll(async () => {
    api = await startTestPhantom('mysql', { env: { PHANTOM_ROLES: 'api' } });
  });
  afterAll(async () => {
    await worker?.stop();
    await api?.stop();
  });

  it('relays events created through an api-only server only once a worker process runs', async () => {
    expect(api.phantom.platform.services.platformEventsRelay).toBeUndefined();
    const before = await newestEventId(api);
    const sub = collectEvents(api.ws(), { after: before });
    expect(
      (await api.gql(`mutation { createApp(input: { name: "by-api", kind: GO }) { name } }`))
        .errors,
    ).toBeUndefined();
    // No worker: the event waits in the outbox, unnumbered.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await newestEventId(api)).toBe(before);

    worker = await spawnPhantom('worker', {
      databaseUrl: api.databaseUrl!,
      redisUrl: testRedisUrl!,
      redisPrefix: api.config.redisPrefix,
    });
    const health = await fetch(`${worker.url}/healthz`);
    expect(health.status).toBe(200);
    expect((await fetch(`${worker.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${worker.url}/graphql`, { method: 'POST' })).status).not.toBe(200);

    await eventually(() => sub.events.length >= 1, 20_000);
    expect(sub.events[0]).toMatchObject({
      type: 'APP_CREATED',
      app: 'by-api',
      id: String(Number(before) + 1),
    });
    expect(
      (
        await api.gql(
          `mutation { updateApp(name: "by-api", input: { description: "later" }) { version } }`,
        )
      ).errors,
    ).toBeUndefined();
    await eventually(() => sub.events.length >= 2, 20_000);
    expect(sub.events[1]).toMatchObject({
      type: 'APP_UPDATED',
      app: 'by-api',
      id: String(Number(before) + 2),
    });
    const entries = await eventually(async () => {
      const es = await api.phantom.platform.messaging.streams.read(
        PLATFORM_EVENTS_STREAM,
        '0',
        1000,
      );
      return es.some((e) => e.id === sub.events[1].id) && es;
    }, 20_000);
    expect(
      entries.filter((e) => (e.body as any).app === 'by-api').map((e) => (e.body as any).type),
    ).toEqual(['APP_CREATED', 'APP_UPDATED']);
    expect(sub.errors).toEqual([]);
    sub.stop();
  }, 90_000);
});
