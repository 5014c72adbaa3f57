/**
 * Where a graphql-ws connection's credential is read from. The documented place is the
 * `connection_init` payload's `authorization` key; clients and their examples also use other
 * spellings, which used to be ignored in silence (the socket was anonymous and every
 * operation answered "Sign in first"). In order, the first one present wins:
 *
 * 1. a top-level payload key named `authorization` in any case (`Authorization`);
 * 2. the same key inside a `headers` object of the payload (Apollo's `GraphQLWsLink` examples);
 * 3. the upgrade request's `Authorization` header, only when the upgrade has no `Origin`:
 *    CLI and server clients can set it and send no `Origin`; a browser always sends one, and
 *    a header attached to a browser's request by something else (an SSO proxy turning a cookie
 *    into a bearer token) must not authenticate a socket any web page can open (WebSockets
 *    have no CORS).
 *
 * A value that is present but not a string is an error, not "anonymous".
 */
import type { IncomingMessage } from 'node:http';

export type WsAuthorization = { value: string | undefined } | { error: string };

function keyOf(obj: unknown): unknown {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
  for (const [k, v] of Object.entries(obj as Record<string, unknown>))
    if (k.toLowerCase() === 'authorization') return v ?? undefined;
  return undefined;
}

export function wsAuthorization(
  params: Readonly<Record<string, unknown>> | undefined,
  request: IncomingMessage | undefined,
): WsAuthorization {
  const found = keyOf(params) ?? keyOf(params?.headers);
  if (found !== undefined) {
    if (typeof found !== 'string')
      return { error: 'connection_init: "authorization" must be a string: "Bearer <token>".' };
    return { value: found };
  }
  if (request?.headers.origin !== undefined) return { value: undefined };
  const header = request?.headers.authorization;
  return { value: typeof header === 'string' && header !== '' ? header : undefined };
}
