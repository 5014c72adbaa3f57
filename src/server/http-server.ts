/**
 * HTTP wiring: Express 5 + Apollo Server on POST/GET /graphql, graphql-ws on the same path,
 * /healthz and /readyz, a request-body limit, and graceful shutdown.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { ApolloServer } from '@apollo/server';
import { compiledGateway } from './compiled-execution.js';
import {
  answerGraphQL,
  BAD_JSON,
  isPlainGraphQLPost,
  servePlainGraphQLPost,
  type GraphQLHttp,
} from './graphql-http.js';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { WebSocketServer, type WebSocket } from 'ws';
import { CredentialWatch, type CredentialWatchOptions } from './ws-credential-watch.js';
import {
  nextFrameKey,
  sendSharedNext,
  sharedNextPayload,
  useFanoutServer,
} from './ws-transport.js';
import { directDeliveryOf } from '../pubsub/index.js';
import { isSharedResult, sharedSubscribe } from './ws-shared-execution.js';
import {
  GraphQLError,
  OperationTypeNode,
  getOperationAST,
  specifiedRules,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import type { Platform } from './platform.js';
import { buildContext, viewerFromHeader } from './context.js';
import { requestIdMiddleware } from './request-id.js';
import { traceRequests, tracingPlugin } from './tracing.js';
import { makeFormatError } from './format-error.js';
import { costWithVariables, limitRules, resolveLimits, type QueryLimits } from './limits.js';
import { prepareWsOperation } from './ws-operation.js';
import { wsAuthorization } from './ws-authorization.js';
import { WsSocketGuard } from './ws-socket-guard.js';
import { serveMetrics } from './metrics.js';
import { loadWebApp, mountWebApp, playgroundPage, sendPage } from './playground.js';
import type { GraphQLContext } from '../resolvers/context.type.js';
import type { Viewer } from '../domain/people/viewer.js';
import { checkReadiness } from './readiness.js';
import { auditMutationRoots, auditPlugin } from '../resolvers/audit.plugin.js';
import { malformedTextError } from './input-text.js';
import { legacyJsonStatusPlugin } from './response-status.js';

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
  /** This socket's operations, for metrics (name, start, whether it is a live subscription). */
  wsOps?: Map<string, WsOp>;
  [k: string]: unknown;
};

interface WsOp {
  name: string;
  start: bigint;
  live: boolean;
  /** The user whose per-user count this operation holds, until it completes or its socket closes. */
  user?: number;
}

const wsOps = (extra: WsExtra): Map<string, WsOp> => (extra.wsOps ??= new Map<string, WsOp>());
/** A GraphQL error's `extensions.code`, or `fallback` when it has none (or not a string). */
const errorCode = (e: GraphQLError, fallback: string): string => {
  const code = e.extensions?.code;
  return typeof code === 'string' ? code : fallback;
};
const isAsyncIterableResult = (r: unknown): boolean =>
  typeof r === 'object' && r !== null && Symbol.asyncIterator in r;
/** The name a refused document declares for its first operation, read without parsing it. */
const declaredName = (query: unknown): string | undefined =>
  typeof query === 'string'
    ? /^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(
        query.slice(0, 200),
      )?.[1]
    : undefined;
/** The operation's name as declared in the document (64 characters at most), or `anonymous`. */
function wsOperationName(
  requested: string | null | undefined,
  args: { document: DocumentNode; operationName?: string | null } | null,
): string {
  const op = args ? getOperationAST(args.document, args.operationName ?? undefined) : null;
  return (op?.name?.value ?? (args ? 'anonymous' : requested || 'unparsed')).slice(0, 64);
}

