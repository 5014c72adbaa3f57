import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getIntrospectionQuery } from 'graphql';
import { errorCode, startTestPhantom, type TestPhantom } from '../support/harness.js';

describe('query limits, refused before execution (embedded)', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('embedded', {
      limits: { maxDepth: 5, maxCost: 150, maxAliases: 5, maxDirectives: 10 },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('refuses a query deeper than the limit with QUERY_TOO_DEEP', async () => {
    const r = await t.gql(`{ apps { edges { node { members { user { username } } } } } }`);
    expect(errorCode(r)).toBe('QUERY_TOO_DEEP');
    expect(r.data).toBeUndefined();
    const ok = await t.gql(`{ apps { edges { node { name } } } }`);
    expect(ok.errors).toBeUndefined();
  });

  it('refuses an expensive query with QUERY_TOO_COMPLEX', async () => {
    const fields =
      'id name kind description repository buildCommand startCommand stopCommand version createdAt updatedAt';
    const r = await t.gql(
      `{ a: apps(first: 100) { edges { node { ${fields} container { replicas cpu memory port healthCheckPath } releaseConfig { strategy autoRollback autoReleaseEnvs } } } } b: apps { edges { node { ${fields} } } } }`,
    );
    expect(r.errors?.map((e) => e.extensions?.code)).toContain('QUERY_TOO_COMPLEX');
  });

  it('counts a page size given as a variable (no bypass through $first)', async () => {
    const q = `query($f: Int) { a: apps(first: $f) { edges { node { name kind description container { cpu memory } } } } }`;
    const big = await t.gql(q, { f: 100 });
    expect(errorCode(big)).toBe('QUERY_TOO_COMPLEX');
    // A document error answered as application/json: 200 (graphql-over-http.test.ts).
    expect(big.status).toBe(200);
    // Not an Int at all: the variable's own error, not a cost.
    const notInt = await t.gql(q, { f: 1e20 });
    expect(errorCode(notInt)).toBe('BAD_USER_INPUT');
    const small = await t.gql(q, { f: 1 });
    expect(small.errors).toBeUndefined();
    const unset = await t.gql(q, {});
    expect(errorCode(unset)).toBe('QUERY_TOO_COMPLEX'); // null counts as the default page of 20
    // A declared default counts when the variable is left out.
    const withDefault = await t.gql(
      `query($f: Int = 100) { a: apps(first: $f) { edges { node { name } } } }`,
      {},
    );
    expect(errorCode(withDefault)).toBe('QUERY_TOO_COMPLEX');
    const smallDefault = await t.gql(
      `query($f: Int = 1) { a: apps(first: $f) { edges { node { name } } } }`,
      {},
    );
    expect(smallDefault.errors).toBeUndefined();
  });

  it('refuses too many aliases with TOO_MANY_ALIASES', async () => {
    const r = await t.gql(
      `{ ${Array.from({ length: 6 }, (_, i) => `a${i}: viewer { username }`).join(' ')} }`,
    );
    expect(errorCode(r)).toBe('TOO_MANY_ALIASES');
  });

  it('refuses too many directives with TOO_MANY_DIRECTIVES', async () => {
    const r = await t.gql(
      `{ viewer { ${Array.from({ length: 11 }, () => 'username @include(if: true)').join(' ')} } }`,
    );
    expect(errorCode(r)).toBe('TOO_MANY_DIRECTIVES');
  });

  it('refuses an oversized body with 413 PAYLOAD_TOO_LARGE', async () => {
    const big = 'x'.repeat(t.config.maxBodyBytes + 10);
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ viewer { username } }`, variables: { big } }),
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as any;
    expect(body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers malformed JSON with BAD_REQUEST and unknown fields with GRAPHQL_VALIDATION_FAILED', async () => {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).errors[0].extensions.code).toBe('BAD_REQUEST');
    const r = await t.gql(`{ appz { totalCount } }`);
    expect(errorCode(r)).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('applies the same limits to graphql-ws operations', async () => {
    const c = t.ws();
    const r = await new Promise<any>((resolve) => {
      c.subscribe(
        { query: `{ apps { edges { node { members { user { username } } } } } }` },
        { next: () => undefined, error: (e) => resolve(e), complete: () => resolve('completed') },
      );
    });
    expect(Array.isArray(r)).toBe(true);
    expect(r[0].extensions.code).toBe('QUERY_TOO_DEEP');
  });
});

/** The abusive document of the issue: one field repeated 15,000 times (255 KB). */
const REPEATED_FIELD_DOCUMENT = `{ ${Array.from({ length: 15_000 }, () => 'viewer{username}').join(' ')} }`;

describe('default limits: bounded before validation, introspection counted (embedded)', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('embedded');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('refuses the 255 KB repeated-field document at the token limit, unauthenticated, with QUERY_TOO_COMPLEX', async () => {
    expect(REPEATED_FIELD_DOCUMENT.length).toBeGreaterThan(250_000);
    const r = await t.gql(REPEATED_FIELD_DOCUMENT, undefined, null);
    expect(r.status).toBe(200); // application/json: the error is in the body
    expect(r.data).toBeUndefined();
    expect(errorCode(r)).toBe('QUERY_TOO_COMPLEX');
    expect(r.errors).toHaveLength(1);
    expect(r.errors![0].message).toMatch(/more than 1000 tokens/);
  });

  it('refuses a document over the token limit even when running it would be cheap', async () => {
    const r = await t.gql(`{ ${'__typename '.repeat(1000)}}`);
    expect(errorCode(r)).toBe('QUERY_TOO_COMPLEX');
    expect(r.status).toBe(200);
    expect(r.data).toBeUndefined();
  });

  it('refuses an operation with more selections than allowed, fragments counted per spread', async () => {
    const flat = await t.gql(`{ ${'__typename '.repeat(301)}}`);
    expect(errorCode(flat)).toBe('QUERY_TOO_COMPLEX');
    expect(flat.errors![0].message).toMatch(/301 selections; the limit is 300/);
    // 20 spreads of a 20-field fragment: 40 tokens in the operation, 440 selections when run.
    const spread = await t.gql(
      `query { ${'...F '.repeat(20)}} fragment F on Query { ${'__typename '.repeat(20)}}`,
    );
    expect(errorCode(spread)).toBe('QUERY_TOO_COMPLEX');
    const fine = await t.gql(
      `query { ${'...F '.repeat(5)}} fragment F on Query { ${'__typename '.repeat(20)}}`,
    );
    expect(fine.errors).toBeUndefined();
  });

  it('counts __typename aliases toward the alias limit', async () => {
    const r = await t.gql(
      `{ ${Array.from({ length: 16 }, (_, i) => `t${i}: __typename`).join(' ')} }`,
    );
    expect(errorCode(r)).toBe('TOO_MANY_ALIASES');
    const ok = await t.gql(
      `{ ${Array.from({ length: 15 }, (_, i) => `t${i}: __typename`).join(' ')} }`,
    );
    expect(ok.errors).toBeUndefined();
  });

  it('counts introspection toward depth: ofType nested 48 deep is refused', async () => {
    const nested = (n: number): string => (n === 0 ? 'name' : `ofType { ${nested(n - 1)} }`);
    const r = await t.gql(`{ __schema { types { ${nested(48)} } } }`);
    expect(errorCode(r)).toBe('QUERY_TOO_DEEP');
    const viaType = await t.gql(`{ __type(name: "App") { ${nested(48)} } }`);
    expect(errorCode(viaType)).toBe('QUERY_TOO_DEEP');
  });

  it("lets GraphiQL's full introspection query through every limit, over HTTP and graphql-ws", async () => {
    const query = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    });
    const r = await t.gql(query, undefined, null);
    expect(r.errors).toBeUndefined();
    expect(r.data.__schema.types.length).toBeGreaterThan(20);
    const plain = await t.gql(getIntrospectionQuery());
    expect(plain.errors).toBeUndefined();
    const c = t.ws();
    const overWs = await new Promise<any>((resolve, reject) => {
      c.subscribe({ query }, { next: resolve, error: reject, complete: () => undefined });
    });
    expect(overWs.errors).toBeUndefined();
    expect(overWs.data.__schema.queryType.name).toBe('Query');
  });

  it('applies the token and selection bounds to graphql-ws operations, leaving the socket open', async () => {
    const c = t.ws(null);
    const closed: number[] = [];
    c.on('closed', (e: any) => closed.push(e.code));
    const run = (query: string) =>
      new Promise<any>((resolve) => {
        c.subscribe(
          { query },
          { next: (v) => resolve(v), error: (e) => resolve(e), complete: () => undefined },
        );
      });
    const big = await run(REPEATED_FIELD_DOCUMENT);
    expect(Array.isArray(big)).toBe(true);
    expect(big[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    const many = await run(`{ ${'__typename '.repeat(301)}}`);
    expect(many[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    const aliases = await run(
      `{ ${Array.from({ length: 16 }, (_, i) => `t${i}: __typename`).join(' ')} }`,
    );
    expect(aliases[0].extensions.code).toBe('TOO_MANY_ALIASES');
    const ok = await run(`{ __typename }`);
    expect(ok.data.__typename).toBe('Query');
    expect(closed).toEqual([]);
  });
});
