/**
 * A live subscription ends when its credential does: revoked token, ended session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableModes,
  createUserWithToken,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';

interface Seen {
  events: any[];
  errors: any[];
  closed?: { code: number; reason: string };
}

function watch(t: TestPhantom, token: string): Seen {
  const seen: Seen = { events: [], errors: [] };
  const c = t.ws(token);
  c.on('closed', (e: any) => {
    seen.closed = { code: e.code, reason: String(e.reason) };
  });
  c.subscribe(
    { query: 'subscription { platformEvents { id type app } }' },
    {
      next: (v: any) =>
        v.errors ? seen.errors.push(...v.errors) : seen.events.push(v.data.platformEvents),
      error: () => undefined,
      complete: () => undefined,
    },
  );
  return seen;
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each(availableModes)('re-authorizing live subscriptions (%s)', (mode) => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom(mode);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('closes a subscription whose API token was revoked, without sending it more events', async () => {
    const token = await createUserWithToken(t, 'watcher');
    const seen = watch(t, token);
    await new Promise((r) => setTimeout(r, 300)); // subscribed
    await t.gql(`mutation { createApp(input: { name: "seen-1", kind: GO }) { name } }`);
    await until(() => seen.events.some((e) => e.app === 'seen-1'));
    const mine = await t.gql(`{ apiTokens { id name } }`, {}, token);
    const id = mine.data.apiTokens.find((x: any) => x.name === 'test').id;
    const revoked = await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) }`, { id }, token);
    expect(revoked.data.revokeApiToken).toBe(true);
    await new Promise((r) => setTimeout(r, 1100)); // past the re-check interval
    await t.gql(`mutation { createApp(input: { name: "unseen-2", kind: GO }) { name } }`);
    await until(() => seen.closed !== undefined);
    expect(seen.closed!.code).toBe(4401);
    expect(seen.events.some((e) => e.app === 'unseen-2')).toBe(false);
    expect(seen.errors.map((e) => e.extensions?.code)).toContain('UNAUTHENTICATED');
  });

  it('closes a subscription whose session was ended by logout', async () => {
    await createUserWithToken(t, 'sessioner');
    const s = await t.gql(
      `mutation { login(username: "sessioner", password: "password-123") { token } }`,
      {},
      null,
    );
    const session = s.data.login.token as string;
    const seen = watch(t, session);
    await new Promise((r) => setTimeout(r, 300));
    await t.gql(`mutation { createApp(input: { name: "seen-3", kind: GO }) { name } }`);
    await until(() => seen.events.some((e) => e.app === 'seen-3'));
    await t.gql(`mutation { logout }`, {}, session);
    await new Promise((r) => setTimeout(r, 1100));
    await t.gql(`mutation { createApp(input: { name: "unseen-4", kind: GO }) { name } }`);
    await until(() => seen.closed !== undefined);
    expect(seen.closed!.code).toBe(4401);
    expect(seen.events.some((e) => e.app === 'unseen-4')).toBe(false);
  });
});
