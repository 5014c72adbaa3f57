/**
 * Traces through OpenTelemetry, on when OTEL_EXPORTER_OTLP_ENDPOINT is set (OTLP over HTTP,
 * JSON, to `<endpoint>/v1/traces`), off otherwise: then the SDK is never loaded and the spans
 * below are the API's no-ops. Spans: one server span per HTTP request (continuing a W3C
 * `traceparent` from the caller), one per GraphQL operation, one per release engine run.
 * The standard OTEL_* variables (OTEL_SERVICE_NAME, OTEL_BSP_*, OTEL_TRACES_SAMPLER…) apply.
 */
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
} from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { ApolloServerPlugin } from '@apollo/server';
import { currentRequestId } from './request-id.js';

export const tracer = trace.getTracer('phantom');

export interface Tracing {
  enabled: boolean;
  /** Sends what is buffered. */
  flush(): Promise<void>;
  /** Sends what is buffered and stops. */
  shutdown(): Promise<void>;
}

let started: Promise<Tracing> | undefined;

/** Starts the SDK once per process when `endpoint` is set. */
export function startTracing(
  endpoint: string | undefined,
  serviceName = 'phantom',
): Promise<Tracing> {
  if (!endpoint)
    return Promise.resolve({ enabled: false, flush: async () => {}, shutdown: async () => {} });
  started ??= (async () => {
    const [
      { NodeTracerProvider, BatchSpanProcessor },
      { OTLPTraceExporter },
      { resourceFromAttributes },
    ] = await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({
        'service.name': process.env.OTEL_SERVICE_NAME ?? serviceName,
      }),
      spanProcessors: [
        new BatchSpanProcessor(
          new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }),
        ),
      ],
    });
    // AsyncLocalStorage context and the W3C trace-context propagator.
    provider.register();
    return {
      enabled: true,
      flush: () => provider.forceFlush(),
      shutdown: () => provider.shutdown(),
    };
  })();
  return started;
}

/** Express middleware: a server span per request, child of the caller's `traceparent` if any. */
export function traceRequests(req: Request, res: Response, next: NextFunction): void {
  traceHttp(req, res, req.path, next);
}

/** A server span around `next` for one HTTP request (a no-op unless tracing records). */
export function traceHttp(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  next: () => void,
): void {
  if (!isRecording()) return next();
  const parent = propagation.extract(context.active(), req.headers);
  const span = tracer.startSpan(
    `${req.method} ${path}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': req.method,
        'url.path': path,
        'phantom.request_id': currentRequestId() ?? '',
      },
    },
    parent,
  );
  res.once('finish', () => {
    span.setAttribute('http.response.status_code', res.statusCode);
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  context.with(trace.setSpan(parent, span), next);
}

/** Apollo plugin: a span per GraphQL operation (name, type, first error code). */
export function tracingPlugin(): ApolloServerPlugin {
  return {
    requestDidStart() {
      if (!isRecording()) return Promise.resolve();
      const span: Span = tracer.startSpan('graphql', { kind: SpanKind.INTERNAL });
      return Promise.resolve({
        didResolveOperation(rc) {
          const name = rc.operationName ?? 'anonymous';
          span.updateName(`graphql ${rc.operation?.operation ?? 'operation'} ${name}`);
          span.setAttribute('graphql.operation.name', name);
          span.setAttribute('graphql.operation.type', rc.operation?.operation ?? 'unknown');
          return Promise.resolve();
        },
        willSendResponse(rc) {
          const code = rc.errors?.[0]?.extensions?.code;
          if (code) {
            // Codes are strings (DomainError, graphql-armor, Apollo); anything else as JSON.
            const text = typeof code === 'string' ? code : JSON.stringify(code);
            span.setAttribute('graphql.error.code', text);
            span.setStatus({ code: SpanStatusCode.ERROR, message: text });
          }
          span.end();
          return Promise.resolve();
        },
      });
    },
  };
}

/** Runs `fn` in a span named `name` (the release engine's runs). */
export async function inSpan<T>(
  name: string,
  attributes: Record<string, string | number>,
  fn: () => Promise<T>,
): Promise<T> {
  if (!isRecording()) return fn();
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** True once the SDK is registered (a no-op API otherwise: nothing to do per request). */
function isRecording(): boolean {
  return started !== undefined;
}
