/**
 * Request ids: every HTTP request gets one (the caller's `X-Request-Id` when it is a sane
 * token, else a new UUID), answered in the `X-Request-Id` header, and carried in an
 * AsyncLocalStorage so every log line written while the request runs has `reqId`
 * (see logger.ts) — resolvers, the ORM's warnings and the audit plugin alike.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from './logger.js';

const scope = new AsyncLocalStorage<string>();

/** The id of the request this code runs for, if any. */
export function currentRequestId(): string | undefined {
  return scope.getStore();
}

/** Runs `fn` as part of request `id` (tests, and work started on behalf of a request). */
export function withRequestId<T>(id: string, fn: () => T): T {
  return scope.run(id, fn);
}

const SANE = /^[A-Za-z0-9._:-]{1,128}$/;

const upgrades = new WeakMap<IncomingMessage, string>();

/**
 * The request id of a WebSocket connection, from its upgrade request (the same rule as over
 * HTTP), kept for the connection's life: every graphql-ws message on it is handled under it.
 */
export function connectionRequestId(request: IncomingMessage): string {
  let id = upgrades.get(request);
  if (!id) {
    const given = request.headers['x-request-id'];
    id = typeof given === 'string' && SANE.test(given) ? given : randomUUID();
    upgrades.set(request, id);
  }
  return id;
}

/**
 * Runs `next` as part of the request's id, answered in `X-Request-Id`. With `logger` at debug
 * level, one access line per request when it ends (method, path, status, duration). Express's
 * first middleware and the plain GraphQL POST path (graphql-http.ts) both start here.
 */
export function beginRequest(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  logger: Logger | undefined,
  next: () => void,
): void {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && SANE.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  if (logger?.isLevelEnabled('debug')) {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      scope.run(id, () =>
        logger.debug(
          { method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10 },
          'request',
        ),
      );
    });
  }
  scope.run(id, next);
}

/** Express middleware, first in the chain: beginRequest. */
export function requestIdMiddleware(logger?: Logger) {
  return (req: Request, res: Response, next: NextFunction): void =>
    beginRequest(req, res, req.path, logger, next);
}
