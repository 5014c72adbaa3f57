/**
 * The GraphQL-over-HTTP spec, checked by its reference audit (`graphql-http`'s `auditServer`,
 * the audit the spec's implementations are listed by) and by the status rules Phantom adds to
 * Apollo's (src/server/response-status.ts, docs/adr/0014-graphql-over-http.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditServer } from 'graphql-http';
import { ADMIN_TOKEN, startTestPhantom, type TestPhantom } from '../support/harness.js';

const GRAPHQL_RESPONSE = 'application/graphql-response+json';

describe('GraphQL over HTTP (embedded)', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('embedded');
  });
  afterAll(async () => {
    await t?.stop();
  });

  const post = (body: unknown, accept?: string) =>
    fetch(t.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(accept ? { accept } : {}),
      },
      body: JSON.stringify(body),
    });
  const codes = async (res: Response) =>
    ((await res.json()) as { errors?: { extensions?: { code?: string } }[] }).errors?.map(
      (e) => e.extensions?.code,
    );

  it('passes every audit of graphql-http, the MAY and SHOULD ones included', async () => {
    const results = await auditServer({ url: t.url });
    expect(results.length).toBeGreaterThan(50);
    const notOk = results
      .filter((r) => r.status !== 'ok')
      .map((r) => `${r.status} ${r.id} ${r.name}: ${'reason' in r ? r.reason : ''}`);
    expect(notOk).toEqual([]);
  });

  it('answers a document error with 200 as application/json and 400 as application/graphql-response+json', async () => {
    for (const [body, code] of [
      [{ query: '{' }, 'GRAPHQL_PARSE_FAILED'],
      [{ query: '{ appz { totalCount } }' }, 'GRAPHQL_VALIDATION_FAILED'],
      [
        { query: 'query($n: Int) { apps(first: $n) { totalCount } }', variables: { n: 'x' } },
        'BAD_USER_INPUT',
      ],
      // Refused before Apollo, by the token bound (http-server.ts): the same rule.
      [{ query: `{ ${'__typename '.repeat(1001)}}` }, 'QUERY_TOO_COMPLEX'],
    ] as const) {
      for (const accept of [undefined, 'application/json']) {
        const legacy = await post(body, accept);
        expect([code, legacy.status]).toEqual([code, 200]);
        expect(legacy.headers.get('content-type')).toMatch(/^application\/json/);
        expect(await codes(legacy)).toEqual([code]);
      }
      const modern = await post(body, `${GRAPHQL_RESPONSE}, application/json;q=0.9`);
      expect([code, modern.status]).toEqual([code, 400]);
      expect(modern.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
      expect(await codes(modern)).toEqual([code]);
    }
  });

  it('keeps 400 for a malformed request whatever the media type (BAD_REQUEST, never an internal error)', async () => {
    const hash = 'ab'.repeat(32);
    for (const body of [
      { query: 42 },
      { query: '' },
      // Apollo's persisted-query refusals carry a 400 but no code: BAD_REQUEST, not logged.
      { query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: hash } } },
      { query: '{ __typename }', extensions: { persistedQuery: { version: 2, sha256Hash: hash } } },
    ])
      for (const accept of [undefined, GRAPHQL_RESPONSE]) {
        const res = await post(body, accept);
        expect([body, accept, res.status]).toEqual([body, accept, 400]);
        expect(await codes(res)).toEqual(['BAD_REQUEST']);
      }
  });

  it('refuses a subscription over HTTP with BAD_REQUEST pointing to graphql-ws (was an internal error)', async () => {
    const body = { query: 'subscription { platformEvents { id } }' };
    for (const accept of [
      undefined,
      GRAPHQL_RESPONSE,
      // What Apollo Client's HttpLink sends for a subscription.
      'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json',
    ]) {
      const res = await post(body, accept);
      expect([accept, res.status]).toEqual([accept, 400]);
      const answer = (await res.json()) as any;
      expect(answer.errors).toHaveLength(1);
      expect(answer.errors[0].extensions.code).toBe('BAD_REQUEST');
      expect(answer.errors[0].message).toMatch(/graphql-ws/);
    }
  });

  it('serves a query over GET without extra headers, and refuses a mutation over GET with 405', async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const q = await fetch(`${t.url}?query=${encodeURIComponent('{ viewer { username } }')}`, {
      headers: auth,
    });
    expect(q.status).toBe(200);
    expect(((await q.json()) as any).data.viewer.username).toBe('admin');
    const m = await fetch(
      `${t.url}?query=${encodeURIComponent('mutation { createApp(input: { name: "via-get", kind: GO }) { id } }')}`,
      { headers: auth },
    );
    expect(m.status).toBe(405);
    const app = await t.gql(`{ app(name: "via-get") { id } }`);
    expect(app.errors).toBeUndefined();
    expect(app.data.app).toBeNull();
  });
});
