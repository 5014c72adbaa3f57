/**
 * Issue 9, P3: a `platformEvents` event is executed once per selection, not once per
 * subscriber, and the per-event read rule still holds per subscriber.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import {
  availableModes,
  createUserWithToken,
  startTestPhantom,
  ADMIN_TOKEN,
  type TestPhantom,
} from '../support/harness.js';
import { sharedExecutionStats } from '../../src/server/ws-shared-execution.js';
import { sharedFrameStats } from '../../src/server/ws-transport.js';
import { RawWs } from '../support/raw-ws.js';

const SELECTION_A = 'subscription { platformEvents { id type app actor } }';
const SELECTION_B = 'subscription { platformEvents { id type } }';

interface Sub {
  selection: string;
  events: any[];
  errors: unknown[];
}

function subscribe(c: Client, selection: string): Sub {
  const s: Sub = { selection, events: [], errors: [] };
  c.subscribe(
    { query: selection },
    {
      next: (v: any) =>
        v.errors ? s.errors.push(...v.errors) : s.events.push(v.data.platformEvents),
      error: (e) => s.errors.push(e),
      complete: () => undefined,
    },
  );
  return s;
}

async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each(availableModes)(
  'platformEvents executed once per event per selection (%s)',
  (mode) => {
    let t: TestPhantom;
    const clients: Client[] = [];
    beforeAll(async () => {
      t = await startTestPhantom(mode);
    });
    afterAll(async () => {
      for (const c of clients) await c.dispose();
      await t?.stop();
    });

    it('shares the execution among subscribers of one selection, and a hidden event still reaches nobody who may not see it', async () => {
      const userToken = await createUserWithToken(t, 'plain-reader');
      const feed = t.phantom.platform.services.platformEvents!;
      const open = (token: string, selection: string) => {
        const c = t.ws(token);
        clients.push(c);
        return subscribe(c, selection);
      };
      const admins = [
        ...Array.from({ length: 6 }, () => open(ADMIN_TOKEN, SELECTION_A)),
        ...Array.from({ length: 3 }, () => open(ADMIN_TOKEN, SELECTION_B)),
      ];
      const users = Array.from({ length: 3 }, () => open(userToken, SELECTION_A));
      const all = [...admins, ...users];
      await until(() => feed.listenerCount === all.length);
      const before = sharedExecutionStats.executions;

      await t.gql(`mutation { createApp(input: { name: "shared-exec-1", kind: GO }) { name } }`);
      // A token event: no app, no environment: admins and its creator (the admin) only.
      const tok = await t.gql(
        `mutation { createApiToken(name: "shared-exec", scopes: [READ]) { token } }`,
      );
      expect(tok.errors).toBeUndefined();
      await t.gql(`mutation { createApp(input: { name: "shared-exec-2", kind: GO }) { name } }`);
      await until(() =>
        admins.every(
          (s) =>
            s.events.filter((e) => e.type === 'APP_CREATED').length === 2 &&
            s.events.some((e) => e.type === 'TOKEN_CREATED'),
        ),
      );
      await until(() =>
        users.every((s) => s.events.filter((e) => e.type === 'APP_CREATED').length === 2),
      );
      await new Promise((r) => setTimeout(r, 200));

      for (const s of all) expect(s.errors).toEqual([]);
      // The read rule, per subscriber: the plain reader never gets the token event.
      for (const s of users) expect(s.events.map((e) => e.type)).not.toContain('TOKEN_CREATED');
      for (const s of admins) expect(s.events.map((e) => e.type)).toContain('TOKEN_CREATED');
      // Subscribers of one selection got the same data, admins and plain readers alike for app events.
      const a0 = JSON.stringify(admins[0].events);
      for (const s of admins.slice(0, 6)) expect(JSON.stringify(s.events)).toBe(a0);
      for (const s of users)
        expect(JSON.stringify(s.events)).toBe(
          JSON.stringify(admins[0].events.filter((e) => e.type !== 'TOKEN_CREATED')),
        );

      // One execution per event per selection among those who received it, not one per subscriber.
      const perEvent = new Map<string, Set<string>>();
      let frames = 0;
      for (const s of all) {
        for (const e of s.events) {
          frames++;
          if (!perEvent.has(e.id)) perEvent.set(e.id, new Set());
          perEvent.get(e.id)!.add(s.selection);
        }
      }
      const expected = [...perEvent.values()].reduce((n, sel) => n + sel.size, 0);
      expect(frames).toBeGreaterThan(expected * 3);
      expect(sharedExecutionStats.executions - before).toBe(expected);
    });

    it("serializes each event once per selection whatever the subscribers, sends graphql-ws's exact text frames, and builds one frame per subscription id", async () => {
      // The first test's clients would share these selections: close them.
      for (const c of clients.splice(0)) await c.dispose();
      const feed = t.phantom.platform.services.platformEvents!;
      await until(() => feed.listenerCount === 0);
      const ODD_ID = 'odd "id" \\ é';
      const socks = await Promise.all(
        Array.from({ length: 4 }, () => RawWs.open(t.wsUrl, { token: ADMIN_TOKEN })),
      );
      const [a1, a2, aOdd, b1] = socks as [RawWs, RawWs, RawWs, RawWs];
      a1.subscribe('1', SELECTION_A);
      a2.subscribe('1', SELECTION_A);
      // A second subscription on a2's socket: its frames of one event leave in one write.
      a2.subscribe('2', SELECTION_B);
      aOdd.subscribe(ODD_ID, SELECTION_A);
      b1.subscribe('1', SELECTION_B);
      await until(() => feed.listenerCount === 5);
      const before = { ...sharedFrameStats };
      const executions = sharedExecutionStats.executions;

      for (const n of ['frames-1', 'frames-2', 'frames-3'])
        expect(
          (await t.gql(`mutation { createApp(input: { name: "${n}", kind: GO }) { name } }`))
            .errors,
        ).toBeUndefined();
      const created = (w: RawWs, id = w === aOdd ? ODD_ID : '1') =>
        w.of(id).filter((m) => m.payload?.data?.platformEvents?.type === 'APP_CREATED').length;
      await until(() => socks.every((w) => created(w) === 3) && created(a2, '2') === 3);
      await new Promise((r) => setTimeout(r, 200));

      const ids = (w: RawWs, id = w === aOdd ? ODD_ID : '1') =>
        w.of(id).map((m) => m.payload.data.platformEvents.id as string);
      // Every subscription got the same events, in order, as `next` messages of its own id.
      const events = ids(a1);
      expect(events.length).toBeGreaterThanOrEqual(3);
      for (const w of socks) expect(ids(w)).toEqual(events);
      expect(ids(a2, '2')).toEqual(events);
      expect(events.map(Number)).toEqual([...events.map(Number)].sort((x, y) => x - y));
      for (const w of socks)
        expect(
          w.messages.filter((m) => m.type !== 'connection_ack').every((m) => m.type === 'next'),
        ).toBe(true);
      for (const [w, id] of [
        [a1, '1'],
        [a2, '1'],
        [a2, '2'],
        [aOdd, ODD_ID],
        [b1, '1'],
      ] as const) {
        for (const f of w.frames.filter((x) => JSON.parse(x.text).id === id)) {
          expect(f.binary).toBe(false);
          const m = JSON.parse(f.text);
          // Byte for byte the text graphql-ws itself writes for this message.
          expect(f.text).toBe(JSON.stringify({ id, type: 'next', payload: m.payload }));
        }
      }
      expect(aOdd.of(ODD_ID)[0].payload.data.platformEvents).toMatchObject({
        type: expect.any(String),
        actor: expect.any(String),
      });
      expect(b1.of('1')[0].payload.data.platformEvents).not.toHaveProperty('actor');

      // The work: one execution and one serialization per event and selection (2 selections),
      // one frame per event and (selection, id): a1's and a2's '1' share theirs, b1's '1'
      // and a2's '2' (same selection B) each have one.
      expect(sharedExecutionStats.executions - executions).toBe(events.length * 2);
      expect(sharedFrameStats.serialized - before.serialized).toBe(events.length * 2);
      expect(sharedFrameStats.frames - before.frames).toBe(events.length * 4);
      expect(sharedFrameStats.spliced - before.spliced).toBe(0);
      // a2's two frames of an event were written together (its socket corked for the tick)
      // at least once; a due credential re-check may put one of them in a later tick.
      expect(sharedFrameStats.corked - before.corked).toBeGreaterThan(0);

      // `complete` from the client ends that subscription only.
      a1.send({ id: '1', type: 'complete' });
      await until(() => feed.listenerCount === 4);
      await t.gql(`mutation { createApp(input: { name: "frames-4", kind: GO }) { name } }`);
      await until(
        () =>
          created(a2) === 4 && created(a2, '2') === 4 && created(aOdd) === 4 && created(b1) === 4,
      );
      await new Promise((r) => setTimeout(r, 200));
      expect(created(a1)).toBe(3);
      for (const w of socks) expect(w.open).toBe(true);
      for (const w of socks) w.close();
    });

    it('sends straight from the feed while a subscriber keeps up, and an event that needs a lookup takes the iterator path without breaking the order', async () => {
      const feed = t.phantom.platform.services.platformEvents!;
      await until(() => feed.listenerCount === 0);
      // An app OWNER who is not an admin: the route events of its app need a lookup (its roles).
      const ownerToken = await createUserWithToken(t, 'route-owner');
      expect(
        (await t.gql(`mutation { createApp(input: { name: "direct-app", kind: GO }) { name } }`))
          .errors,
      ).toBeUndefined();
      expect(
        (
          await t.gql(
            `mutation { setAppMember(app: "direct-app", username: "route-owner", role: OWNER) { name } }`,
          )
        ).errors,
      ).toBeUndefined();
      const admin = await RawWs.open(t.wsUrl, { token: ADMIN_TOKEN });
      const owner = await RawWs.open(t.wsUrl, { token: ownerToken });
      admin.subscribe('1', SELECTION_B);
      owner.subscribe('1', SELECTION_B);
      await until(() => feed.listenerCount === 2);
      const before = sharedFrameStats.direct;

      const steps = [
        `mutation { createApp(input: { name: "direct-1", kind: GO }) { name } }`,
        `mutation { createNotificationRoute(input: { name: "direct chat", app: "direct-app", channel: SLACK, webhookUrl: "https://hooks.slack.com/services/T/B/d" }) { id } }`,
        `mutation { createApp(input: { name: "direct-2", kind: GO }) { name } }`,
        `mutation { createApp(input: { name: "direct-3", kind: GO }) { name } }`,
      ];
      // At once: the events after the route event arrive while the owner's lookup runs.
      for (const r of await Promise.all(steps.map((q) => t.gql(q))))
        expect(r.errors).toBeUndefined();
      const types = (w: RawWs) =>
        w.of('1').map((m) => m.payload.data.platformEvents.type as string);
      await until(
        () =>
          types(admin).filter((x) => x === 'APP_CREATED').length === 3 &&
          types(owner).filter((x) => x === 'APP_CREATED').length === 3,
      );
      await new Promise((r) => setTimeout(r, 200));
      const ids = (w: RawWs) => w.of('1').map((m) => Number(m.payload.data.platformEvents.id));
      // The owner sees its app's route event (after a lookup) in its place: the same events
      // as the admin, in id order, with no gap.
      expect(types(owner)).toContain('SETTINGS_CHANGED');
      expect(ids(owner)).toEqual(ids(admin));
      expect(ids(admin)).toEqual(
        Array.from({ length: ids(admin).length }, (_, i) => ids(admin)[0] + i),
      );
      const frames = admin.of('1').length + owner.of('1').length;
      const direct = sharedFrameStats.direct - before;
      // Most frames went straight from the feed; at least the owner's route event did not.
      expect(direct).toBeGreaterThan(0);
      expect(direct).toBeLessThan(frames);
      for (const w of [admin, owner])
        for (const f of w.frames.filter((x) => JSON.parse(x.text).type === 'next'))
          expect(f.text).toBe(
            JSON.stringify({ id: '1', type: 'next', payload: JSON.parse(f.text).payload }),
          );
      // `complete` ends it at once: nothing more is sent for that id.
      admin.send({ id: '1', type: 'complete' });
      await until(() => feed.listenerCount === 1);
      await t.gql(`mutation { createApp(input: { name: "direct-4", kind: GO }) { name } }`);
      await until(() => types(owner).filter((x) => x === 'APP_CREATED').length === 4);
      await new Promise((r) => setTimeout(r, 100));
      expect(types(admin).filter((x) => x === 'APP_CREATED').length).toBe(3);
      admin.close();
      owner.close();
    });
  },
);

describe('platformEvents without direct delivery (PHANTOM_WS_DIRECT_DELIVERY=off)', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('embedded', { env: { PHANTOM_WS_DIRECT_DELIVERY: 'off' } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('sends every frame through graphql-ws, the same frames', async () => {
    const feed = t.phantom.platform.services.platformEvents!;
    const w = await RawWs.open(t.wsUrl, { token: ADMIN_TOKEN });
    w.subscribe('1', SELECTION_B);
    await until(() => feed.listenerCount === 1);
    const before = sharedFrameStats.direct;
    for (const n of ['off-1', 'off-2'])
      expect(
        (await t.gql(`mutation { createApp(input: { name: "${n}", kind: GO }) { name } }`)).errors,
      ).toBeUndefined();
    await until(() => w.of('1').length >= 2);
    expect(w.of('1').map((m) => m.payload.data.platformEvents.type)).toEqual([
      'APP_CREATED',
      'APP_CREATED',
    ]);
    expect(sharedFrameStats.direct - before).toBe(0);
    w.close();
  });
});
