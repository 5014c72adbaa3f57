/**
 * The API clients: urql for the app pages (HTTP POST with the current token, subscriptions
 * over graphql-ws). The playground builds its own fetcher (playground/Playground.tsx).
 *
 * Documents live in `graphql/*.graphql`; `npm run codegen` (web/codegen.ts) validates them
 * against schema/schema.graphql and generates `gql/graphql.ts`, typed documents urql's hooks
 * infer results and variables from. `npm run check` fails when that file is stale.
 */
import {
  Client,
  cacheExchange,
  fetchExchange,
  mapExchange,
  subscriptionExchange,
  type CombinedError,
  type ExecutionResult,
  type OperationContext,
} from 'urql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { bearer, endSession } from './token';

/** Same origin: the server serves this app and the API. */
export const GRAPHQL_PATH = '/graphql';

/** ws(s)://<this host>/graphql for graphql-ws. */
export function graphqlWsUrl(): string {
  const u = new URL(GRAPHQL_PATH, window.location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

/**
 * Operation context of a subscription that can resume: given each result's data, the
 * variables to send instead if the socket drops and graphql-ws subscribes again (e.g.
 * `releaseProgress`'s `after`: the last `sequence` seen), so a reconnect replays only what
 * was missed instead of everything from the start.
 */
export interface ResumableContext<D = unknown> extends Partial<OperationContext> {
  resumeWith?: (data: D) => Record<string, unknown> | null;
}

/** Whether an error says the credential sent is no good (any more): the API's code, an HTTP 401, or graphql-ws's 4401 close. */
export function isCredentialRefused(error: CombinedError): boolean {
  if (error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) return true;
  if ((error.response as { status?: number } | undefined)?.status === 401) return true;
  return (error.networkError as { code?: number } | undefined)?.code === 4401;
}

export interface ApiClient {
  client: Client;
  ws: WsClient;
  /** The credential both send. */
  token: string;
}

/**
 * One client per token, so nothing cached for one user is shown to the next; and one socket
 * per token, since graphql-ws authenticates a connection once, at connection_init (browsers
 * cannot set WebSocket headers: the token goes in connectionParams).
 */
export function createApiClient(token: string): ApiClient {
  const authorization = bearer(token);
  const headers: Record<string, string> = authorization ? { authorization } : {};
  const ws = createWsClient({
    url: graphqlWsUrl(),
    lazy: true,
    connectionParams: authorization ? { authorization } : {},
    // Live pages stay open for long: keep reconnecting (graphql-ws backs off between tries).
    retryAttempts: Number.MAX_SAFE_INTEGER,
    // Moving between live pages unsubscribes and subscribes again: keep the socket meanwhile.
    lazyCloseTimeout: 5_000,
  });
  const client = new Client({
    url: GRAPHQL_PATH,
    exchanges: [
      // A stored credential the API refuses (session over, token revoked) is dropped with a
      // notice, whichever page noticed first. Signed out, UNAUTHENTICATED is no news.
      ...(token
        ? [
            mapExchange({
              onError: (error) => void (isCredentialRefused(error) && endSession(token)),
            }),
          ]
        : []),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request, operation) {
          const resumeWith = (operation.context as ResumableContext).resumeWith;
          // graphql-ws re-sends this same payload object when it subscribes again after a
          // reconnect: updating its variables is what makes that subscribe resume.
          const payload = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(payload, {
                next(result) {
                  const resume = resumeWith && result.data ? resumeWith(result.data) : null;
                  if (resume) payload.variables = { ...payload.variables, ...resume };
                  sink.next(result as ExecutionResult);
                },
                error: (e) => sink.error(e),
                complete: () => sink.complete(),
              });
              return { unsubscribe };
            },
          };
        },
      }),
    ],
    // POST for queries too: documents stay out of URLs and access logs (GET works as well, ADR 0014).
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetchOptions: () => ({ headers }),
  });
  return { client, ws, token };
}
