/**
 * The outbox relay against a real MySQL/MariaDB and Redis: commit order when a transaction
 * commits late, and no loss while Redis is down (a dedicated redis-server we stop and
 * restart).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeServices, testDatabaseUrl, testRedisUrl } from '../support/env.js';
import { createScratchDatabase } from '../support/harness.js';
import { createOrm, migrate, type Orm } from '../../src/db/orm.js';
import { createMessaging, type Messaging } from '../../src/pubsub/index.js';
import type { PhantomTopics } from '../../src/pubsub/topics.js';
import { OutboxRelay } from '../../src/domain/events/outbox-relay.js';
import { PlatformEventType, recordEvent } from '../../src/domain/events/event-recorder.js';
import { PlatformEventRow } from '../../src/domain/events/platform-event.entity.js';
import { PLATFORM_EVENTS_STREAM } from '../../src/domain/events/platform-event.record.js';
import { sequencePending } from '../../src/domain/events/platform-event.repository.js';
import { listPlatformEvents } from '../../src/domain/events/platform-event.service.js';
import { TokenScope } from '../../src/domain/people/token-scope.js';
import type { DomainContext } from '../../src/domain/shared/domain-context.js';
import { eventually } from './support.js';

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

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

async function write(orm: Orm, app: string): Promise<void> {
  await orm.em.fork().transactional((em) => {
    recordEvent(em, {
      type: PlatformEventType.APP_UPDATED,
      actor: 'test',
      app,
      payload: { changed: ['description'] },
    });
  });
}

describeServices('outbox relay (MySQL + Redis)', () => {
  let orm: Orm;
  let dropDb: () => Promise<void>;
  beforeAll(async () => {
    const db = await createScratchDatabase(testDatabaseUrl!);
    dropDb = db.drop;
    orm = (await createOrm({ databaseUrl: db.url })).orm;
    await migrate(orm);
  });
  afterAll(async () => {
    await orm?.close(true);
    await dropDb?.();
  });

  it('numbers a transaction that inserted early but committed late after the ones published meanwhile', async () => {
    const messaging = createMessaging<PhantomTopics>({
      redisUrl: testRedisUrl,
      keyPrefix: `relay-order-${process.pid}-${Date.now()}:`,
    });
    const relay = new OutboxRelay({
      em: () => orm.em.fork(),
      ...messaging,
      pollMs: 50,
      leaseTtlMs: 3000,
    });
    relay.start();
    try {
      const late = orm.em.fork();
      await late.begin();
      recordEvent(late, { type: PlatformEventType.APP_UPDATED, app: 'late' });
      await late.flush(); // inserted: it holds the smaller auto-increment id, not yet committed
      await write(orm, 'early');
      relay.wake();
      const first = await eventually(async () => {
        const es = await messaging.streams.read(PLATFORM_EVENTS_STREAM, '0', 100);
        return es.length >= 1 && es;
      });
      expect(first.map((e) => (e.body as any).app)).toEqual(['early']);
      await new Promise((r) => setTimeout(r, 200));
      await late.commit();
      relay.wake();
      const both = await eventually(async () => {
        const es = await messaging.streams.read(PLATFORM_EVENTS_STREAM, '0', 100);
        return es.length >= 2 && es;
      });
      expect(both.map((e) => [(e.body as any).app, e.id])).toEqual([
        ['early', '1'],
        ['late', '2'],
      ]);
      const rows = await orm.em.fork().find(PlatformEventRow, {}, { orderBy: { id: 'asc' } });
      // Insert order and commit order disagree; the public id follows commit order.
      expect(rows.map((r) => [r.app, r.seq])).toEqual([
        ['late', '2'],
        ['early', '1'],
      ]);
      expect(rows.every((r) => r.publishedAt)).toBe(true);
    } finally {
      await relay.stop();
      await messaging.close();
    }
  });

  // Review finding: numbering depended on the Redis lease, so with Redis down no event got
  // its public id and `platformEvents` (history, subscription replay) showed nothing new.
  it('numbers events, gap-free, while Redis is unreachable: they show in platformEvents history', async () => {
    const deadPort = await freePort(); // nothing listens there
    const messaging = createMessaging<PhantomTopics>({
      redisUrl: `redis://127.0.0.1:${deadPort}`,
      keyPrefix: 'relay-no-redis:',
    });
    const relay = new OutboxRelay({
      em: () => orm.em.fork(),
      ...messaging,
      pollMs: 100,
      leaseTtlMs: 1500,
    });
    const ctx = {
      em: orm.em.fork(),
      viewer: {
        userId: 1,
        username: 'admin',
        isAdmin: true,
        scopes: [TokenScope.READ, TokenScope.ADMIN],
        via: 'token',
        credentialId: 't',
      },
      deps: {} as DomainContext['deps'],
    } as DomainContext;
    try {
      relay.start();
      await write(orm, 'no-redis-1');
      await write(orm, 'no-redis-2');
      relay.wake();
      const page = await eventually(
        async () => {
          ctx.em.clear();
          const p = await listPlatformEvents(ctx, {}, 1000);
          return p.items.some((e) => e.app === 'no-redis-2') && p;
        },
        10_000,
        100,
      );
      expect(relay.isLeader()).toBe(false);
      const ids = page.items.map((e) => Number(e.id));
      expect(ids).toEqual(ids.map((_, i) => i + 1));
      expect(page.items.slice(-2).map((e) => e.app)).toEqual(['no-redis-1', 'no-redis-2']);
      const rows = await orm.em
        .fork()
        .find(PlatformEventRow, { app: { $in: ['no-redis-1', 'no-redis-2'] } });
      expect(rows.every((r) => r.publishedAt == null)).toBe(true);
    } finally {
      await relay.stop().catch(() => undefined);
      await messaging.close().catch(() => undefined);
    }
  }, 30_000);

  it.runIf(hasRedisServer)(
    'keeps events in the table while Redis is down and publishes them, in order, when it is back',
    async () => {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'phantom-redis-'));
      // Append-only file, so the restarted server still has the stream's earlier entries.
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
            '--appendonly',
            'yes',
            '--save',
            '',
          ],
          { stdio: 'ignore' },
        );
      let redis = startRedis();
      const messaging: Messaging<PhantomTopics> = createMessaging<PhantomTopics>({
        redisUrl: `redis://127.0.0.1:${port}`,
        keyPrefix: 'relay-down:',
      });
      const relay = new OutboxRelay({
        em: () => orm.em.fork(),
        ...messaging,
        pollMs: 100,
        leaseTtlMs: 1500,
      });
      const appsOnStream = async () =>
        (await messaging.streams.read(PLATFORM_EVENTS_STREAM, '0', 1000)).map((e) => [
          (e.body as any).app,
          e.id,
        ]);
      try {
        // Up and answering before the relay starts.
        await eventually(async () => (await messaging.leases.holderOf('probe')) === null, 10_000);
        relay.start();
        await write(orm, 'up-1');
        await eventually(
          async () => (await appsOnStream()).some(([app]) => app === 'up-1'),
          10_000,
        );

        // Graceful stop (SIGTERM): the append-only file is flushed.
        redis.kill('SIGTERM');
        await new Promise((r) => redis.once('exit', r));
        await write(orm, 'down-1');
        await write(orm, 'down-2');
        await new Promise((r) => setTimeout(r, 1500));
        const waiting = await orm.em
          .fork()
          .find(PlatformEventRow, { app: { $in: ['down-1', 'down-2'] } });
        expect(waiting).toHaveLength(2);
        expect(waiting.every((r) => r.publishedAt == null)).toBe(true);

        redis = startRedis();
        await write(orm, 'up-2');
        const stream = await eventually(
          async () => {
            const s = await appsOnStream();
            return s.some(([app]) => app === 'up-2') && s;
          },
          20_000,
          100,
        );
        const mine = stream.filter(([app]) => ['up-1', 'down-1', 'down-2', 'up-2'].includes(app));
        expect(mine.map(([app]) => app)).toEqual(['up-1', 'down-1', 'down-2', 'up-2']);
        const ids = mine.map(([, id]) => Number(id));
        expect(ids).toEqual([ids[0], ids[0] + 1, ids[0] + 2, ids[0] + 3]);
        // Each row is stamped just after its append: the stamp may trail the stream a little.
        await eventually(
          async () =>
            (await orm.em.fork().count(PlatformEventRow, {
              app: { $in: ['up-1', 'down-1', 'down-2', 'up-2'] },
              publishedAt: null,
            })) === 0,
          10_000,
        );
      } finally {
        await relay.stop().catch(() => undefined);
        await messaging.close().catch(() => undefined);
        redis.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});

// Reviewer's numbering-lock test: replicas number under GET_LOCK, so passes running at the
// same time as each other and as committing writers never give a number twice or skip one.
describeServices('event numbering under concurrency (MySQL)', () => {
  let orm: Orm;
  let dropDb: () => Promise<void>;
  beforeAll(async () => {
    const db = await createScratchDatabase(testDatabaseUrl!);
    dropDb = db.drop;
    orm = (await createOrm({ databaseUrl: db.url })).orm;
    await migrate(orm);
  });
  afterAll(async () => {
    await orm?.close(true);
    await dropDb?.();
  });

  it('several numbering passes at once while several writers commit: numbers are unique and dense (1..n)', async () => {
    const WRITERS = 4;
    const PER_WRITER = 30;
    const PASSES = 4;
    let writing = true;
    let numbered = 0;
    let busy = 0;
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = 0; i < PER_WRITER; i++) {
        // Some transactions hold their row open a little, so commit order differs from insert order.
        await orm.em.fork().transactional(async (em) => {
          recordEvent(em, {
            type: PlatformEventType.APP_UPDATED,
            actor: 'test',
            app: `w${w}-${i}`,
            payload: {},
          });
          await em.flush();
          if (i % 5 === w % 5) await new Promise((r) => setTimeout(r, 5));
        });
      }
    });
    // Each pass on its own EntityManager, so on its own pooled connection.
    const numberers = Array.from({ length: PASSES }, async () => {
      while (writing) {
        try {
          const r = await sequencePending(orm.em.fork(), 7);
          numbered += r.numbered;
          if (r.busy) busy++;
        } catch {
          // a pass that lost the release-before-commit race rolls back whole; the next one retries
        }
        await new Promise((r) => setImmediate(r));
      }
    });
    await Promise.all(writers);
    writing = false;
    await Promise.all(numberers);
    for (;;) {
      const r = await sequencePending(orm.em.fork(), 1000);
      numbered += r.numbered;
      if (!r.numbered && !r.busy) break;
    }
    const rows = await orm.em.fork().find(PlatformEventRow, {}, { orderBy: { id: 'asc' } });
    const n = WRITERS * PER_WRITER;
    expect(rows).toHaveLength(n);
    expect(numbered).toBe(n);
    const seqs = rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(busy).toBeGreaterThan(0); // the passes met the lock: one numbered, the others skipped
  }, 60_000);
});
