/**
 * GraphiQL, bundled (no CDN): loaded as its own chunk, only on /graphql and /playground.
 * Queries and mutations go over HTTP with `Authorization: Bearer <token>`; subscriptions go
 * over graphql-ws with `{ authorization }` in connectionParams, since browsers cannot set
 * WebSocket headers and GraphiQL's Headers tab is not forwarded over WS.
 */
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import { useEffect, useMemo } from 'react';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';
import { GRAPHQL_PATH, graphqlWsUrl } from '../api';
import { bearer, getToken, useToken } from '../token';

const DEFAULT_QUERY = `# Phantom GraphQL playground. Set your token in the header above.
query {
  viewer { username isAdmin }
  apps(first: 10) {
    totalCount
    edges { node { name kind members { user { username } role } } }
  }
}
`;

export default function Playground() {
  const token = useToken();
  // A new socket per token: a graphql-ws connection is authenticated once, at connection_init.
  const wsClient = useMemo(
    () =>
      createClient({
        url: graphqlWsUrl(),
        lazy: true,
        // A function, so a reconnect reads the token current at that time.
        connectionParams: () => {
          const authorization = bearer(getToken());
          return authorization ? { authorization } : {};
        },
      }),
    [token],
  );
  useEffect(() => () => void wsClient.dispose(), [wsClient]);

  const fetcher = useMemo(() => {
    const authorization = bearer(token);
    return createGraphiQLFetcher({
      url: new URL(GRAPHQL_PATH, window.location.href).toString(),
      wsClient,
      // Headers typed in GraphiQL's Headers tab are merged over these.
      headers: authorization ? { authorization } : {},
    });
  }, [token, wsClient]);

  return (
    <div className="playground">
      <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} />
    </div>
  );
}