export async function startHttpServer(
  platform: Platform,
  schema: GraphQLSchema,
  opts: HttpServerOptions,
): Promise<RunningServer> {
  const { logger, config } = platform;
  // The audit plugin's view of Mutation root fields, without Apollo's per-field instrumentation.
  auditMutationRoots(schema);
  const app = express();
  app.disable('x-powered-by');
  // First: every later handler and log line runs inside the request's id (request-id.ts).
  app.use(requestIdMiddleware(logger));
  app.use(traceRequests);
  // Which X-Forwarded-For to believe: sign-in throttling keys on req.ip (PHANTOM_TRUST_PROXY).
  app.set('trust proxy', config.trustProxy);
  // The plain GraphQL POST is answered without Express once Apollo has started (graphql-http.ts).
  const route: { plainPost?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  const httpServer = createServer((req, res) => {
    if (route.plainPost && isPlainGraphQLPost(req, config.maxBodyBytes)) route.plainPost(req, res);
    else void app(req, res);
  });
  const formatError = makeFormatError(logger);
  const limits = resolveLimits(opts.limits);
  const rules = [...specifiedRules, ...limitRules(limits)];
  // The built web app (web/dist), or null: then browsers get the built-in playground page.
  const web = loadWebApp();

  const wsServer = new WebSocketServer({
    server: httpServer,
    path: '/graphql',
    maxPayload: config.maxBodyBytes,
  });
  // Registered before useServer's own 'connection' listener, so it runs first.
  const socketGuard = new WsSocketGuard({
    maxSocketsPerClient: config.wsMaxSocketsPerClient,
    idleTimeoutMs: config.wsIdleTimeoutMs,
  });
  wsServer.on('connection', (socket, request) => socketGuard.admit(socket, request));
  // Operations at once per user over all its sockets on this process: a bound the per-socket
  // one does not give (sockets are bounded per client address, and addresses are many).
  const userOps = new Map<number, number>();
  const releaseUserOp = (op: WsOp): void => {
    if (op.user === undefined) return;
    const n = (userOps.get(op.user) ?? 1) - 1;
    if (n > 0) userOps.set(op.user, n);
    else userOps.delete(op.user);
    op.user = undefined;
  };
  const revokedPayload = (): ExecutionResult =>
    ({
      errors: [
        formatError(
          {
            message: 'Your credential was revoked or expired; sign in again.',
            extensions: { code: 'UNAUTHENTICATED' },
          },
          new GraphQLError('revoked'),
        ),
      ],
    }) as unknown as ExecutionResult;
  const nextPayload = (result: ExecutionResult): ExecutionResult => {
    if (!('errors' in result) || !result.errors?.length)
      return isSharedResult(result) ? sharedNextPayload(result) : result;
    return {
      ...result,
      errors: result.errors.map((e) => formatError(e.toJSON(), e)),
    } as unknown as ExecutionResult;
  };
  /**
   * Direct delivery for a live operation that offers it (`platformEvents`: DIRECT_DELIVERY in
   * src/pubsub/bus.ts): while the subscriber keeps up, each shared result goes from the feed
   * to the socket as the frame graphql-ws would send after `onNext` below (counted the same,
   * the credential's fresh check required), without graphql-ws's per-subscription loop;
   * anything else (a credential to re-check, a backed-up socket) takes that loop.
   */
  const deliverDirectly = (
    ctx: { extra: WsExtra },
    id: string,
    opName: string,
    result: unknown,
  ): void => {
    const offer = directDeliveryOf<ExecutionResult>(result);
    const socket = ctx.extra.socket;
    if (!offer || !socket) return;
    const frameKey = nextFrameKey(id);
    offer((r) => {
      const watch = ctx.extra.credentialWatch;
      if (watch && watch.validNow() !== true) return false;
      if (!sendSharedNext(socket, frameKey, r)) return false;
      platform.metrics.countWsMessage(opName);
      return true;
    });
  };
  // graphql-ws's useServer with a send path for fan-out (ws-transport.ts).
  const wsCleanup = useFanoutServer<Record<string, unknown>, WsExtra>(
    {
      schema,
      // graphql-js's subscribe, sharing each event's execution among the subscribers of one selection (ws-shared-execution.ts).
      subscribe: sharedSubscribe,
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        if (socket) {
          socketGuard.attach(socket, () => Object.keys(ctx.subscriptions).length);
          // A closed socket gives its operations' places back at once (graphql-ws completes
          // them afterwards; the metrics still count down there).
          const extra = ctx.extra;
          socket.once('close', () => {
            for (const op of wsOps(extra).values()) releaseUserOp(op);
          });
        }
        const auth = wsAuthorization(ctx.connectionParams, ctx.extra.request);
        try {
          if ('error' in auth)
            throw new GraphQLError(auth.error, { extensions: { code: 'BAD_USER_INPUT' } });
          const header = auth.value;
          ctx.extra.viewer = await viewerFromHeader(platform, header);
          if (ctx.extra.viewer && header !== undefined && ctx.extra.socket) {
            ctx.extra.credentialWatch = new CredentialWatch(
              platform,
              header,
              ctx.extra.viewer,
              ctx.extra.socket,
              opts.credentialWatch,
            );
          }
          return true;
        } catch (e) {
          const msg = e instanceof GraphQLError ? e.message : 'Unauthorized';
          // 4401 like graphql-ws's own "Unauthorized"; the reason tells the client what to fix.
          ctx.extra.socket?.close(4401, msg.slice(0, 120));
          return false;
        }
      },
      // Parsing, limits, validation, mutation refusal (mutations only over HTTP, where the audit
      // plugin records them) and variables, all here: see ws-operation.ts for why.
      onSubscribe: (ctx, id, payload) => {
        if (ctx.extra.socket) socketGuard.touch(ctx.extra.socket);
        // Each live operation holds memory and a share of every event's fan-out: a bound per
        // socket, refused per id, the socket kept. graphql-ws registers an id (this one
        // included) before this hook and drops it as soon as the client completes it.
        // Counted, timed and logged as the other refusals below.
        const tooMany = (message: string) => {
          platform.metrics.countErrors(['TOO_MANY_SUBSCRIPTIONS']);
          const name = wsOperationName(payload.operationName ?? declaredName(payload.query), null);
          platform.metrics.observeOperation(name, 'subscription', 'TOO_MANY_SUBSCRIPTIONS', 0);
          if (logger.isLevelEnabled('debug'))
            logger.debug({ op: name, id, result: 'TOO_MANY_SUBSCRIPTIONS' }, 'ws operation');
          return [new GraphQLError(message, { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } })];
        };
        if (Object.keys(ctx.subscriptions).length > config.wsMaxSubscriptionsPerSocket)
          return tooMany(
            `Too many operations on this socket (limit ${config.wsMaxSubscriptionsPerSocket}): complete one first, or open another socket.`,
          );
        const user = ctx.extra.viewer?.userId;
        if (user !== undefined && (userOps.get(user) ?? 0) >= config.wsMaxSubscriptionsPerUser)
          return tooMany(
            `Too many operations of this user on this server (limit ${config.wsMaxSubscriptionsPerUser}, over all its sockets): complete some first.`,
          );
        const prepared = prepareWsOperation(schema, rules, payload, limits);
        if (Array.isArray(prepared)) {
          // Array.isArray narrows to any[]: the errors are prepareWsOperation's GraphQLErrors.
          const codes = prepared.map((e) =>
            errorCode(e as GraphQLError, 'GRAPHQL_VALIDATION_FAILED'),
          );
          platform.metrics.countErrors(codes);
          const name = wsOperationName(payload.operationName ?? declaredName(payload.query), null);
          platform.metrics.observeOperation(name, 'subscription', codes[0] ?? 'unknown', 0);
          if (logger.isLevelEnabled('debug'))
            logger.debug({ op: name, id, result: codes[0] ?? 'unknown' }, 'ws operation');
        } else {
          if (user !== undefined) userOps.set(user, (userOps.get(user) ?? 0) + 1);
          wsOps(ctx.extra).set(id, {
            name: wsOperationName(payload.operationName, prepared as ExecutionArgs),
            start: process.hrtime.bigint(),
            live: false,
            user,
          });
        }
        return prepared;
      },
      // The operation is set up (subscribed, replay started) or answered: time it; count it live.
      onOperation: (ctx, id, _payload, _args, result) => {
        const op = wsOps(ctx.extra).get(id);
        if (!op) return;
        const live = isAsyncIterableResult(result);
        const codes = live
          ? []
          : ((result as { errors?: readonly GraphQLError[] }).errors ?? []).map((e) =>
              errorCode(e, 'INTERNAL_SERVER_ERROR'),
            );
        platform.metrics.countErrors(codes);
        const seconds = Number(process.hrtime.bigint() - op.start) / 1e9;
        platform.metrics.observeOperation(op.name, 'subscription', codes[0] ?? 'ok', seconds);
        // As the HTTP access line: under the connection's request id (ws-transport.ts).
        if (logger.isLevelEnabled('debug'))
          logger.debug(
            { op: op.name, id, result: codes[0] ?? 'ok', ms: Math.round(seconds * 1e4) / 10 },
            'ws operation',
          );
        if (live) {
          op.live = true;
          platform.metrics.subscriptionDelta(op.name, 1);
          if (config.wsDirectDelivery) deliverDirectly(ctx, id, op.name, result);
        }
      },
      onComplete: (ctx, id) => {
        if (ctx.extra.socket) socketGuard.touch(ctx.extra.socket);
        const op = wsOps(ctx.extra).get(id);
        wsOps(ctx.extra).delete(id);
        if (op) releaseUserOp(op);
        if (op?.live) platform.metrics.subscriptionDelta(op.name, -1);
      },
      context: (ctx) =>
        buildContext(
          platform,
          ctx.extra.viewer ?? null,
          (ctx.extra.request as { socket?: { remoteAddress?: string } } | undefined)?.socket
            ?.remoteAddress ?? null,
        ),
      // graphql-ws does not run Apollo's formatError: apply the same mapping to its results.
      // Synchronous while the credential's last check is fresh (no promise per event and
      // subscriber); a shared result goes out as ws-transport.ts's marker, serialized once.
      onNext: (ctx, id, _payload, _args, result) => {
        const op = ctx.extra.wsOps?.get(id);
        if (op) platform.metrics.countWsMessage(op.name);
        const watch = ctx.extra.credentialWatch;
        const now = watch ? watch.validNow() : true;
        if (now === true) return nextPayload(result);
        // The event is withheld; the socket closes with 4401 right after this message.
        if (now === false) return revokedPayload();
        return watch!.stillValid().then((ok) => (ok ? nextPayload(result) : revokedPayload()));
      },
      onError: (_ctx, _id, _payload, errors) =>
        errors.map((e) => {
          const f = formatError(e.toJSON(), e);
          return new GraphQLError(f.message, { extensions: f.extensions });
        }),
    },
    wsServer,
  );

  const apollo = new ApolloServer<GraphQLContext>({
    // Compiled execution from a document's n-th run (compiled-execution.ts); else Apollo's own.
    ...(config.graphqlJitAfter > 0
      ? { gateway: compiledGateway(schema, config.graphqlJitAfter) }
      : { schema }),
    validationRules: limitRules(limits),
    formatError,
    includeStacktraceInErrorResponses: false,
    // Apollo turns introspection off under NODE_ENV=production (what `npm start` sets): the
    // playground, codegen and other GraphQL clients need it, and the schema is public
    // (`schema/`). Its depth and size stay bounded by the limits above.
    introspection: true,
    // Compact JSON (Apollo pretty-prints by default: larger bodies, slower to write).
    stringifyResult: (value) => JSON.stringify(value),
    allowBatchedHttpRequests: false,
    // Credentials come only from the Authorization header (no cookies), which a cross-site
    // request cannot carry: Apollo's CSRF check protected nothing and refused plain GET queries,
    // which the GraphQL-over-HTTP spec allows (docs/adr/0014-graphql-over-http.md).
    csrfPrevention: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      platform.metrics.apolloPlugin(),
      tracingPlugin(),
      ApolloServerPluginLandingPageDisabled(),
      // No cache hints are used: without this, Apollo's cache-control plugin runs a hook on every field.
      ApolloServerPluginCacheControlDisabled(),
      // 200 for request errors answered as application/json, as the spec asks.
      legacyJsonStatusPlugin<GraphQLContext>(),
      auditPlugin({
        em: () => platform.orm.em.fork(),
        // Loud on purpose: a mutation whose entry is missing is an audit gap someone must look at.
        onError: (err, entry) =>
          logger.error(
            { err, audit: entry },
            entry
              ? 'AUDIT ENTRY NOT WRITTEN: a mutation is missing from the audit log'
              : 'audit plugin failed',
          ),
      }),
      {
        // A mutation's answer must show its own writes: its loaders read the primary.
        requestDidStart() {
          return Promise.resolve({
            didResolveOperation({ operation, contextValue, document, request }) {
              // Before anything runs: text that cannot be stored as it came is refused (input-text.ts).
              const malformed = malformedTextError(document, request.variables);
              if (malformed) return Promise.reject(malformed);
              const tooCostly = costWithVariables(schema, document, request.variables, limits);
              if (tooCostly) return Promise.reject(tooCostly);
              // Apollo would run it as a query and fail on the stream it returns (a 500):
              // subscriptions are graphql-ws's, on this same path.
              if (operation?.operation === OperationTypeNode.SUBSCRIPTION)
                return Promise.reject(
                  new GraphQLError(
                    'Subscriptions are served over WebSocket (graphql-ws, subprotocol graphql-transport-ws) on this path, not over HTTP.',
                    { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } },
                  ),
                );
              if (operation?.operation === OperationTypeNode.MUTATION)
                contextValue.reads.primary = true;
              return Promise.resolve();
            },
          });
        },
      },
      {
        serverWillStart() {
          return Promise.resolve({
            async drainServer() {
              await wsCleanup.dispose();
            },
          });
        },
      },
    ],
  });
  await apollo.start();

  platform.metrics.watchSockets(wsServer);
  app.get('/metrics', (req, res, next) => {
    serveMetrics(platform.metrics, config.metricsToken, req, res).catch(next);
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const r = await checkReadiness(platform);
    res
      .status(r.ok ? 200 : 503)
      .json(
        r.ok
          ? { status: 'ready', checks: r.checks }
          : { status: 'unavailable', checks: r.checks, failed: r.failed },
      );
  });

  // A browser opening /graphql gets the playground; API clients get GraphQL.
  app.get('/graphql', (req, res, next) => {
    if (
      req.accepts(['application/json', 'application/graphql-response+json', 'text/html']) ===
        'text/html' &&
      !req.query.query
    ) {
      sendPage(res, playgroundPage(web), web);
      return;
    }
    next();
  });

  const graphql: GraphQLHttp = { apollo, platform, limits };
  // Which X-Forwarded-For to believe, as Express's req.ip (PHANTOM_TRUST_PROXY).
  const trust = app.get('trust proxy fn') as (addr: string, i: number) => boolean;
  route.plainPost = (req, res) =>
    servePlainGraphQLPost(graphql, logger, (r) => proxyaddr(r, trust) ?? null, req, res);
  app.use(
    '/graphql',
    express.json({ limit: config.maxBodyBytes }),
    (req: Request, res: Response, next: NextFunction) => {
      answerGraphQL(
        graphql,
        req,
        res,
        req.body,
        req.method === 'GET'
          ? req.query.query
          : (req.body as { query?: unknown } | undefined)?.query,
        req.ip ?? req.socket.remoteAddress ?? null,
        // Express's send: an ETag, and 304 for a GET whose answer the client already has.
        (r, status, text) => (r as Response).status(status).send(text),
      ).catch(next);
    },
  );
  opts.mount?.(app);
  // Last: the web app's files and its SPA fallback catch what no route above answered.
  mountWebApp(app, web);

  // Body-parser errors (too large, bad JSON) answered in GraphQL's error shape with a stable code.
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (!err) return next();
    // body-parser's errors carry a `type`.
    const type = typeof err === 'object' && 'type' in err ? err.type : undefined;
    if (type === 'entity.too.large') {
      res.status(413).json({
        errors: [
          {
            message: `Request body is larger than ${config.maxBodyBytes} bytes.`,
            extensions: { code: 'PAYLOAD_TOO_LARGE' },
          },
        ],
      });
      return;
    }
    if (type === 'entity.parse.failed') {
      // The same answer as the plain POST path's (graphql-http.ts).
      res.status(400).json(BAD_JSON);
      return;
    }
    logger.error({ err }, 'http error');
    res.status(500).json({
      errors: [
        { message: 'Internal server error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } },
      ],
    });
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
