/**
 * Issue 9, observability: a request id in every log line of a request, returned as a header.
 */
import { Writable } from 'node:stream';
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
