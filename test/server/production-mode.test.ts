/**
 * Phantom as `npm start` runs it: NODE_ENV=production (vitest runs everything else under
 * NODE_ENV=test, where libraries pick their development defaults). Introspection must stay
 * on (the GraphQL playground, codegen and third-party clients need it): Apollo Server turns
 * it off in production unless told otherwise.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gqlAt, spawnPhantom, type PhantomProcess } from '../events/process.js';

describe('a production process (NODE_ENV=production)', () => {
  let p: PhantomProcess;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'phantom-prod-'));
    p = await spawnPhantom('serve', { extra: { NODE_ENV: 'production', PHANTOM_DATA_DIR: dir } });
  }, 90_000);
  afterAll(async () => {
    await p?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers introspection over HTTP, signed in or not', async () => {
    for (const token of [undefined, null]) {
      const r = await gqlAt(
        p.url,
        `{ __schema { queryType { name } types { name } } }`,
        undefined,
        token,
      );
      expect(r.errors).toBeUndefined();
      expect(r.data.__schema.queryType.name).toBe('Query');
      expect(r.data.__schema.types.map((t: { name: string }) => t.name)).toContain('App');
    }
  });

  it('answers __type, and still refuses what the limits refuse', async () => {
    const r = await gqlAt(p.url, `{ __type(name: "Release") { fields { name } } }`);
    expect(r.errors).toBeUndefined();
    expect(r.data.__type.fields.map((f: { name: string }) => f.name)).toContain('status');
    // Deeper than the introspection depth limit (20).
    const deep = `{ __schema { types { fields { type { ${'ofType { '.repeat(20)}name${' }'.repeat(20)} } } } } }`;
    const refused = await gqlAt(p.url, deep);
    expect(refused.errors?.[0]?.extensions?.code).toBeTruthy();
    expect(refused.data).toBeUndefined();
  });

  it('answers bad input with its stable code and no stack, and serves the playground page', async () => {
    const r = await gqlAt(
      p.url,
      `mutation { createApp(input: { name: "Not A Name", kind: GO }) { id } }`,
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(r.errors)).not.toMatch(/stacktrace|\.ts:\d+/);
    // The playground page (built web app or not): it runs introspection, answered above.
    const page = await fetch(`${p.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
  });
});
