/**
 * A bound on the operations of one graphql-ws socket (PHANTOM_WS_MAX_SUBSCRIPTIONS_PER_SOCKET).
 * Found by an adversarial probe: a READ-only token opened 20,000 subscriptions per socket on a
 * dozen sockets; the heap reached 3–5 GB and /healthz stopped answering for minutes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestPhantom, type TestPhantom } from '../support/harness.js';
import { RawWs } from '../support/raw-ws.js';

describe('operations per graphql-ws socket (embedded)', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('embedded', {
      env: { PHANTOM_WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '3' },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('refuses the operation over the limit for its id only, and takes a new one once another completes', async () => {
    const c = await RawWs.open(t.wsUrl, { token: ADMIN_TOKEN });
    try {
      for (const id of ['a', 'b', 'c', 'd'])
        c.subscribe(id, 'subscription { platformEvents { id type } }');
      await c.until(() => c.of('d').length > 0);
      const [refused] = c.of('d');
      expect(refused.type).toBe('error');
      expect(refused.payload[0].extensions.code).toBe('TOO_MANY_SUBSCRIPTIONS');
      expect(refused.payload[0].message).toMatch(/limit 3/);
      // The others are live and the socket is open.
      expect(c.open).toBe(true);
      const created = await t.gql(
        `mutation { createApp(input: { name: "lim", kind: GO }) { id } }`,
      );
      expect(created.errors).toBeUndefined();
      await c.until(() => ['a', 'b', 'c'].every((id) => c.of(id).some((m) => m.type === 'next')));
      expect(c.of('d')).toHaveLength(1);

      // Completing one frees its place: a query (set up, answered, completed) fits, twice.
      c.send({ id: 'a', type: 'complete' });
      for (const id of ['q1', 'q2']) {
        c.subscribe(id, '{ viewer { username } }');
        await c.until(() => c.of(id).some((m) => m.type === 'complete' || m.type === 'error'));
        expect(c.of(id).map((m) => m.type)).toEqual(['next', 'complete']);
      }
      c.subscribe('e', 'subscription { platformEvents { id } }');
      c.subscribe('f', 'subscription { platformEvents { id } }');
      await c.until(() => c.of('f').length > 0);
      expect(c.of('f')[0].payload[0].extensions.code).toBe('TOO_MANY_SUBSCRIPTIONS');
      expect(c.of('e')).toEqual([]);
    } finally {
      c.close();
    }
  });
});
