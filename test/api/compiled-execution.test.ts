/**
 * Compiled execution (src/server/compiled-execution.ts) and the plain POST path
 * (src/server/graphql-http.ts): the answers are those of graphql-js and of the Express path,
 * errors and status codes included.
 */
import 'reflect-metadata';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, getOperationAST } from 'graphql';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import {
  ADMIN_TOKEN,
  startTestPhantom,
  type GqlResult,
  type TestPhantom,
} from '../support/harness.js';
import { buildPhantomSchema } from '../../src/resolvers/index.js';
import { compiledExecutor } from '../../src/server/compiled-execution.js';

describe('compiled execution', () => {
  const request = (document: ReturnType<typeof parse>, viewer: unknown) =>
    ({
      document,
      operationName: 'Q',
      operation: getOperationAST(document, 'Q'),
      request: { operationName: 'Q' },
      context: { viewer },
    }) as unknown as GatewayGraphQLRequestContext;

  it("compiles a signed-in caller's document at its n-th execution, not before", async () => {
    const schema = await buildPhantomSchema();
    const executor = compiledExecutor(schema, 3);
    const rc = request(parse(`query Q { __typename }`), { userId: 1 });
    const answers = [];
    for (let i = 0; i < 4; i++) {
      answers.push(await executor(rc));
      answers.push(executor.compiledDocuments);
    }
    expect(answers).toEqual([
      { data: { __typename: 'Query' } },
      0,
      { data: { __typename: 'Query' } },
      0,
      { data: { __typename: 'Query' } },
      1,
      { data: { __typename: 'Query' } },
      1,
    ]);
  });

  it('never compiles an anonymous document, and keeps a bounded number compiled', async () => {
    const schema = await buildPhantomSchema();
    const anonymous = compiledExecutor(schema, 1);
    const doc = request(parse(`query Q { __typename }`), null);
    for (let i = 0; i < 3; i++) await anonymous(doc);
    expect(anonymous.compiledDocuments).toBe(0);

    const bounded = compiledExecutor(schema, 1, 2);
    const docs = [1, 2, 3].map((n) =>
      request(parse(`query Q { __typename a${n}: __typename }`), { userId: 1 }),
    );
    for (const rc of docs)
      expect(await bounded(rc)).toMatchObject({ data: { __typename: 'Query' } });
    expect([bounded.compiledDocuments, bounded.keptCompiled()]).toEqual([3, 2]);
    // The first was evicted: it is compiled again; the others stay as they are.
    await bounded(docs[2]);
    await bounded(docs[0]);
    expect([bounded.compiledDocuments, bounded.keptCompiled()]).toEqual([4, 2]);
  });
});

describe('compiled and interpreted answers agree (embedded, compiled from the 2nd run)', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('embedded', { env: { PHANTOM_GRAPHQL_JIT_AFTER: '2' } });
    await t.gql(`mutation { createApp(input: { name: "web", kind: GO }) { id } }`);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const twice = async (query: string, variables?: Record<string, unknown>) => {
    const first = await t.gql(query, variables);
    const second = await t.gql(query, variables);
    const third = await t.gql(query, variables);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    return first;
  };

  it('answers a page of apps with members, a node through its interface, and enums', async () => {
    const r = await twice(
      `query($first: Int) { apps(first: $first) { totalCount edges { cursor node { id name kind members { role user { username } } } } } }`,
      { first: 5 },
    );
    expect(r.data.apps.totalCount).toBe(1);
    const app = r.data.apps.edges[0].node;
    expect(app).toMatchObject({ name: 'web', kind: 'GO' });
    const n = await twice(
      `query($id: ID!) { node(id: $id) { __typename id ... on App { name } } }`,
      {
        id: app.id,
      },
    );
    expect(n.data.node).toEqual({ __typename: 'App', id: app.id, name: 'web' });
  });

  it('keeps domain errors with their code, field, path and locations', async () => {
    const r = await twice(`mutation { createApp(input: { name: "web", kind: GO }) { id } }`);
    expect(r.errors).toHaveLength(1);
    expect(r.errors![0]).toMatchObject({
      path: ['createApp'],
      locations: [{ line: 1, column: 12 }],
      extensions: { code: 'CONFLICT', field: 'name' },
    });
    const missing = await twice(`{ node(id: "QXBwOjk5OQ") { id } app(name: "nope") { id } }`);
    expect(missing.data).toEqual({ node: null, app: null });
  });

  it('refuses an operation name the document lacks, without running its only operation', async () => {
    const mutation = `mutation A { createUser(input: { username: "gina", password: "password-123" }) { username } }`;
    for (let i = 0; i < 3; i++) {
      const res = await fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify({ query: mutation, operationName: 'Z' }),
      });
      const r = (await res.json()) as GqlResult;
      expect(r.data).toBeUndefined();
      expect(r.errors![0]).toMatchObject({
        message: 'Unknown operation named "Z".',
        extensions: { code: 'OPERATION_RESOLUTION_FAILURE' },
      });
    }
    const get = await fetch(`${t.url}?query=${encodeURIComponent(mutation)}&operationName=Z`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'apollo-require-preflight': '1' },
    });
    expect(get.status).not.toBe(500);
    const users = await t.gql(`{ users(first: 100) { edges { node { username } } } }`);
    expect(users.errors).toBeUndefined();
    const names = (users.data.users.edges as { node: { username: string } }[]).map(
      (e) => e.node.username,
    );
    expect(names).toContain('admin');
    expect(names).not.toContain('gina');
  });

  it("fills an input field's default inside a variable, as graphql-js does", async () => {
    const q = `mutation($i: CreateAppInput!) { createApp(input: $i) { name container { hpa { minReplicas maxReplicas targetCpuUtilization } } } }`;
    for (const name of ['hpa-1', 'hpa-2', 'hpa-3']) {
      const r = await t.gql(q, {
        i: { name, kind: 'GO', container: { hpa: { minReplicas: 1, maxReplicas: 2 } } },
      });
      expect(r.errors).toBeUndefined();
      expect(r.data.createApp).toEqual({
        name,
        container: { hpa: { minReplicas: 1, maxReplicas: 2, targetCpuUtilization: 80 } },
      });
    }
  });

  it('answers bad variables as graphql-js does: BAD_USER_INPUT, nothing executed', async () => {
    const r = await twice(`query($first: Int) { apps(first: $first) { totalCount } }`, {
      first: 'many',
    });
    expect(r.data).toBeUndefined();
    expect(r.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    expect(r.errors![0].message).toMatch(/^Variable "\$first" got invalid value "many"/);
  });

  it('follows @include/@skip, fragments and aliases', async () => {
    const r = await twice(
      `query($yes: Boolean!) { a: apps(first: 1) @include(if: $yes) { totalCount } b: apps(first: 1) @skip(if: $yes) { totalCount } ...F } fragment F on Query { viewer { username } }`,
      { yes: true },
    );
    expect(r.data).toEqual({
      a: { totalCount: expect.any(Number) as number },
      viewer: { username: 'admin' },
    });
  });
});

