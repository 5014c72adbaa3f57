/**
 * Issue 9, observability: a request id in every log line of a request, returned as a header.
 */
import { Writable } from 'node:stream';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPhantom, type TestPhantom } from '../support/harness.js';
import { createLogger } from '../../src/server/logger.js';
import { withRequestId } from '../../src/server/request-id.js';
import { makeFormatError } from '../../src/server/format-error.js';

describe('request ids', () => {
  const lines: any[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('embedded', { logger: createLogger('debug', sink) });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  });

  const post = (headers: Record<string, string> = {}) =>
    fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: '{ __typename }' }),
    });

  it('keeps a sane X-Request-Id, answers it, and logs the request with it', async () => {
    const res = await post({ 'x-request-id': 'trace-abc.123' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('trace-abc.123');
    await expect
      .poll(() => lines.find((l) => l.reqId === 'trace-abc.123' && l.msg === 'request'))
      .toMatchObject({ method: 'POST', status: 200 });
  });

  it('replaces a missing or unsafe id with a new UUID', async () => {
    const a = (await post()).headers.get('x-request-id');
    const b = (await post({ 'x-request-id': 'evil id\twith spaces' })).headers.get('x-request-id');
    for (const id of [a, b])
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
  });

  it('gives a graphql-ws connection the id of its upgrade, answered in the 101 and on its log lines', async () => {
    const open = (headers: Record<string, string>) =>
      new Promise<{ socket: WebSocket; id: string | undefined }>((resolve, reject) => {
        const socket = new WebSocket(t.url.replace(/^http/, 'ws'), 'graphql-transport-ws', {
          headers,
        });
        let id: string | undefined;
        socket.once('upgrade', (res) => (id = res.headers['x-request-id'] as string | undefined));
        socket.once('open', () => resolve({ socket, id }));
        socket.once('error', reject);
      });
    const { socket, id } = await open({ 'x-request-id': 'ws-trace-7' });
    expect(id).toBe('ws-trace-7');
    const messages: any[] = [];
    socket.on('message', (m: Buffer) => messages.push(JSON.parse(m.toString())));
    socket.send(JSON.stringify({ type: 'connection_init' }));
    await expect.poll(() => messages.some((m) => m.type === 'connection_ack')).toBe(true);
    socket.send(
      JSON.stringify({
        id: 'op-1',
        type: 'subscribe',
        payload: { query: 'subscription Nope { noSuchField }' },
      }),
    );
    await expect.poll(() => messages.find((m) => m.id === 'op-1')).toMatchObject({ type: 'error' });
    await expect
      .poll(() => lines.find((l) => l.msg === 'ws operation' && l.id === 'op-1'))
      .toMatchObject({ reqId: 'ws-trace-7', op: 'Nope', result: 'GRAPHQL_VALIDATION_FAILED' });
    socket.close();

    const other = await open({ 'x-request-id': 'not sane!' });
    expect(other.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    other.socket.close();
  });

  it('puts the id on every line logged inside the request, and on an internal error answer', () => {
    const seen: any[] = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(c, _e, cb) {
          seen.push(JSON.parse(String(c)));
          cb();
        },
      }),
    );
    const format = makeFormatError(logger);
    const out = withRequestId('req-42', () => {
      logger.warn({ x: 1 }, 'inside');
      return format({ message: 'boom' }, new Error('boom'));
    });
    logger.warn({}, 'outside');
    expect(seen[0]).toMatchObject({ msg: 'inside', reqId: 'req-42' });
    expect(seen.find((l) => l.msg === 'unexpected error')).toMatchObject({ reqId: 'req-42' });
    expect(seen.find((l) => l.msg === 'outside').reqId).toBeUndefined();
    expect(out.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId: 'req-42' });
    expect(out.message).toContain('req-42');
  });
});
