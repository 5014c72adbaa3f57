import { pino, stdSerializers, type Logger } from 'pino';
import { DriverException } from '@mikro-orm/core';

/**
 * Database driver errors carry the SQL with its parameter values (password hashes, payloads)
 * in `message` and `stack`: log only what identifies the failure.
 */
export function serializeError(err: unknown): unknown {
  if (err instanceof DriverException) {
    const e = err as DriverException & { errno?: number; sqlState?: string };
    return { type: e.name, code: e.code, errno: e.errno, sqlState: e.sqlState, message: `${e.name} (SQL and values withheld)` };
  }
  return err instanceof Error ? stdSerializers.err(err) : err;
}

/** One JSON logger per process. Secrets never reach it: callers log names and ids, not tokens. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'phantom' },
    serializers: { err: serializeError, error: serializeError },
    redact: { paths: ['*.authorization', '*.password', '*.token', '*.secret', 'req.headers.authorization'], censor: '[redacted]' },
  });
}
export type { Logger };
