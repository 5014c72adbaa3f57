import { pino, stdSerializers, type Logger } from 'pino';
import { DriverException } from '@mikro-orm/core';
import { currentRequestId } from './request-id.js';

/**
 * Database driver errors carry the SQL with its parameter values (password hashes, payloads)
 * in `message` and `stack`: log only what identifies the failure.
 */
export function serializeError(err: unknown): unknown {
  if (err instanceof DriverException) {
    const e = err as DriverException & { errno?: number; sqlState?: string };
    return {
      type: e.name,
      code: e.code,
      errno: e.errno,
      sqlState: e.sqlState,
      message: `${e.name} (SQL and values withheld)`,
    };
  }
  return err instanceof Error ? stdSerializers.err(err) : err;
}

/** One JSON logger per process. Secrets never reach it: callers log names and ids, not tokens. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      // Every line written while an HTTP request runs carries its id (request-id.ts).
      mixin: () => {
        const reqId = currentRequestId();
        return reqId ? { reqId } : {};
      },
      base: { service: 'phantom' },
      serializers: { err: serializeError, error: serializeError },
      redact: {
        paths: [
          '*.authorization',
          '*.password',
          '*.token',
          '*.secret',
          'req.headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
export type { Logger };
