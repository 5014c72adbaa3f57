/**
 * The relay publishes the rows it has just numbered from the numbering's own read when they
 * follow what it published last (one statement less per batch), and those messages are the
 * ones a read of the table gives: same ids, times, payloads. Anything else (rows another
 * replica numbered, a relay that does not know where publishing stands) still reads the
 * table. Both modes: MySQL + Redis, and the embedded SQLite + in-process bus.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl, testRedisUrl } from '../support/env.js';
import { availableModes, createScratchDatabase, deleteRedisKeys } from '../support/harness.js';
import { createOrm, migrate, type Orm, type SqlStats } from '../../src/db/orm.js';
import { createMessaging, type Messaging } from '../../src/pubsub/index.js';
import type { PhantomTopics } from '../../src/pubsub/topics.js';
import { OutboxRelay } from '../../src/domain/events/outbox-relay.js';
import { PlatformEventType, recordEvent } from '../../src/domain/events/event-recorder.js';
import {
  PLATFORM_EVENTS_STREAM,
  toEventMessage,
  toEventRecord,
} from '../../src/domain/events/platform-event.record.js';
import {
  findSequenced,
  sequencePending,
} from '../../src/domain/events/platform-event.repository.js';
import { eventually } from './support.js';

/** The relay's read of numbered, unpublished rows. */
const UNPUBLISHED_READ = /published_at[`"]? is null/;
/** The numbering's probe for unnumbered rows, before it takes the lock. */
const PROBE = /^select id from platform_events where seq is null order by id asc limit 1$/;

describe.each(availableModes)('outbox relay: direct publishing (%s)', (mode) => {
  let orm: Orm;
  let stats: SqlStats;
  let messaging: Messaging<PhantomTopics>;
  let cleanup: () => Promise<void>;
  const prefix = `relay-direct-${process.pid}-${Date.now()}:`;

  beforeAll(async () => {
    if (mode === 'mysql') {
      const db = await createScratchDatabase(testDatabaseUrl!);
      ({ orm, stats } = await createOrm({ databaseUrl: db.url }));
      messaging = createMessaging<PhantomTopics>({ redisUrl: testRedisUrl, keyPrefix: prefix });
      cleanup = async () => {
        await db.drop();
        await deleteRedisKeys(testRedisUrl!, prefix);
      };
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'phantom-relay-direct-'));
      ({ orm, stats } = await createOrm({ sqlitePath: join(dir, 'phantom.db') }));
      messaging = createMessaging<PhantomTopics>({});
      cleanup = () => Promise.resolve(rmSync(dir, { recursive: true, force: true }));
    }
    await migrate(orm);
  });
  afterAll(async () => {
    await messaging?.close();
    await orm?.close(true);
    await cleanup?.();
  });

  const write = (n: number) =>
    orm.em.fork().transactional((em) => {
      recordEvent(em, {
        type: PlatformEventType.APP_UPDATED,
        actor: 'test',
        app: `app-${n}`,
        env: 'prod',
        payload: { n, nested: { list: [1, 'two'], at: '2026-12-03T00:00:00.000Z' } },
      });
    });
  const streamed = async () =>
    (await messaging.streams.read(PLATFORM_EVENTS_STREAM, '0', 1000)).map((e) => e.body);

  it('publishes what it just numbered without reading it again; the messages are those of the table', async () => {
    // No poll during the test: every pass is a wake after a commit.
    const relay = new OutboxRelay({ em: () => orm.em.fork(), ...messaging, pollMs: 3_600_000 });
    relay.start();
    try {
      await eventually(() => relay.isLeader());
      await write(1);
      relay.wake();
      await eventually(async () => (await streamed()).length === 1);
      await relay.idle();
      // The first pass did not know where publishing stood: it read the table.
      stats.recent.length = 0;
      for (let n = 2; n <= 6; n++) {
        await write(n);
        relay.wake();
        await relay.idle();
      }
      const bodies = await eventually(async () => {
        const b = await streamed();
        return b.length === 6 && b;
      });
      expect(stats.recent.filter((q) => UNPUBLISHED_READ.test(q))).toEqual([]);
      // A wake comes after a commit with events: its numbering expects rows and skips the
      // probe a poll starts with.
      expect(stats.recent.filter((q) => PROBE.test(q))).toEqual([]);
      // A wake that finds nothing to number (another pass took the rows) is harmless.
      relay.wake();
      await relay.idle();
      expect(await streamed()).toHaveLength(6);
      // Exactly what a read of the table gives (what the relay published before this change).
      const rows = await findSequenced(orm.em.fork(), { limit: 100, primary: true });
      expect(bodies).toEqual(rows.map((r) => toEventMessage(toEventRecord(r))));
      expect(bodies.map((b: any) => [b.id, b.app, b.payload.n])).toEqual(
        [1, 2, 3, 4, 5, 6].map((n) => [String(n), `app-${n}`, n]),
      );
      const unstamped = await orm.em
        .fork()
        .getConnection()
        .execute('select count(*) as c from platform_events where published_at is null');
      expect(Number(unstamped[0].c)).toBe(0);
    } finally {
      await relay.stop();
    }
  });

  it('rows numbered elsewhere in between are read from the table, in order, with none lost', async () => {
    const relay = new OutboxRelay({ em: () => orm.em.fork(), ...messaging, pollMs: 3_600_000 });
    relay.start();
    try {
      await eventually(() => relay.isLeader());
      const before = (await streamed()).length;
      await write(7);
      relay.wake();
      await eventually(async () => (await streamed()).length === before + 1);
      await relay.idle();
      // Another replica numbers two rows (and does not publish them: it does not lead).
      await write(8);
      await write(9);
      expect((await sequencePending(orm.em.fork(), 100)).numbered).toBe(2);
      stats.recent.length = 0;
      await write(10);
      relay.wake();
      const bodies = await eventually(async () => {
        const b = await streamed();
        return b.length === before + 4 && b;
      });
      // Its own batch did not follow what it had published: it read the table.
      expect(stats.recent.filter((q) => UNPUBLISHED_READ.test(q)).length).toBeGreaterThan(0);
      expect(bodies.slice(before).map((b: any) => b.app)).toEqual([
        'app-7',
        'app-8',
        'app-9',
        'app-10',
      ]);
      expect(bodies.map((b: any) => b.id)).toEqual(
        bodies.map((_: unknown, i: number) => String(i + 1)),
      );
    } finally {
      await relay.stop();
    }
  });
});
