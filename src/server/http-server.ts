/**
 * HTTP wiring: Express 5 + Apollo Server on POST/GET /graphql, graphql-ws on the same path,
 * /healthz and /readyz, a request-body limit, and graceful shutdown.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { WebSocketServer, type WebSocket } from 'ws';
import { CredentialWatch, type CredentialWatchOptions } from './ws-credential-watch.js';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLError, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Platform } from './platform.js';
import { buildContext, viewerFromHeader } from './context.js';
import { makeFormatError } from './format-error.js';
import { DEFAULT_LIMITS, costOfQuery, costWithVariables, limitRules, type QueryLimits } from './limits.js';
import { loadWebApp, mountWebApp, playgroundPage } from './playground.js';
import type { GraphQLContext } from '../resolvers/context.type.js';
import type { Viewer } from '../domain/people/viewer.js';
import { sqlScope } from '../db/sql-scope.js';
import { auditPlugin, refuseWebSocketMutation } from '../resolvers/audit.plugin.js';
import { malformedTextError } from './input-text.js';

export interface HttpServerOptions {
  port: number;
  host: string;
  limits?: QueryLimits;
  /** How often live WebSockets re-check their credential (see ws-credential-watch.ts). */
  credentialWatch?: CredentialWatchOptions;
  /** Extra routes (e.g. the web UI) mounted before the SPA fallback. */
  mount?: (app: express.Express) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  httpServer: Server;
  /** Stops accepting, lets in-flight requests finish, closes subscriptions. */
  close(): Promise<void>;
}

type WsExtra = {
  viewer?: Viewer | null;
  credentialWatch?: CredentialWatch;
  socket?: WebSocket;
  [k: string]: unknown;
};

/** {@link malformedTextError} for a graphql-ws subscribe payload; syntax errors are left to graphql-ws. */
function malformedTextOf(query: string, variables: Record<string, unknown> | null | undefined): GraphQLError | null {
  let doc: DocumentNode;
  try {
    doc = parse(query);
  } catch {
    return null;
  }
  const e = malformedTextError(doc, variables);
  // graphql-ws has no HTTP status: send the code and the field only.
  return e && new GraphQLError(e.message, { extensions: { code: e.extensions.code, field: e.extensions.field } });
}

