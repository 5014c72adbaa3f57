import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { serializeError } from '../../src/server/logger.js';

describe('logger', () => {
  it('never writes SQL parameter values of driver errors', () => {
    const secret = 'scrypt$32768$8$1$c2FsdA==$aGFzaA==';
    const driverError = Object.assign(
      new Error(
        `insert into users (username, password_hash) values ('dave', '${secret}') - Duplicate entry 'dave'`,
      ),
      { code: 'ER_DUP_ENTRY', errno: 1062, sqlState: '23000' },
    );
    const err = new UniqueConstraintViolationException(driverError);
    let out = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        out += chunk;
        cb();
      },
    });
    pino({ serializers: { err: serializeError } }, sink).error({ err }, 'unexpected error');
    expect(out).toContain('UniqueConstraintViolationException');
    expect(out).toContain('23000');
    expect(out).not.toContain(secret);
    expect(out).not.toContain('dave');
  });

  it('keeps ordinary errors readable', () => {
    const s = serializeError(new Error('boom')) as { message: string; stack: string };
    expect(s.message).toBe('boom');
    expect(s.stack).toContain('boom');
  });
});
