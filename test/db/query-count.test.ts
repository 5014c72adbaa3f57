/**
 * The N+1 guard: a page of apps with their members and users costs the same number of SQL
 * statements whatever the page size (dataloaders batch per request).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeServices } from '../support/env.js';
import { createUserWithToken, startTestPhantom, type TestPhantom } from '../support/harness.js';

describeServices('SQL statements per request (MySQL)', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('mysql');
    await createUserWithToken(t, 'carol');
    for (let i = 0; i < 55; i++) {
      const name = `svc-${String(i).padStart(2, '0')}`;
      const r = await t.gql(`mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { name } }`, { n: name });
      expect(r.errors).toBeUndefined();
      await t.gql(`mutation($n: String!) { setAppMember(app: $n, username: "carol", role: DEVELOPER) { name } }`, { n: name });
    }
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
  });

  async function count(first: number): Promise<number> {
    const q = `query($f: Int) { apps(first: $f) { totalCount edges { node { name members { role user { username } } } } } }`;
    await t.gql(q, { f: first }); // warm the credential cache; not counted
    const r = await t.gql(q, { f: first });
    // Counted per request, so background work (the outbox relay) does not blur the number.
    const used = t.phantom.platform.sqlStats.lastRequestQueries;
    expect(r.errors).toBeUndefined();
    expect(r.data.apps.edges).toHaveLength(first);
    expect(r.data.apps.edges[0].node.members.map((m: any) => m.user.username).sort()).toEqual(['admin', 'carol']);
    return used;
  }

  it('is constant for N = 5 and N = 50, and at most 4', async () => {
    const five = await count(5);
    const fifty = await count(50);
    expect(fifty).toBe(five);
    expect(fifty).toBeLessThanOrEqual(4);
    expect(fifty).toBeGreaterThan(0);
  });
});