export async function startHttpServer(platform: Platform, schema: GraphQLSchema, opts: HttpServerOptions): Promise<RunningServer> {
  const { logger, config } = platform;
  const app = express();
  app.disable('x-powered-by');
  // Which X-Forwarded-For to believe: sign-in throttling keys on req.ip (PHANTOM_TRUST_PROXY).
  app.set('trust proxy', config.trustProxy);
  const httpServer = createServer(app);
  const formatError = makeFormatError(logger);
  const rules = [...specifiedRules, ...limitRules(opts.limits ?? DEFAULT_LIMITS)];
  // The built web app (web/dist), or null: then browsers get the built-in playground page.
  const web = loadWebApp();

  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: config.maxBodyBytes });
  const wsCleanup = useServer<Record<string, unknown>, WsExtra>(
    {
      schema,
      validate: (s, doc) => validate(s, doc, rules),
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization;
        try {
          ctx.extra.viewer = await viewerFromHeader(platform, typeof header === 'string' ? header : undefined);
          if (ctx.extra.viewer && typeof header === 'string' && ctx.extra.socket) {
            ctx.extra.credentialWatch = new CredentialWatch(platform, header, ctx.extra.viewer, ctx.extra.socket, opts.credentialWatch);
          }
          return true;
        } catch (e) {
          const msg = e instanceof GraphQLError ? e.message : 'Unauthorized';
          // 4401 like graphql-ws's own "Unauthorized"; the reason tells the client what to fix.
          (ctx.extra as any).socket?.close(4401, msg.slice(0, 120));
          return false;
        }
      },
      // Mutations only over HTTP, where the audit plugin records them.
      onSubscribe: (_ctx, _id, payload) => {
        const refused = refuseWebSocketMutation(payload);
        if (refused) return refused;
        const malformed = malformedTextOf(payload.query, payload.variables);
        if (malformed) return [malformed];
        const tooCostly = costOfQuery(schema, payload.query, payload.variables, opts.limits ?? DEFAULT_LIMITS);
        return tooCostly ? [tooCostly] : undefined;
      },
      context: (ctx) => buildContext(platform, ctx.extra.viewer ?? null, (ctx.extra.request as { socket?: { remoteAddress?: string } } | undefined)?.socket?.remoteAddress ?? null),
      // graphql-ws does not run Apollo's formatError: apply the same mapping to its results.
      onNext: async (ctx, _id, _payload, _args, result) => {
        if (ctx.extra.credentialWatch && !(await ctx.extra.credentialWatch.stillValid())) {
          // The event is withheld; the socket closes with 4401 right after this message.
          return { errors: [formatError({ message: 'Your credential was revoked or expired; sign in again.', extensions: { code: 'UNAUTHENTICATED' } }, new GraphQLError('revoked'))] } as unknown as typeof result;
        }
        if (!('errors' in result) || !result.errors?.length) return result;
        return { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) } as unknown as typeof result;
      },
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => {
        const f = formatError(e.toJSON(), e);
        return new GraphQLError(f.message, { extensions: f.extensions });
      }),
    },
    wsServer,
  );

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    validationRules: limitRules(opts.limits ?? DEFAULT_LIMITS),
    formatError,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      auditPlugin({
        em: () => platform.orm.em.fork(),
        // Loud on purpose: a mutation whose entry is missing is an audit gap someone must look at.
        onError: (err, entry) => logger.error({ err, audit: entry }, entry ? 'AUDIT ENTRY NOT WRITTEN: a mutation is missing from the audit log' : 'audit plugin failed'),
      }),
      {
        // A mutation's answer must show its own writes: its loaders read the primary.
        async requestDidStart() {
          return {
            async didResolveOperation({ operation, contextValue, document, request }) {
              // Before anything runs: text that cannot be stored as it came is refused (input-text.ts).
              const malformed = malformedTextError(document, request.variables);
              if (malformed) throw malformed;
              const tooCostly = costWithVariables(schema, document, request.variables, opts.limits ?? DEFAULT_LIMITS);
              if (tooCostly) throw tooCostly;
              if (operation?.operation === 'mutation') contextValue.reads.primary = true;
            },
          };
        },
      },
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await wsCleanup.dispose();
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, boolean> = {};
    try {
      await platform.orm.em.getConnection('write').execute('select 1');
      checks.database = true;
    } catch {
      checks.database = false;
    }
    checks.cache = await platform.kv.ping();
    const ok = Object.values(checks).every(Boolean);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'unavailable', checks });
  });

  // A browser opening /graphql gets the playground; API clients get GraphQL.
  app.get('/graphql', (req, res, next) => {
    if (req.accepts(['application/json', 'application/graphql-response+json', 'text/html']) === 'text/html' && !req.query.query) {
      res.type('html').set('cache-control', 'no-cache').send(playgroundPage(web));
      return;
    }
    next();
  });

  app.use(
    '/graphql',
    express.json({ limit: config.maxBodyBytes }),
    // After body parsing, so the scope wraps the whole execution (stream callbacks would lose it).
    (_req: Request, res: Response, next: NextFunction) => {
      const scope = { queries: 0 };
      res.on('finish', () => {
        platform.sqlStats.lastRequestQueries = scope.queries;
      });
      sqlScope.run(scope, next);
    },
    expressMiddleware(apollo, {
      context: async ({ req }) => buildContext(platform, await viewerFromHeader(platform, req.headers.authorization), req.ip ?? req.socket.remoteAddress ?? null),
    }),
  );
  opts.mount?.(app);
  // Last: the web app's files and its SPA fallback catch what no route above answered.
  mountWebApp(app, web);

  // Body-parser errors (too large, bad JSON) answered in GraphQL's error shape with a stable code.
  app.use((err: any, _req: Request, res: Response, next: NextFunction) => {
    if (!err) return next();
    if (err.type === 'entity.too.large') {
      res.status(413).json({ errors: [{ message: `Request body is larger than ${config.maxBodyBytes} bytes.`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
      return;
    }
    if (err.type === 'entity.parse.failed') {
      res.status(400).json({ errors: [{ message: 'Request body is not valid JSON.', extensions: { code: 'BAD_REQUEST' } }] });
      return;
    }
    logger.error({ err }, 'http error');
    res.status(500).json({ errors: [{ message: 'Internal server error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port, opts.host, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}/graphql`,
    port,
    httpServer,
    close: () => {
      closing ??= (async () => {
        // apollo.stop() runs the drain plugins: stop accepting, finish in-flight requests, close sockets.
        await apollo.stop();
        await new Promise<void>((r) => wsServer.close(() => r()));
      })();
      return closing;
    },
  };
}
