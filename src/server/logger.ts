import { pino, type Logger } from 'pino';

/** One JSON logger per process. Secrets never reach it: callers log names and ids, not tokens. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'phantom' },
    redact: { paths: ['*.authorization', '*.password', '*.token', '*.secret', 'req.headers.authorization'], censor: '[redacted]' },
  });
}
export type { Logger };
