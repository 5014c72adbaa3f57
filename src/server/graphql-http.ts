/**
 * GraphQL over HTTP, one handler for both ways in (issue 9, P1):
 *
 * - the plain POST — `POST /graphql`, `Content-Type: application/json` (charset absent or
 *   UTF-8), a `Content-Length` within the body limit, no `Content-Encoding`: nearly every
 *   API call — is answered straight from node's `http` server, without Express's router,
 *   body-parser and response helpers (~a tenth of a request's CPU in the P1 profile);
 * - everything else on `/graphql` (GET, chunked or compressed bodies, other types, too
 *   large) goes through Express and body-parser as before and ends in the same handler.
 *
 * Both apply the same steps: request id and trace span, the document bounds before Apollo,
 * the SQL counter of the request, Apollo's `executeHTTPGraphQLRequest` with the same
 * context, and the same answers for a malformed JSON body (400 BAD_REQUEST).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import type { Platform } from './platform.js';
import type { GraphQLContext } from '../resolvers/context.type.js';
import { buildContext, viewerFromHeader } from './context.js';
import { documentBoundsError, type QueryLimits } from './limits.js';
import { APPLICATION_JSON, requestErrorStatus, responseMediaType } from './response-status.js';
import { sqlScope } from '../db/sql-scope.js';
import { beginRequest } from './request-id.js';
import { traceHttp } from './tracing.js';
import type { Logger } from './logger.js';

export interface GraphQLHttp {
  apollo: ApolloServer<GraphQLContext>;
  platform: Platform;
  limits: QueryLimits;
  /** Documents already found within the bounds (see {@link withinBounds}). */
  accepted?: Set<string>;
}

/** Documents remembered as within bounds, and the longest one remembered (≤ 2 MB in all). */
const ACCEPTED_MAX = 512;
const ACCEPTED_MAX_LENGTH = 4096;

/**
 * The bounds refusal of `query`, or null. The bounds depend on the text alone, and clients
 * send the same few documents again and again: a document found within them is remembered
 * (a bounded set, emptied when full), so it is not parsed once more before Apollo's own
 * (cached) parse.
 */
function boundsError(h: GraphQLHttp, query: unknown): GraphQLError | null {
  const short = typeof query === 'string' && query.length <= ACCEPTED_MAX_LENGTH;
  if (short && h.accepted?.has(query)) return null;
  const refused = documentBoundsError(query, h.limits);
  if (!refused && short) {
    h.accepted ??= new Set();
    if (h.accepted.size >= ACCEPTED_MAX) h.accepted.clear();
    h.accepted.add(query);
  }
  return refused;
}

/** How a complete answer is written: Express's `res.send` on its path, a plain `end` here. */
export type SendText = (res: ServerResponse, status: number, text: string) => void;

const JSON_UTF8 = /^\s*application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/** True for the plain POST answered without Express (see above). */
export function isPlainGraphQLPost(req: IncomingMessage, maxBodyBytes: number): boolean {
  if (req.method !== 'POST') return false;
  const url = req.url ?? '';
  if (url !== '/graphql' && !url.startsWith('/graphql?')) return false;
  const length = req.headers['content-length'];
  if (length === undefined || !/^[0-9]{1,15}$/.test(length)) return false;
  const n = Number(length);
  if (n === 0 || n > maxBodyBytes) return false;
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  const type = req.headers['content-type'];
  return type !== undefined && JSON_UTF8.test(type);
}

/** A JSON answer outside Apollo (bounds, malformed body, internal error), as Express wrote them. */
export function sendJson(res: ServerResponse, status: number, value: unknown, type?: string): void {
  const text = JSON.stringify(value);
  res.statusCode = status;
  const media = type ?? APPLICATION_JSON;
  res.setHeader('Content-Type', /;\s*charset=/i.test(media) ? media : `${media}; charset=utf-8`);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

export const BAD_JSON = {
  errors: [{ message: 'Request body is not valid JSON.', extensions: { code: 'BAD_REQUEST' } }],
};

/** Writes a complete answer with its length (no ETag: POST answers are not cached). */
export const endText: SendText = (res, status, text) => {
  res.statusCode = status;
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
};

/**
 * Answers one GraphQL request: the document bounds (token and selection counts, refused
 * before Apollo: its validation is the costly step for a hostile document), then Apollo
 * under the request's SQL counter. `query` is the document as sent (body or query string).
 */
export async function answerGraphQL(
  h: GraphQLHttp,
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  query: unknown,
  clientAddress: string | null,
  send: SendText,
): Promise<void> {
  const refused = boundsError(h, query);
  if (refused) {
    // Status and media type as Apollo would answer the same error (response-status.ts).
    sendJson(
      res,
      requestErrorStatus(req.headers.accept),
      { errors: [{ message: refused.message, extensions: { code: refused.extensions.code } }] },
      responseMediaType(req.headers.accept) ?? APPLICATION_JSON,
    );
    return;
  }
  const scope = { queries: 0 };
  res.on('finish', () => {
    h.platform.sqlStats.lastRequestQueries = scope.queries;
  });
  await sqlScope.run(scope, async () => {
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers))
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const answer = await h.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: (req.method ?? 'GET').toUpperCase(),
        headers,
        search: q < 0 ? '' : url.slice(q),
        body,
      },
      context: async () =>
        buildContext(
          h.platform,
          await viewerFromHeader(h.platform, req.headers.authorization),
          clientAddress,
        ),
    });
    for (const [key, value] of answer.headers) res.setHeader(key, value);
    const status = answer.status ?? 200;
    if (answer.body.kind === 'complete') {
      send(res, status, answer.body.string);
      return;
    }
    res.statusCode = status;
    for await (const chunk of answer.body.asyncIterator) res.write(chunk);
    res.end();
  });
}

/**
 * The plain POST path: the body read whole (its length is known and within the limit), then
 * request id and span, the body parsed as body-parser's strict JSON would (an object or
 * array, a BOM dropped), then answerGraphQL.
 */
export function servePlainGraphQLPost(
  h: GraphQLHttp,
  logger: Logger,
  clientAddress: (req: IncomingMessage) => string | null,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  // A client that goes away mid-body: nothing to answer.
  req.once('error', () => res.destroy());
  // The request's id and span begin once the body is in, so its async context covers the rest.
  req.once('end', () =>
    beginRequest(req, res, '/graphql', logger, () =>
      traceHttp(req, res, '/graphql', () => {
        let text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8');
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        let body: unknown;
        try {
          const first = /^[ \t\n\r]*(.)/.exec(text)?.[1];
          if (first !== '{' && first !== '[') throw new SyntaxError('not an object or array');
          body = JSON.parse(text);
        } catch {
          sendJson(res, 400, BAD_JSON);
          return;
        }
        answerGraphQL(
          h,
          req,
          res,
          body,
          (body as { query?: unknown }).query,
          clientAddress(req),
          endText,
        ).catch((err: unknown) => {
          logger.error({ err }, 'http error');
          if (res.headersSent) res.destroy();
          else
            sendJson(res, 500, {
              errors: [
                {
                  message: 'Internal server error.',
                  extensions: { code: 'INTERNAL_SERVER_ERROR' },
                },
              ],
            });
        });
      }),
    ),
  );
}
