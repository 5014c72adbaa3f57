/**
 * API-token checks coalesced per token (issue 9, P1): concurrent requests with one token share
 * lookups, and a request is answered only by a lookup that started after it arrived, so a
 * revocation still wins at once (ADR 0008).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableModes,
  createUserWithToken,
  errorCode,
  startTestPhantom,
  type GqlResult,
  type TestPhantom,
} from '../support/harness.js';
import { createConnection } from 'mysql2/promise';

/** Token lookups (authenticate's statement for an API token) among the statements seen since `since`. */
const tokenReads = (t: TestPhantom, since: number) =>
  t.phantom.platform.sqlStats.recent
    .slice(since)
    .filter((q) => /from `?api_tokens`? t join `?users`? u/i.test(q)).length;

describe.each(availableModes)('API-token lookups coalesced per token (%s)', (mode) => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom(mode);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('concurrent requests with one token share lookups, each answered right', async () => {
    const token = await createUserWithToken(t, 'busy-bot');
    // Warm: the first request may write lastUsedAt.
    expect((await t.gql(`{ viewer { username } }`, {}, token)).data.viewer.username).toBe(
      'busy-bot',
    );
    t.phantom.platform.sqlStats.recent.length = 0;
    const n = 40;
    // On MySQL, the first lookup is held by a table lock while the other requests arrive, so
    // they all arrive while a lookup runs. (The embedded SQLite answers a lookup before the
    // next request is read: nothing to share there; the answers must still be right.)
    const sql = mode === 'mysql' ? await createConnection(t.databaseUrl!) : undefined;
    await sql?.query('LOCK TABLES api_tokens WRITE');
    let answers: GqlResult[];
    try {
      const pending = Array.from({ length: n }, () => t.gql(`{ viewer { username } }`, {}, token));
      if (sql) await new Promise((r) => setTimeout(r, 1000));
      await sql?.query('UNLOCK TABLES');
      answers = await Promise.all(pending);
    } finally {
      await sql?.end();
    }
    for (const a of answers) expect(a.data?.viewer?.username).toBe('busy-bot');
    const reads = tokenReads(t, 0);
    expect(reads).toBeGreaterThanOrEqual(1);
    // The held lookup, the one every request that arrived meanwhile shares, and maybe a
    // third for a straggler: not one per request.
    if (mode === 'mysql') expect(reads).toBeLessThanOrEqual(3);
    else expect(reads).toBeLessThanOrEqual(n);
    // Another token in the same burst is looked up on its own: never answered as the first.
    const other = await createUserWithToken(t, 'other-bot');
    const mixed = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.gql(`{ viewer { username } }`, {}, i % 2 ? token : other),
      ),
    );
    mixed.forEach((a, i) =>
      expect(a.data?.viewer?.username).toBe(i % 2 ? 'busy-bot' : 'other-bot'),
    );
  });

  it('a request sent after the revocation answered is refused, however many requests share lookups', async () => {
    const token = await createUserWithToken(t, 'revoked-bot');
    const mine = await t.gql(`{ apiTokens { id name } }`, {}, token);
    const id = mine.data.apiTokens.find((x: any) => x.name === 'test').id;
    let revokedAt = Infinity;
    let stop = false;
    const late: (string | undefined)[] = [];
    let okBefore = 0;
    const loop = async () => {
      while (!stop) {
        const sent = Date.now();
        const r = await t.gql(`{ viewer { username } }`, {}, token);
        if (sent > revokedAt) late.push(errorCode(r));
        else if (r.data?.viewer) okBefore++;
      }
    };
    const loops = Array.from({ length: 10 }, loop);
    await new Promise((r) => setTimeout(r, 300));
    const rev = await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) }`, { id });
    expect(rev.data.revokeApiToken).toBe(true);
    revokedAt = Date.now();
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all(loops);
    expect(okBefore).toBeGreaterThan(0);
    expect(late.length).toBeGreaterThan(0);
    expect(new Set(late)).toEqual(new Set(['UNAUTHENTICATED']));
  });
});
