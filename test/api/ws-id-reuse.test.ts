/**
 * graphql-transport-ws: an id is free again once the client has sent `complete` for it. A
 * `subscribe` that reuses it at once (in the same write as the `complete`, while the old
 * operation is still being set up or still running) starts one new operation under the id:
 * never two, never none, and nothing of the old one follows its `complete`. A `subscribe`
 * for an id whose operation is still active is still refused with 4409.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableModes,
  startTestPhantom,
  ADMIN_TOKEN,
  type TestPhantom,
} from '../support/harness.js';
import { RawWs } from '../support/raw-ws.js';

const EVENTS = 'subscription { platformEvents { id type app } }';

describe.each(availableModes)('graphql-ws operation ids reused after complete (%s)', (mode) => {
  let t: TestPhantom;
  const sockets: RawWs[] = [];
  beforeAll(async () => {
    t = await startTestPhantom(mode);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.stop();
  });
  const open = async () => {
    const s = await RawWs.open(t.wsUrl, { token: ADMIN_TOKEN });
    sockets.push(s);
    return s;
  };
  const listeners = () => t.phantom.platform.services.platformEvents!.listenerCount;
  const createApp = async (name: string) =>
    expect(
      (
        await t.gql(`mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { name } }`, {
          n: name,
        })
      ).errors,
    ).toBeUndefined();
  const appsOn = (s: RawWs, id: string) =>
    s
      .of(id)
      .filter((m) => m.type === 'next')
      .map((m) => m.payload.data?.platformEvents?.app);

  it('subscribe, complete and subscribe again under one id, sent at once: one live operation, each event once, none after the last complete', async () => {
    const base = listeners();
    const s = await open();
    s.subscribe('a', EVENTS);
    s.send({ id: 'a', type: 'complete' });
    s.subscribe('a', EVENTS);
    // A witness on the same socket, to know when an event has been delivered.
    s.subscribe('w', EVENTS);
    await s.until(() => listeners() === base + 2);
    await createApp('reuse-1');
    await createApp('reuse-2');
    await s.until(() => appsOn(s, 'w').includes('reuse-2') && appsOn(s, 'a').includes('reuse-2'));
    // Both operations could not be live under one id: each event came once.
    expect(appsOn(s, 'a').filter((a) => a === 'reuse-1')).toHaveLength(1);
    expect(appsOn(s, 'a').filter((a) => a === 'reuse-2')).toHaveLength(1);
    expect(listeners()).toBe(base + 2);

    s.send({ id: 'a', type: 'complete' });
    await s.until(() => listeners() === base + 1);
    await createApp('reuse-3');
    await s.until(() => appsOn(s, 'w').includes('reuse-3'));
    expect(appsOn(s, 'a')).not.toContain('reuse-3');
    expect(s.open).toBe(true);
  });

  it("a query's id reused at once for a subscription: the subscription lives, and the query's result is not sent under it", async () => {
    const base = listeners();
    const s = await open();
    s.subscribe('q', '{ apps(first: 1) { totalCount } }');
    s.send({ id: 'q', type: 'complete' });
    s.subscribe('q', EVENTS);
    s.subscribe('w', EVENTS);
    await s.until(() => listeners() === base + 2);
    await createApp('reuse-4');
    await s.until(() => appsOn(s, 'w').includes('reuse-4') && appsOn(s, 'q').includes('reuse-4'));
    // Every message under q is the subscription's: no query result, no complete.
    for (const m of s.of('q')) {
      expect(m.type).toBe('next');
      expect(m.payload.data.platformEvents).toBeDefined();
    }
    expect(appsOn(s, 'q').filter((a) => a === 'reuse-4')).toHaveLength(1);
  });

  it('reusing the id of a running operation many times in a row leaves exactly the last one live', async () => {
    const base = listeners();
    const s = await open();
    s.subscribe('r', EVENTS);
    await s.until(() => listeners() === base + 1);
    for (let i = 0; i < 5; i++) {
      s.send({ id: 'r', type: 'complete' });
      s.subscribe('r', EVENTS);
    }
    s.subscribe('w', EVENTS);
    await s.until(() => listeners() === base + 2);
    await createApp('reuse-5');
    await s.until(() => appsOn(s, 'w').includes('reuse-5') && appsOn(s, 'r').includes('reuse-5'));
    expect(appsOn(s, 'r').filter((a) => a === 'reuse-5')).toHaveLength(1);
    expect(listeners()).toBe(base + 2);
    expect(s.of('r').filter((m) => m.type !== 'next')).toEqual([]);
  });

  it('a flood of messages for one id while its completed operation ends closes the socket (1008), whatever the id, and the server lives on', async () => {
    const base = listeners();
    const s = await open();
    // A long id of 2-byte characters: the close reason must still fit a close frame (123 bytes).
    const id = 'é'.repeat(60);
    s.subscribe(id, EVENTS);
    await s.until(() => listeners() === base + 1);
    // One write, so that the server reads it all before the completed operation can end.
    const tcp = (s.socket as unknown as { _socket: import('node:net').Socket })._socket;
    tcp.cork();
    s.send({ id, type: 'complete' });
    for (let i = 0; i < 110; i++) s.subscribe(id, 'subscription { platformEvents { id } }');
    tcp.uncork();
    await s.until(() => s.closed !== undefined);
    expect(s.closed!.code).toBe(1008);
    expect(s.closed!.reason).toMatch(/Too many messages for one operation id/);
    await s.until(() => listeners() === base);
    expect((await t.gql('{ __typename }')).data).toEqual({ __typename: 'Query' });
  });

  it('a client cycling subscribe/complete on one id faster than operations end keeps its socket, and its last subscription lives', async () => {
    const base = listeners();
    const s = await open();
    s.subscribe('w', EVENTS);
    for (let i = 0; i < 300; i++) {
      s.subscribe('1', EVENTS);
      s.send({ id: '1', type: 'complete' });
    }
    s.subscribe('1', EVENTS);
    await s.until(() => listeners() === base + 2);
    await createApp('reuse-6');
    await s.until(() => appsOn(s, 'w').includes('reuse-6') && appsOn(s, '1').includes('reuse-6'));
    expect(appsOn(s, '1').filter((a) => a === 'reuse-6')).toHaveLength(1);
    expect(s.open).toBe(true);
  });

  it('a duplicate id too long for the close reason still closes with 4409', async () => {
    const s = await open();
    const id = 'x'.repeat(200);
    s.subscribe(id, EVENTS);
    s.subscribe(id, EVENTS);
    await s.until(() => s.closed !== undefined);
    expect(s.closed!.code).toBe(4409);
    expect(Buffer.byteLength(s.closed!.reason)).toBeLessThanOrEqual(123);
    expect(s.closed!.reason).toMatch(/^Subscriber for x+…$/);
  });

  it('a subscribe for an id that is still active closes the socket with 4409', async () => {
    const s = await open();
    s.subscribe('x', EVENTS);
    s.subscribe('x', EVENTS);
    await s.until(() => s.closed !== undefined);
    expect(s.closed).toEqual({ code: 4409, reason: 'Subscriber for x already exists' });
  });
});