describe('the plain POST path and the Express path give the same answers (embedded)', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('embedded');
  });
  afterAll(async () => {
    await t?.stop();
  });

  const query = JSON.stringify({ query: '{ viewer { username } }' });
  const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(t.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...headers,
      },
      body: typeof body === 'string' ? body : new Uint8Array(body),
    });
  const GZIP: Record<string, string> = { 'content-encoding': 'gzip' };
  const NONE: Record<string, string> = {};

  it('answers a plain POST without Express, and a compressed one through it, alike', async () => {
    const plain = await post(query, { 'x-request-id': 'plain-1' });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('x-request-id')).toBe('plain-1');
    expect(plain.headers.get('content-type')).toBe('application/json; charset=utf-8');
    // Express's send adds an ETag; the plain path does not.
    expect(plain.headers.get('etag')).toBeNull();
    expect(await plain.json()).toEqual({ data: { viewer: { username: 'admin' } } });

    const gzipped = await post(gzipSync(query), {
      'content-encoding': 'gzip',
      'x-request-id': 'gzip-1',
    });
    expect(gzipped.status).toBe(200);
    expect(gzipped.headers.get('x-request-id')).toBe('gzip-1');
    expect(gzipped.headers.get('etag')).not.toBeNull();
    expect(await gzipped.json()).toEqual({ data: { viewer: { username: 'admin' } } });

    const charset = await post(query, { 'content-type': 'application/json; charset=UTF-8' });
    expect(await charset.json()).toEqual({ data: { viewer: { username: 'admin' } } });
    const bom = await post(`\uFEFF${query}`);
    expect(await bom.json()).toEqual({ data: { viewer: { username: 'admin' } } });
  });

  it('refuses bodies that are not a JSON object or array with 400 BAD_REQUEST on both paths', async () => {
    for (const body of ['{"query": ', '"{ viewer { username } }"', 'null', ' 12']) {
      for (const headers of [NONE, GZIP]) {
        const gz = 'content-encoding' in headers;
        const res = await post(gz ? gzipSync(body) : body, headers);
        expect([body, gz, res.status]).toEqual([body, gz, 400]);
        expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
        expect(await res.json()).toEqual({
          errors: [
            { message: 'Request body is not valid JSON.', extensions: { code: 'BAD_REQUEST' } },
          ],
        });
      }
    }
  });

  it('refuses a document over the token limit before Apollo, with the same status on both paths', async () => {
    const big = JSON.stringify({ query: `{ ${'viewer { username } '.repeat(400)} }` });
    for (const headers of [NONE, GZIP]) {
      const res = await post('content-encoding' in headers ? gzipSync(big) : big, headers);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    }
  });

  it('answers 413 for a body over the limit and 401 for a bad credential', async () => {
    const huge = JSON.stringify({ query: '{ viewer { username } }', pad: 'x'.repeat(2 << 20) });
    const tooLarge = await post(huge);
    expect(tooLarge.status).toBe(413);
    expect(
      ((await tooLarge.json()) as { errors: { extensions: { code: string } }[] }).errors[0]
        .extensions.code,
    ).toBe('PAYLOAD_TOO_LARGE');
    const bad = await post(query, { authorization: 'Bearer nope-nope-nope' });
    expect(bad.status).toBe(401);
    expect(
      ((await bad.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions
        .code,
    ).toBe('UNAUTHENTICATED');
  });
});
