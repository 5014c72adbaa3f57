/**
 * Two Phantom replicas on one MySQL and one Redis: subscriptions on either replica get the
 * events of mutations sent to the other, and the relay runs on one replica at a time.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeServices } from '../support/env.js';
import { startTestPhantom, type TestPhantom } from '../support/harness.js';
import { eventFeedOf } from '../../src/domain/events/event-outbox.js';
import type { OutboxRelay } from '../../src/domain/events/outbox-relay.js';
import { collectEvents, eventually, newestEventId } from './support.js';

const feedOf = (t: TestPhantom) => eventFeedOf(t.phantom.platform.services);

describeServices('platform events across two replicas', () => {
  let a: TestPhantom;
  let b: TestPhantom;
  beforeAll(async () => {
    a = await startTestPhantom('mysql');
    b = await startTestPhantom('mysql', {
      databaseUrl: a.databaseUrl,
      redisPrefix: a.config.redisPrefix,
    });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('delivers to a subscriber on B the events of a mutation sent to A', async () => {
    const after = await newestEventId(b);
    const onB = collectEvents(b.ws(), { after });
    const onA = collectEvents(a.ws(), { after });
    const busBefore = feedOf(b).busMessages;
    expect(
      (await a.gql(`mutation { createApp(input: { name: "via-a", kind: GO }) { name } }`)).errors,
    ).toBeUndefined();
    expect(
      (
        await b.gql(
          `mutation { updateApp(name: "via-a", input: { description: "via b" }) { version } }`,
        )
      ).errors,
    ).toBeUndefined();
    await eventually(() => onB.events.length >= 2 && onA.events.length >= 2);
    for (const s of [onA, onB]) {
      expect(s.events.map((e) => [e.type, e.app])).toEqual([
        ['APP_CREATED', 'via-a'],
        ['APP_UPDATED', 'via-a'],
      ]);
      expect(s.events.map((e) => Number(e.id))).toEqual([Number(after) + 1, Number(after) + 2]);
      expect(s.errors).toEqual([]);
    }
    // Through Redis pub/sub, not only the feed's table heartbeat.
    expect(feedOf(b).busMessages).toBeGreaterThan(busBefore);
    // One relay at a time.
    const leaders = [a, b].filter((t) => relayOf(t).isLeader());
    expect(leaders).toHaveLength(1);
    onA.stop();
    onB.stop();
  });

  it('keeps relaying after the leading replica stops: the other takes the lease over', async () => {
    const [leader, other] = relayOf(a).isLeader() ? [a, b] : [b, a];
    const after = await newestEventId(other);
    const sub = collectEvents(other.ws(), { after });
    // The whole process goes (HTTP, relay, lease released); the database stays for `other`.
    await leader.phantom.stop();
    expect(
      (
        await other.gql(
          `mutation { updateApp(name: "via-a", input: { description: "after failover" }) { version } }`,
        )
      ).errors,
    ).toBeUndefined();
    await eventually(() => sub.events.length >= 1, 20_000);
    expect(sub.events[0]).toMatchObject({
      type: 'APP_UPDATED',
      app: 'via-a',
      id: String(Number(after) + 1),
    });
    await eventually(() => relayOf(other).isLeader(), 20_000);
    // And the stream got it too.
    const entries = await eventually(async () => {
      const es = await other.phantom.platform.messaging.streams.read('platform-events', '0', 1000);
      return es.some((e) => e.id === sub.events[0].id) && es;
    }, 20_000);
    expect(entries.map((e) => Number(e.id))).toEqual(
      [...entries.map((e) => Number(e.id))].sort((x, y) => x - y),
    );
    sub.stop();
  }, 60_000);
});

function relayOf(t: TestPhantom): OutboxRelay {
  return t.phantom.platform.services.platformEventsRelay as OutboxRelay;
}
