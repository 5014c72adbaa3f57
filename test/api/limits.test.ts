import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestPhantom, type TestPhantom } from '../support/harness.js';

describe('query limits, refused before execution (embedded)', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('embedded', { limits: { maxDepth: 5, maxCost: 150, maxAliases: 5, maxDirectives: 10 } });
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
    const fields = 'id name kind description repository buildCommand startCommand stopCommand version createdAt updatedAt';
    const r = await t.gql(`{ a: apps(first: 100) { edges { node { ${fields} container { replicas cpu memory port healthCheckPath } releaseConfig { strategy autoRollback autoReleaseEnvs } } } } b: apps { edges { node { ${fields} } } } }`);
    expect(r.errors?.map((e) => e.extensions?.code)).toContain('QUERY_TOO_COMPLEX');
  });

  it('counts a page size given as a variable (no bypass through $first)', async () => {
    const q = `query($f: Int) { a: apps(first: $f) { edges { node { name kind description container { cpu memory } } } } }`;
    const big = await t.gql(q, { f: 100 });
    expect(errorCode(big)).toBe('QUERY_TOO_COMPLEX');
    expect(big.status).toBe(400);
    const small = await t.gql(q, { f: 1 });
    expect(small.errors).toBeUndefined();
    const unset = await t.gql(q, {});
    expect(errorCode(unset)).toBe('QUERY_TOO_COMPLEX'); // null counts as the default page of 20
    // A declared default counts when the variable is left out.
    const withDefault = await t.gql(`query($f: Int = 100) { a: apps(first: $f) { edges { node { name } } } }`, {});
    expect(errorCode(withDefault)).toBe('QUERY_TOO_COMPLEX');
    const smallDefault = await t.gql(`query($f: Int = 1) { a: apps(first: $f) { edges { node { name } } } }`, {});
    expect(smallDefault.errors).toBeUndefined();
  });

  it('refuses too many aliases with TOO_MANY_ALIASES', async () => {
    const r = await t.gql(`{ ${Array.from({ length: 6 }, (_, i) => `a${i}: viewer { username }`).join(' ')} }`);
    expect(errorCode(r)).toBe('TOO_MANY_ALIASES');
  });

  it('refuses too many directives with TOO_MANY_DIRECTIVES', async () => {
    const r = await t.gql(`{ viewer { ${Array.from({ length: 11 }, () => 'username @include(if: true)').join(' ')} } }`);
    expect(errorCode(r)).toBe('TOO_MANY_DIRECTIVES');
  });

  it('refuses an oversized body with 413 PAYLOAD_TOO_LARGE', async () => {
    const big = 'x'.repeat(t.config.maxBodyBytes + 10);
    const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ viewer { username } }`, variables: { big } }) });
    expect(res.status).toBe(413);
    const body = (await res.json()) as any;
    expect(body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers malformed JSON with BAD_REQUEST and unknown fields with GRAPHQL_VALIDATION_FAILED', async () => {
    const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).errors[0].extensions.code).toBe('BAD_REQUEST');
    const r = await t.gql(`{ appz { totalCount } }`);
    expect(errorCode(r)).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('applies the same limits to graphql-ws operations', async () => {
    const c = t.ws();
    const r = await new Promise<any>((resolve) => {
      c.subscribe({ query: `{ apps { edges { node { members { user { username } } } } } }` }, { next: () => undefined, error: (e) => resolve(e), complete: () => resolve('completed') });
    });
    expect(Array.isArray(r)).toBe(true);
    expect(r[0].extensions.code).toBe('QUERY_TOO_DEEP');
  });
});
