/**
 * The status code of a GraphQL request error, as the GraphQL-over-HTTP spec asks for the media
 * type the response is sent as (docs/adr/0014-graphql-over-http.md):
 *
 * - `application/graphql-response+json`: a request that fails before execution (syntax,
 *   validation, variables, a limit) is answered with a 4xx, here 400;
 * - `application/json` (what a client without an `Accept` header gets): the server SHOULD
 *   answer 200 to any well-formed request, its errors in the body, since a legacy client cannot
 *   tell a 4xx from an intermediary's error page.
 *
 * The media type is negotiated exactly as Apollo Server picks it (same candidates, same order),
 * so the status always goes with the `Content-Type` the response is sent with.
 */
import Negotiator from 'negotiator';
import type { ApolloServerPlugin, GraphQLRequestListener, GraphQLResponse } from '@apollo/server';

export const APPLICATION_JSON = 'application/json; charset=utf-8';
export const GRAPHQL_RESPONSE_JSON = 'application/graphql-response+json; charset=utf-8';

/** The media type Apollo answers a single result with for this `Accept` header; null when none is acceptable. */
export function responseMediaType(accept: string | undefined | null): string | null {
  if (!accept) return APPLICATION_JSON;
  return (
    new Negotiator({ headers: { accept } }).mediaType([
      APPLICATION_JSON,
      GRAPHQL_RESPONSE_JSON,
      'application/json; callbackSpec=1.0; charset=utf-8',
    ]) ?? null
  );
}

/** True when the response goes out as `application/json` (legacy): request errors are 200 then. */
export function isLegacyJson(accept: string | undefined | null): boolean {
  return responseMediaType(accept)?.startsWith('application/json') ?? false;
}

/** The status of a GraphQL request error (parse, validation, variables, a limit) for this `Accept`. */
export function requestErrorStatus(accept: string | undefined | null): 200 | 400 {
  return isLegacyJson(accept) ? 200 : 400;
}

/**
 * The codes of errors about the document or its variables: a well-formed request that GraphQL
 * refused. Any other 400 (`BAD_REQUEST`: no query, a query that is not a string, a persisted
 * query whose hash does not match, a subscription over HTTP) is a malformed request and stays
 * a 400 for every client.
 */
export const DOCUMENT_ERROR_CODES: ReadonlySet<string> = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'OPERATION_RESOLUTION_FAILURE',
  'QUERY_TOO_COMPLEX',
  'QUERY_TOO_DEEP',
  'TOO_MANY_ALIASES',
  'TOO_MANY_DIRECTIVES',
]);

function isDocumentError(body: GraphQLResponse['body']): boolean {
  if (body.kind !== 'single') return false;
  const errors = body.singleResult.errors;
  return (
    !!errors?.length &&
    errors.every((e) => {
      const code = e.extensions?.code;
      return typeof code === 'string' && DOCUMENT_ERROR_CODES.has(code);
    })
  );
}

/**
 * Apollo answers 400 to every request error whatever the media type; for `application/json`
 * the spec's 200 is restored for document errors. Only 400 is touched: 401/403/405/413/429/503
 * keep their meaning for every client (they are about the transport or the caller, not the
 * document). One listener serves every request: nothing is allocated per request.
 */
export function legacyJsonStatusPlugin<T extends object>(): ApolloServerPlugin<T> {
  const listener: GraphQLRequestListener<T> = {
    willSendResponse({ request, response }) {
      if (
        response.http.status === 400 &&
        isLegacyJson(request.http?.headers.get('accept')) &&
        isDocumentError(response.body)
      )
        response.http.status = 200;
      return Promise.resolve();
    },
  };
  const started = Promise.resolve(listener);
  return { requestDidStart: () => started };
}
