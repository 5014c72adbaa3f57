import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableModes,
  createUserWithToken,
  errorCode,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { PLATFORM_EVENTS_STREAM } from '../../src/domain/events/platform-event.record.js';
import { allEvents, collectEvents, eventually, newestEventId } from './support.js';

const createApp = (t: TestPhantom, name: string, token?: string) =>
  t.gql(`mutation { createApp(input: { name: "${name}", kind: GO }) { name } }`, undefined, token);
const describeApp = (t: TestPhantom, name: string, text: string) =>
  t.gql(`mutation { updateApp(name: "${name}", input: { description: "${text}" }) { version } }`);

describe.each(availableModes)('platform events (%s)', (mode) => {
  let t: TestPhantom;
  let alice: string;
  beforeAll(async () => {
    t = await startTestPhantom(mode);
    alice = await createUserWithToken(t, 'alice');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('records each change once, with dense ids in commit order, readable as history', async () => {
    expect((await createApp(t, 'ev-a')).errors).toBeUndefined();
    expect((await describeApp(t, 'ev-a', 'one')).errors).toBeUndefined();
    expect((await createApp(t, 'ev-b', alice)).errors).toBeUndefined();
    const events = await eventually(async () => {
      const all = await allEvents(t);
      return all.filter((e) => e.app?.startsWith('ev-')).length === 3 && all;
    });
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => String(i + 1)));
    const mine = events.filter((e) => e.app?.startsWith('ev-'));
    expect(mine.map((e) => [e.type, e.app, e.actor])).toEqual([
      ['APP_CREATED', 'ev-a', 'admin'],
      ['APP_UPDATED', 'ev-a', 'admin'],
      ['APP_CREATED', 'ev-b', 'alice'],
    ]);
    expect(mine[0].payload).toEqual({ kind: 'GO' });
    expect(mine[1].payload).toEqual({ changed: ['description'] });
    expect(new Date(mine[0].at).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('pages with Relay cursors in both orders and filters', async () => {
    const all = await allEvents(t);
    const p1 = await t.gql(
      `{ platformEvents(first: 2) { edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } }`,
    );
    expect(p1.data.platformEvents.edges.map((e: any) => e.node.id)).toEqual([all[0].id, all[1].id]);
    expect(p1.data.platformEvents.pageInfo).toMatchObject({
      hasNextPage: true,
      hasPreviousPage: false,
    });
    const p2 = await t.gql(
      `query($a: String) { platformEvents(first: 2, after: $a) { edges { node { id } } pageInfo { hasPreviousPage } } }`,
      { a: p1.data.platformEvents.pageInfo.endCursor },
    );
    expect(p2.data.platformEvents.edges.map((e: any) => e.node.id)).toEqual([all[2].id, all[3].id]);
    const newest = await t.gql(
      `{ platformEvents(first: 2, order: NEWEST_FIRST) { edges { node { id } } } }`,
    );
    expect(newest.data.platformEvents.edges.map((e: any) => e.node.id)).toEqual([
      all[all.length - 1].id,
      all[all.length - 2].id,
    ]);

    const byApp = await allEvents(t, { app: 'ev-a' });
    expect(byApp.map((e) => e.type)).toEqual(['APP_CREATED', 'APP_UPDATED']);
    const byType = await allEvents(t, { types: ['APP_UPDATED'], app: 'ev-a' });
    expect(byType).toHaveLength(1);
    const byActor = await allEvents(t, { actor: 'alice', types: ['APP_CREATED'] });
    expect(byActor.map((e) => e.app)).toEqual(['ev-b']);
    expect(await allEvents(t, { since: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);
    expect(
      (await allEvents(t, { since: new Date(Date.now() - 60_000).toISOString(), app: 'ev-b' }))
        .length,
    ).toBe(1);
  });

  it('refuses bad cursors, bad filters and anonymous readers with stable codes', async () => {
    expect(
      errorCode(await t.gql(`{ platformEvents(after: "garbage") { edges { cursor } } }`)),
    ).toBe('BAD_USER_INPUT');
    const notAnEvent = Buffer.from(JSON.stringify({ n: 'web' })).toString('base64url');
    expect(
      errorCode(await t.gql(`{ platformEvents(after: "${notAnEvent}") { edges { cursor } } }`)),
    ).toBe('BAD_USER_INPUT');
    const empty = await t.gql(`{ platformEvents(filter: { app: "" }) { edges { cursor } } }`);
    expect(errorCode(empty)).toBe('BAD_USER_INPUT');
    expect(empty.errors![0].extensions!.field).toBe('filter.app');
    expect(errorCode(await t.gql(`{ platformEvents(first: 0) { edges { cursor } } }`))).toBe(
      'BAD_USER_INPUT',
    );
    expect(errorCode(await t.gql(`{ platformEvents { edges { cursor } } }`, undefined, null))).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('shows personal events (tokens, users) only to admins and to whoever caused them', async () => {
    await createUserWithToken(t, 'bob');
    const asAlice = await allEvents(t, {}, alice);
    const asAdmin = await allEvents(t);
    const tokenEvents = asAdmin.filter((e) => e.type === 'TOKEN_CREATED');
    expect(tokenEvents.map((e) => e.actor).sort()).toEqual(['alice', 'bob']);
    expect(asAlice.filter((e) => e.type === 'TOKEN_CREATED').map((e) => e.actor)).toEqual([
      'alice',
    ]);
    expect(asAlice.filter((e) => e.app === 'ev-a')).toHaveLength(2);
    // Payloads never carry the token itself.
    expect(JSON.stringify(asAdmin)).not.toMatch(/phm_|token"\s*:\s*"/);
  });

  it('puts every event on the stream, in id order, with the event id as entry id', async () => {
    const all = await allEvents(t);
    const entries = await eventually(async () => {
      const es = await t.phantom.platform.messaging.streams.read(PLATFORM_EVENTS_STREAM, '0', 1000);
      return es.length >= all.length && es;
    });
    expect(entries.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(entries[0].body).toMatchObject({ id: all[0].id, type: all[0].type, app: all[0].app });
  });

  it('streams live events to a subscriber, filtered and authorized per event', async () => {
    const after = await newestEventId(t);
    const everything = collectEvents(t.ws(), { after });
    const onlyB = collectEvents(t.ws(), { after, filter: { app: 'ev-b' } });
    const asAlice = collectEvents(t.ws(alice), { after });
    expect((await describeApp(t, 'ev-a', 'two')).errors).toBeUndefined();
    expect((await describeApp(t, 'ev-b', 'two')).errors).toBeUndefined();
    await createUserWithToken(t, 'carol');
    await eventually(() => everything.events.length >= 4);
    expect(everything.events.map((e) => e.type)).toEqual([
      'APP_UPDATED',
      'APP_UPDATED',
      'SETTINGS_CHANGED',
      'TOKEN_CREATED',
    ]);
    expect(everything.events.map((e) => Number(e.id))).toEqual(
      [1, 2, 3, 4].map((i) => Number(after) + i),
    );
    await eventually(() => onlyB.events.length >= 1 && asAlice.events.length >= 2);
    // Give anything wrongly let through a moment to arrive.
    await new Promise((r) => setTimeout(r, 300));
    expect(onlyB.events.map((e) => e.app)).toEqual(['ev-b']);
    expect(asAlice.events.map((e) => e.app)).toEqual(['ev-a', 'ev-b']);
    for (const s of [everything, onlyB, asAlice]) {
      expect(s.errors).toEqual([]);
      s.stop();
    }
  });

  it('replays the gap to a subscriber that resumes with `after`, then goes live: no duplicate, no gap', async () => {
    const start = await newestEventId(t);
    const first = collectEvents(t.ws(), { after: start });
    await describeApp(t, 'ev-a', 'three');
    await eventually(() => first.events.length === 1);
    const lastSeen = first.events[0].id;
    first.stop();
    // Missed while disconnected.
    await describeApp(t, 'ev-a', 'four');
    await describeApp(t, 'ev-a', 'five');
    await eventually(async () => Number(await newestEventId(t)) >= Number(lastSeen) + 2);
    const resumed = collectEvents(t.ws(), { after: lastSeen });
    await eventually(() => resumed.events.length >= 2);
    // Live again, while (or right after) the replay runs.
    const writes = [
      describeApp(t, 'ev-a', 'six'),
      describeApp(t, 'ev-b', 'six'),
      describeApp(t, 'ev-a', 'seven'),
    ];
    await Promise.all(writes);
    await eventually(() => resumed.events.length >= 5);
    await new Promise((r) => setTimeout(r, 300));
    const ids = resumed.events.map((e) => Number(e.id));
    expect(ids).toEqual([1, 2, 3, 4, 5].map((i) => Number(lastSeen) + i));
    expect(resumed.events.map((e) => e.payload.changed)).toEqual([
      ['description'],
      ['description'],
      ['description'],
      ['description'],
      ['description'],
    ]);
    resumed.stop();
  });

  it('refuses a bad `after` or an anonymous subscriber with stable codes', async () => {
    const bad = collectEvents(t.ws(), { after: 'abc' });
    await eventually(() => bad.errors.length > 0);
    expect((bad.errors[0] as any).extensions?.code).toBe('BAD_USER_INPUT');
    // Review finding: an `after` beyond the newest event used to wait forever, silently.
    const future = collectEvents(t.ws(), { after: String(Number(await newestEventId(t)) + 1000) });
    await eventually(() => future.errors.length > 0);
    expect((future.errors[0] as any).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'after',
    });
    expect(future.events).toEqual([]);
    const anon = collectEvents(t.ws(null));
    await eventually(() => anon.errors.length > 0);
    expect((anon.errors[0] as any).extensions?.code).toBe('UNAUTHENTICATED');
  });
});
