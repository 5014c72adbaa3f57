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
  },
);
