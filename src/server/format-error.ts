import type { GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { DomainError } from '../domain/shared/errors.js';
import type { Logger } from './logger.js';
import { currentRequestId } from './request-id.js';

/**
 * Maps errors to the response: domain errors keep their code, message and field; anything
 * unexpected is logged and answered as INTERNAL_SERVER_ERROR without internals.
 */
export function makeFormatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof DomainError) {
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: original.code, ...original.details },
      };
    }
    const code = formatted.extensions?.code;
    // Apollo's own refusals of a malformed request that carry a 4xx but no code (a persisted
    // query whose hash does not match, an unsupported persisted-query version): the client's
    // mistake, not an internal error to log.
    // (Apollo fills in INTERNAL_SERVER_ERROR for an error without a code before this point.)
    const own = (error as { extensions?: { code?: unknown; http?: { status?: unknown } } } | null)
      ?.extensions;
    const status = own?.http?.status;
    if (own?.code === undefined && typeof status === 'number' && status >= 400 && status < 500)
      return { message: formatted.message, extensions: { code: 'BAD_REQUEST' } };
    if (code === 'INTERNAL_SERVER_ERROR' || code === undefined) {
      logger.error({ err: original, path: formatted.path }, 'unexpected error');
      // The request id finds the log line (with the cause) for whoever reports the error.
      const requestId = currentRequestId();
      return {
        message: requestId
          ? `Internal server error (request id ${requestId}).`
          : 'Internal server error.',
        locations: formatted.locations,
        path: formatted.path,
        extensions: requestId
          ? { code: 'INTERNAL_SERVER_ERROR', requestId }
          : { code: 'INTERNAL_SERVER_ERROR' },
      };
    }
    const { stacktrace: _drop, limitCode, ...extensions } = formatted.extensions ?? {};
    if (typeof limitCode === 'string') extensions.code = limitCode;
    return { ...formatted, extensions };
  };
}
