/**
 * The notifier across a Redis restart that loses everything (no persistence): a dedicated
 * redis-server on a free port is killed and started again, empty, while events are on the
 * stream but not yet consumed. Regression: the consumer looped on NOGROUP forever, and the
 * events the stream lost were never announced.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeServices, testDatabaseUrl } from '../support/env.js';
import { ADMIN_TOKEN, createScratchDatabase } from '../support/harness.js';
import { loadConfig } from '../../src/config.js';
import { startPhantom, type Phantom } from '../../src/main.js';
import { PlatformEventType, recordEvent } from '../../src/domain/events/event-recorder.js';
import { PLATFORM_EVENTS_STREAM } from '../../src/domain/events/platform-event.record.js';
import { startReceiver, type Receiver } from './receivers.js';
import { until } from '../support/until.js';

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;
const SECRET = 'webhook-secret-value-0001';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describeServices('notifier across a Redis restart without data', () => {
  let port: number;
  let dir: string;
  let redis: ChildProcess;
  let phantom: Phantom;
  let dropDb: () => Promise<void>;
  let dbUrl: string;
  let hook: Receiver;
  // No RDB snapshots, no append-only file: a restart comes back empty.
  const startRedis = (): ChildProcess =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    );

  beforeAll(async () => {
    if (!hasRedisServer) return;
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'phantom-redis-'));
    redis = startRedis();
    hook = await startReceiver('WEBHOOK', { secret: SECRET });
    const db = await createScratchDatabase(testDatabaseUrl!);
    dropDb = db.drop;
    dbUrl = db.url;
    await until('redis up', () =>
      spawnSync('redis-cli', ['-p', String(port), 'ping'])
        .stdout?.toString()
        .includes('PONG'),
    );
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      PHANTOM_ADMIN_TOKEN: ADMIN_TOKEN,
      PHANTOM_EMBEDDED_CLUSTERS: 'off',
      DATABASE_URL: db.url,
      REDIS_URL: `redis://127.0.0.1:${port}`,
      PHANTOM_REDIS_PREFIX: 'restart-test:',
      PHANTOM_WEBHOOK_ALLOWED_HOSTS: new URL(hook.url).host,
    });
    phantom = await startPhantom(config, {
      notifier: {
        backoffBaseMs: 30,
        pollMs: 25,
        blockMs: 100,
        timeoutMs: 2000,
        catchUpMs: 600_000,
      },
    });
    // (catchUpMs: the periodic check stays out of it, so the stream consumer itself must recover.)
  }, 60_000);
  afterAll(async () => {
    await phantom?.stop().catch(() => undefined);
    redis?.kill('SIGKILL');
    await hook?.close();
    await dropDb?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const gql = async (query: string) => {
    const res = await fetch(phantom.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query }),
    });
    return (await res.json()) as any;
  };
  async function emit(n: number): Promise<void> {
    const { orm, deps } = phantom.platform;
    await orm.em.fork().transactional((em) => {
      recordEvent(em, {
        type: PlatformEventType.RELEASE_SUCCEEDED,
        actor: 'admin',
        app: 'shop',
        env: 'prod',
        payload: { n },
      });
    });
    deps.onEventsCommitted();
  }
  const received = () => hook.accepted().map((q) => q.body?.event?.payload?.n as number);

  it.runIf(hasRedisServer)(
    'recreates its group and announces every event, those the stream lost included',
    async () => {
      expect(
        (await gql(`mutation { createApp(input: { name: "shop", kind: NODE }) { id } }`)).errors,
      ).toBeUndefined();
      const route = await gql(
        `mutation { createNotificationRoute(input: { name: "shop", app: "shop", channel: WEBHOOK, webhookUrl: "${hook.url}", secret: "${SECRET}", eventTypes: ["RELEASE_SUCCEEDED"] }) { id } }`,
      );
      expect(route.errors).toBeUndefined();
      await emit(1);
      await until('event 1 announced', () => received().includes(1));

      // Hold the notifier inside its next event (its cursor update waits for our row lock), so
      // the events after it stay unread on the stream.
      const lock = await createConnection(dbUrl);
      await lock.query('begin');
      await lock.query("select * from notifier_cursors where group_name = 'notifier' for update");
      try {
        await emit(2);
        await emit(3);
        await emit(4);
        await until('events 2–4 on the stream', async () => {
          const entries = await phantom.platform.messaging.streams.read(
            PLATFORM_EVENTS_STREAM,
            '0',
            1000,
          );
          return entries.filter((e) => (e.body as any).type === 'RELEASE_SUCCEEDED').length >= 4;
        });
        redis.kill('SIGKILL');
        await new Promise((r) => redis.once('exit', r));
        redis = startRedis(); // empty: stream, group and pending entries are gone
        await until('redis up again', () =>
          spawnSync('redis-cli', ['-p', String(port), 'ping'])
            .stdout?.toString()
            .includes('PONG'),
        );
      } finally {
        await lock.query('commit');
        await lock.end();
      }
      await emit(5);
      const all = await until(
        'events 1–5 announced',
        () => {
          const got = received();
          return [1, 2, 3, 4, 5].every((n) => got.includes(n)) && got;
        },
        { timeoutMs: 45_000 },
      );
      expect([...new Set(all)].sort()).toEqual([1, 2, 3, 4, 5]);
      // The stream really lost 3 and 4: they came from the events table.
      const onStream = (
        await phantom.platform.messaging.streams.read(PLATFORM_EVENTS_STREAM, '0', 1000)
      ).map((e) => (e.body as any).payload?.n);
      expect(onStream).not.toContain(3);
      expect(onStream).not.toContain(4);
      expect(onStream).toContain(5);
    },
    90_000,
  );
});
