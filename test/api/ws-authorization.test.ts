/**
 * Where a graphql-ws connection's credential may come from (src/server/ws-authorization.ts):
 * the documented `authorization` key of connection_init, the same key in another case or
 * inside `headers`, or the upgrade's Authorization header. A spelling that used to be ignored
 * made the socket anonymous in silence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ADMIN_TOKEN, startTestPhantom, type TestPhantom } from '../support/harness.js';

interface Outcome {
  username?: string | null;
  errorCode?: string;
  errorMessage?: string;
  closed?: { code: number; reason: string };
}

/** connection_init with `payload` (and the upgrade's `headers`), then `{ viewer { username } }`. */
async function viewerOver(
  wsUrl: string,
  payload: unknown,
  headers: Record<string, string> = {},
): Promise<Outcome> {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { headers });
  return new Promise<Outcome>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer in 10 s')), 10_000);
    const done = (o: Outcome) => {
      clearTimeout(timer);
      socket.close();
      resolve(o);
    };
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload })));
    socket.on('message', (data) => {
      const m: any = JSON.parse((data as Buffer).toString('utf8'));
      if (m.type === 'connection_ack')
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: '{ viewer { username } }' },
          }),
        );
      else if (m.type === 'next')
        done({
          username: m.payload.data?.viewer?.username ?? null,
          errorCode: m.payload.errors?.[0]?.extensions?.code,
          errorMessage: m.payload.errors?.[0]?.message,
        });
    });
    socket.on('close', (code, reason) => done({ closed: { code, reason: String(reason) } }));
    socket.on('error', () => undefined);
  });
}

describe('graphql-ws credentials (embedded)', () => {
  let t: TestPhantom;
  const bearer = `Bearer ${ADMIN_TOKEN}`;
  beforeAll(async () => {
    t = await startTestPhantom('embedded');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('reads the token from `authorization` in any case, from `headers`, or from the upgrade header', async () => {
    for (const [payload, headers] of [
      [{ authorization: bearer }, {}],
      [{ Authorization: bearer }, {}],
      [{ headers: { Authorization: bearer } }, {}],
      [{}, { authorization: bearer }],
      [undefined, { authorization: bearer }],
    ] as const) {
      const o = await viewerOver(t.wsUrl, payload, headers);
      expect([payload, headers, o]).toEqual([payload, headers, { username: 'admin' }]);
    }
  });

  it('ignores the upgrade header when the upgrade has an Origin (a browser: any page can open a socket)', async () => {
    const o = await viewerOver(
      t.wsUrl,
      {},
      { authorization: bearer, origin: 'https://evil.example' },
    );
    expect(o.username).toBeNull();
    expect(o.errorCode).toBe('UNAUTHENTICATED');
    // The payload, which a foreign page cannot fill with someone's token, still counts.
    const payload = await viewerOver(
      t.wsUrl,
      { authorization: bearer },
      { origin: 'https://evil.example' },
    );
    expect(payload.username).toBe('admin');
  });

  it('prefers the payload over the upgrade header, and refuses a bad one with 4401 and the reason', async () => {
    const bad = await viewerOver(
      t.wsUrl,
      { Authorization: 'Bearer not-a-token-at-all' },
      { authorization: bearer },
    );
    expect(bad.closed?.code).toBe(4401);
    const notString = await viewerOver(t.wsUrl, { authorization: 42 });
    expect(notString.closed).toEqual({
      code: 4401,
      reason: expect.stringMatching(/"authorization" must be a string/),
    });
  });

  it('answers an anonymous socket with UNAUTHENTICATED naming the connection_init payload', async () => {
    const o = await viewerOver(t.wsUrl, {});
    expect(o.errorCode).toBe('UNAUTHENTICATED');
    expect(o.errorMessage).toMatch(/connection_init payload/);
  });
});
