/**
 * Issue 9, observability: OpenTelemetry traces when OTEL_EXPORTER_OTLP_ENDPOINT is set, sent
 * as OTLP/HTTP JSON to a receiver played by this test: a server span per request continuing
 * the caller's `traceparent`, and a GraphQL operation span under it.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPhantom, type TestPhantom } from '../support/harness.js';
import { startTracing } from '../../src/server/tracing.js';

interface SpanOut {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
}

/** OTLP JSON ids may come hex or base64-encoded: hex either way. */
const hex = (id: string | undefined): string | undefined =>
  id === undefined || /^[0-9a-f]+$/.test(id) ? id : Buffer.from(id, 'base64').toString('hex');
const value = (v: any): unknown => v?.stringValue ?? v?.intValue ?? v?.boolValue ?? v?.doubleValue;

describe('OpenTelemetry traces', () => {
  const spans: SpanOut[] = [];
  let receiver: Server;
  let t: TestPhantom;
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (req.url === '/v1/traces') {
          const doc = JSON.parse(body);
          for (const rs of doc.resourceSpans ?? [])
            for (const ss of rs.scopeSpans ?? [])
              for (const s of ss.spans ?? []) {
                spans.push({
                  name: s.name,
                  traceId: hex(s.traceId)!,
                  spanId: hex(s.spanId)!,
                  parentSpanId: hex(s.parentSpanId) || undefined,
                  attributes: Object.fromEntries(
                    (s.attributes ?? []).map((a: any) => [a.key, value(a.value)]),
                  ),
                });
              }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
    const endpoint = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
    t = await startTestPhantom('embedded', { env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    await new Promise((r) => receiver?.close(r));
  });

  it('is off without an endpoint', async () => {
    expect((await startTracing(undefined)).enabled).toBe(false);
  });

  it('exports a server span continuing traceparent and a GraphQL operation span under it', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = '00f067aa0ba902b7';
    const res = await fetch(t.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer test-admin-token-0123456789',
        traceparent: `00-${traceId}-${parent}-01`,
        'x-request-id': 'traced-1',
      },
      body: JSON.stringify({ query: 'query Viewer { viewer { username } }' }),
    });
    expect(res.status).toBe(200);
    await expect
      .poll(() => spans.filter((s) => s.traceId === traceId).length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(2);
    const server = spans.find((s) => s.traceId === traceId && s.name === 'POST /graphql')!;
    expect(server).toBeTruthy();
    expect(server.parentSpanId).toBe(parent);
    expect(server.attributes).toMatchObject({
      'http.response.status_code': 200,
      'phantom.request_id': 'traced-1',
    });
    const op = spans.find((s) => s.traceId === traceId && s.name === 'graphql query Viewer')!;
    expect(op).toBeTruthy();
    expect(op.parentSpanId).toBe(server.spanId);
    expect(op.attributes).toMatchObject({
      'graphql.operation.name': 'Viewer',
      'graphql.operation.type': 'query',
    });
  });

  it('marks a failed operation with its error code', async () => {
    const r = await t.gql('query Missing { app(name: "no-such-app") { name } }', {}, 'not-a-token');
    expect(r.status).toBe(401);
    await expect
      .poll(
        () =>
          spans.find(
            (s) => s.name === 'POST /graphql' && s.attributes['http.response.status_code'] === 401,
          ),
        { timeout: 10_000 },
      )
      .toBeTruthy();
  });
});
