/**
 * The API clients: urql for the app pages (HTTP POST with the current token).
 * The playground builds its own fetcher (playground/Playground.tsx).
 */
import { Client, cacheExchange, fetchExchange } from 'urql';
import { bearer } from './token';

/** Same origin: the server serves this app and the API. */
export const GRAPHQL_PATH = '/graphql';

/** ws(s)://<this host>/graphql for graphql-ws. */
export function graphqlWsUrl(): string {
  const u = new URL(GRAPHQL_PATH, window.location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

/** One client per token, so nothing cached for one user is shown to the next. */
export function createApiClient(token: string): Client {
  const authorization = bearer(token);
  const headers: Record<string, string> = authorization ? { authorization } : {};
  return new Client({
    url: GRAPHQL_PATH,
    exchanges: [cacheExchange, fetchExchange],
    // Apollo's CSRF prevention refuses urql's default GET queries (no preflight-forcing header).
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetchOptions: () => ({ headers }),
  });
}
