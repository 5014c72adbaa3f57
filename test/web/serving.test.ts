/**
 * How the server answers browsers: with a build (a fake one in a temp dir) and without.
 * No browser and no real build needed: mountWebApp on a bare Express app.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWebApp, mountWebApp } from '../../src/server/playground.js';
import { startTestPhantom, type TestPhantom } from '../support/harness.js';

const SHELL =
  '<!doctype html><html><head><title>Phantom</title></head><body><div id="root"></div></body></html>';

async function listen(app: express.Express): Promise<{ base: string; server: Server }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('web app serving with a build', () => {
  let dir: string;
  let base: string;
  let server: Server;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'phantom-web-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), SHELL);
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'robots.txt'), 'User-agent: *');
    const web = loadWebApp(dir);
    expect(web).not.toBeNull();
    const app = express();
    app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
    mountWebApp(app, web);
    ({ base, server } = await listen(app));
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers app routes (paths without an extension) with the SPA shell, not cached', async () => {
    for (const path of ['/', '/apps/checkout', '/some/deep/route']) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toBe(SHELL);
    }
  });

  it('sends every page with a CSP without inline script, no framing, nosniff', async () => {
    for (const path of ['/', '/releases/UmVsZWFzZTox', '/playground']) {
      const res = await fetch(base + path);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("script-src 'self'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe-(inline|eval)/);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("connect-src 'self'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
    const asset = await fetch(`${base}/assets/index-abc123.js`);
    expect(asset.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('serves the playground shell at /playground, titled as the playground', async () => {
    const res = await fetch(`${base}/playground`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<title>Phantom GraphQL playground</title>');
    expect(html).toContain('<div id="root">');
  });

  it('serves built files, hashed assets with a long cache lifetime', async () => {
    const asset = await fetch(`${base}/assets/index-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    expect(await asset.text()).toBe('console.log(1)');
    const robots = await fetch(`${base}/robots.txt`);
    expect(await robots.text()).toBe('User-agent: *');
  });

  it('answers 404 for a missing file with an extension, not the shell', async () => {
    for (const path of ['/assets/index-old999.js', '/favicon.ico', '/apps/x/y.css']) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain('<html');
    }
  });

  it('leaves the API and probe paths to their own routes', async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    // Not mounted in this bare app, so Express's own 404, not the shell.
    for (const path of ['/graphql', '/graphql/x', '/readyz']) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toBe(SHELL);
    }
  });
});

describe('web app serving without a build', () => {
  let base: string;
  let server: Server;

  beforeAll(async () => {
    const dir = join(tmpdir(), 'phantom-web-missing-does-not-exist');
    expect(loadWebApp(dir)).toBeNull();
    const app = express();
    mountWebApp(app, null);
    ({ base, server } = await listen(app));
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('falls back to the built-in playground at /playground and serves no SPA', async () => {
    const res = await fetch(`${base}/playground`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Phantom GraphQL playground');
    // The built-in page posts to the API path wherever it is served.
    expect(html).toContain("fetch('/graphql'");
    expect((await fetch(`${base}/apps/x`)).status).toBe(404);
  });

  it('answers / with how to build the console, not Express\'s "Cannot GET /"', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).not.toContain('Cannot GET');
    expect(html).toContain('npm run build');
    expect(html).toContain('href="/playground"');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    // Its one inline style is allowed by hash.
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1];
    expect(csp).toContain(
      `style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`,
    );
  });

  it('allows the built-in page its own inline script by hash only, and no framing', async () => {
    const res = await fetch(`${base}/playground`);
    const html = await res.text();
    const csp = res.headers.get('content-security-policy') ?? '';
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1];
    expect(csp).toContain(
      `script-src 'sha256-${createHash('sha256').update(script).digest('base64')}'`,
    );
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('the real server', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('embedded');
  });
  afterAll(() => t?.stop());

  it('gives browsers a playground on GET /graphql (built or built-in) and API clients GraphQL', async () => {
    const page = await fetch(t.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Phantom GraphQL playground</title>');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const api = await fetch(`${t.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
    });
    expect(await api.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('keeps /healthz JSON whether or not the web app is built', async () => {
    const res = await fetch(t.url.replace('/graphql', '/healthz'), {
      headers: { accept: 'text/html' },
    });
    expect(res.headers.get('content-type')).toMatch(/json/);
  });
});
