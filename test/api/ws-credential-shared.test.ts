/**
 * Issue 9, P3: the credential re-checks of live subscriptions are shared per credential in
 * a process: many sockets of one token cost one lookup per interval, not one each, and a
 * revoked token still closes every one of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import {
  availableModes,
  createUserWithToken,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { credentialChecksOf } from '../../src/server/ws-credential-watch.js';

const SOCKETS = 20;

interface Seen {
  apps: string[];
  errors: string[];
  closed?: number;
}

function subscribe(c: Client): Seen {
  const seen: Seen = { apps: [], errors: [] };
  c.on('closed', (e: any) => {
    seen.closed = e.code;
  });
  c.subscribe(
    { query: 'subscription { platformEvents { id app } }' },
    {
      next: (v: any) =>
        v.errors
          ? seen.errors.push(...v.errors.map((e: any) => e.extensions?.code))
          : seen.apps.push(v.data.platformEvents.app),
      error: () => undefined,
      complete: () => undefined,
    },
  );
  return seen;
}

async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Token lookups (the statement authenticate() runs for an API token) among the statements seen since `from`. */
const tokenReads = (t: TestPhantom, since: number) =>
  t.phantom.platform.sqlStats.recent
    .slice(since)
    .filter((q) => /from `?api_tokens`? t join `?users`? u/i.test(q)).length;

describe.each(availableModes)('credential re-checks shared per credential (%s)', (mode) => {
  let t: TestPhantom;
  const clients: Client[] = [];
  beforeAll(async () => {
    t = await startTestPhantom(mode);
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await t?.stop();
  });

  it(`runs one lookup for ${SOCKETS} sockets of one token, and closes them all once it is revoked`, async () => {
    const token = await createUserWithToken(t, 'fanout-bot');
    const feed = t.phantom.platform.services.platformEvents!;
    const listeners = feed.listenerCount;
    const seen = Array.from({ length: SOCKETS }, () => {
      const c = t.ws(token);
      clients.push(c);
      return subscribe(c);
    });
    await until(() => feed.listenerCount === listeners + SOCKETS);
    const checks = credentialChecksOf(t.phantom.platform);
    expect(checks.size).toBeGreaterThanOrEqual(1);
    // Past the re-check interval of every socket: the next event makes each of them re-check.
    await new Promise((r) => setTimeout(r, 1200));
    const lookups = checks.lookups;
    t.phantom.platform.sqlStats.recent.length = 0;
    await t.gql(`mutation { createApp(input: { name: "shared-1", kind: GO }) { name } }`);
    await until(() => seen.every((s) => s.apps.includes('shared-1')));
    // One shared lookup (two if the interval ran out while the sockets were being served), not one per socket.
    expect(checks.lookups - lookups).toBeGreaterThanOrEqual(1);
    expect(checks.lookups - lookups).toBeLessThanOrEqual(2);
    // At the wire of the ORM: the admin's HTTP request plus the shared re-check(s).
    expect(tokenReads(t, 0)).toBeLessThanOrEqual(3);

    // Revoked: every socket closes with 4401 and none gets the next event.
    const mine = await t.gql(`{ apiTokens { id name } }`, {}, token);
    const id = mine.data.apiTokens.find((x: any) => x.name === 'test').id;
    expect(
      (await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) }`, { id }, token)).data
        .revokeApiToken,
    ).toBe(true);
    await new Promise((r) => setTimeout(r, 1200));
    await t.gql(`mutation { createApp(input: { name: "shared-2", kind: GO }) { name } }`);
    await until(() => seen.every((s) => s.closed !== undefined));
    for (const s of seen) {
      expect(s.closed).toBe(4401);
      expect(s.apps).not.toContain('shared-2');
    }
    // The entry goes with the last socket of the credential.
    await until(() => checks.size === 0);
  });
});
