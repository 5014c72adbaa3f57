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

describe('operations per user over all its graphql-ws sockets (embedded)', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('embedded', {
      env: { PHANTOM_WS_MAX_SUBSCRIPTIONS_PER_USER: '3' },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const SUB = 'subscription { platformEvents { id } }';
  let apps = 0;
  /** Subscribes `id` on `c`; true once an event reaches it (live), false if it is refused. */
  const live = async (c: RawWs, id: string): Promise<boolean> => {
    c.subscribe(id, SUB);
    await t.gql(`mutation { createApp(input: { name: "per-user-${++apps}", kind: GO }) { id } }`);
    await c.until(() => c.of(id).length > 0);
    const first = c.of(id)[0];
    if (first.type === 'error') {
      expect(first.payload[0].extensions.code).toBe('TOO_MANY_SUBSCRIPTIONS');
      expect(first.payload[0].message).toMatch(/limit 3, over all its sockets/);
    }
    return first.type === 'next';
  };
  /** Retries `live` (the place is given back asynchronously, by another socket's message). */
  const liveSoon = async (c: RawWs, id: string): Promise<boolean> => {
    for (let i = 0; i < 20; i++) if (await live(c, `${id}-${i}`)) return true;
    return false;
  };

  it('counts a user over its sockets, gives places back on complete and on close, and leaves other users alone', async () => {
    const a = await RawWs.open(t.wsUrl, { token: ADMIN_TOKEN });
    const b = await RawWs.open(t.wsUrl, { token: ADMIN_TOKEN });
    await t.gql(
      `mutation { createUser(input: { username: "bot", password: "password-123" }) { id } }`,
    );
    const login = await t.gql(
      `mutation { login(username: "bot", password: "password-123") { token } }`,
    );
    const other = await RawWs.open(t.wsUrl, { token: login.data.login.token as string });
    try {
      expect(await live(a, 'a1')).toBe(true);
      expect(await live(a, 'a2')).toBe(true);
      expect(await live(b, 'b1')).toBe(true);
      expect(await live(b, 'b2')).toBe(false);
      expect(a.open && b.open).toBe(true);
      // Another user has its own count.
      for (const id of ['o1', 'o2', 'o3']) expect(await live(other, id)).toBe(true);
      expect(await live(other, 'o4')).toBe(false);

      // Completing one on a frees a place on b, one only.
      a.send({ id: 'a1', type: 'complete' });
      expect(await liveSoon(b, 'b3')).toBe(true);
      expect(await live(b, 'b4')).toBe(false);
      // Closing a gives its place (a2) back.
      a.close();
      expect(await liveSoon(b, 'b5')).toBe(true);
      expect(await live(b, 'b6')).toBe(false);
    } finally {
      a.close();
      b.close();
      other.close();
    }
  });
});
