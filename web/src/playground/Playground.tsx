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
import { createGraphiQLFetcher, type Fetcher } from '@graphiql/toolkit';
import { parse } from 'graphql';
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
    const fetcher = createGraphiQLFetcher({
      url: new URL(GRAPHQL_PATH, window.location.href).toString(),
      wsClient,
      // Headers typed in GraphiQL's Headers tab are merged over these.
      headers: authorization ? { authorization } : {},
    });
    // The fetcher sends subscriptions over WS when `documentAST` says so, but GraphiQL
    // re-parses the editor after a debounce: run right after typing and the AST is the
    // previous operation's, so a subscription went over HTTP. Parse what is actually sent.
    const withCurrentAst: Fetcher = (params, opts) => {
      let documentAST = opts?.documentAST;
      try {
        documentAST = parse(params.query);
      } catch {
        // Not parseable: the server answers with GRAPHQL_PARSE_FAILED over HTTP.
      }
      return fetcher(params, { ...opts, documentAST });
    };
    return withCurrentAst;
  }, [token, wsClient]);

  return (
    <div className="playground">
      <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} />
    </div>
  );
}
