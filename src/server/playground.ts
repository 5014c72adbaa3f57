/**
 * The browser side of the server: the built web app (web/dist: app pages and GraphiQL) when
 * there is one, else a small, dependency-free GraphQL playground, so a fresh install (or a
 * test run that did not build web/) can be tried without other tools. Neither loads
 * anything from the internet.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';

/** web/dist of this checkout: ../../web/dist from both src/server/ and dist/server/. */
export const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/** A built web app, read once at start. */
export interface WebApp {
  dir: string;
  /** index.html as built: the SPA shell for every app route. */
  indexHtml: string;
  /** The same shell titled as the playground (GET /graphql, /playground). */
  playgroundShell: string;
}

/** Reads the build in `dir` (default web/dist); null when it has not been built. */
export function loadWebApp(dir: string = DEFAULT_WEB_DIST): WebApp | null {
  const index = join(dir, 'index.html');
  if (!existsSync(index)) return null;
  const indexHtml = readFileSync(index, 'utf8');
  return {
    dir,
    indexHtml,
    playgroundShell: indexHtml.replace(
      /<title>[^<]*<\/title>/,
      '<title>Phantom GraphQL playground</title>',
    ),
  };
}

/** What a browser gets on GET /graphql: the bundled GraphiQL, or the built-in page without a build. */
export function playgroundPage(web: WebApp | null): string {
  return web ? web.playgroundShell : playgroundHtml();
}

/**
 * The Content-Security-Policy of the built web app: scripts only from this origin (no inline
 * script, no eval), API and graphql-ws calls only to this origin, never framed. Inline
 * *styles* stay allowed: React `style` props and GraphiQL/monaco set them at run time, and a
 * style cannot run code. Workers: monaco's language workers are same-origin files or blobs.
 */
export const APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const sha256 = (text: string): string =>
  `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The built-in playground's policy: it is one self-contained page, so its one inline script
 * and style are allowed by hash (any other inline script, e.g. injected, is still refused).
 */
let builtinCspCache: { html: string; csp: string } | null = null;
function builtinCsp(html: string): string {
  if (builtinCspCache?.html === html) return builtinCspCache.csp;
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(style)}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  builtinCspCache = { html, csp };
  return csp;
}

/**
 * Sends an HTML page (`web`: the built app, null: the built-in playground) with the security headers every page of Phantom carries: its CSP,
 * `X-Frame-Options: DENY` (frame-ancestors for older browsers: no clickjacking of the
 * approve button), `nosniff`, and no Referer (URLs name apps and releases), never cached.
 */
export function sendPage(res: express.Response, html: string, web: WebApp | null): void {
  res
    .type('html')
    .set({
      'cache-control': 'no-cache',
      'content-security-policy': web ? APP_CSP : builtinCsp(html),
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    })
    .send(html);
}

/** Paths the SPA fallback never answers: the API and the probes. */
const SERVER_PATHS = /^\/(graphql|healthz|readyz)(\/|$)/;

/**
 * Mounts the browser routes, after the API: /playground always; with a build, its files
 * (`index: false`, so / is the SPA shell too) and the SPA fallback: a GET for a path without
 * a file extension gets index.html and the client-side router picks the page; a missing
 * file with an extension is a 404, so a stale asset URL fails loudly instead of being
 * answered with HTML.
 */
export function mountWebApp(app: express.Express, web: WebApp | null): void {
  app.get('/playground', (_req, res) => {
    sendPage(res, playgroundPage(web), web);
  });
  if (!web) {
    // Instead of Express's bare "Cannot GET /": what is missing and how to get it.
    app.get('/', (_req, res) => sendPage(res, NOT_BUILT, null));
    return;
  }
  // Hashed file names under assets/ never change content: cache them for long.
  // Built files are never to be sniffed into another type (a .js answered as HTML, or back).
  app.use((_req, res, next) => {
    res.set('x-content-type-options', 'nosniff');
    next();
  });
  app.use(
    '/assets',
    express.static(join(web.dir, 'assets'), { index: false, immutable: true, maxAge: '365d' }),
  );
  app.use(express.static(web.dir, { index: false }));
  app.get('/{*splat}', (req, res, next) => {
    if (SERVER_PATHS.test(req.path)) return next();
    if (/\.[^/]*$/.test(req.path)) {
      res.status(404).type('text').send('Not found');
      return;
    }
    // The shell must not be cached: it names the current build's asset files.
    sendPage(res, web.indexHtml, web);
  });
}

/** `/` without a build of web/: how to build the console, and what works meanwhile. */
export const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Phantom — web console not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2230;background:#f6f7fb}
 main{max-width:640px;margin:40px auto;padding:0 20px}
 code,pre{font:13px ui-monospace,monospace}
 pre{background:#1f2330;color:#e9ebf2;padding:10px 14px;border-radius:6px;overflow:auto}
 a{color:#4b4fd6}
</style></head>
<body><main>
<h1>Phantom is running; its web console is not built</h1>
<p>This server found no <code>web/dist</code>. Build the console from the repository, then restart Phantom:</p>
<pre>npm run build</pre>
<p>(<code>npm start</code> builds it too; <code>npx vite --config web/vite.config.ts</code> serves it with hot reload during development.)</p>
<p>Meanwhile the API answers at <a href="/graphql"><code>/graphql</code></a>, and a built-in GraphQL playground is at <a href="/playground"><code>/playground</code></a>.</p>
</main></body></html>`;

/** The built-in playground page (no build needed). */
export function playgroundHtml(): string {
  return BUILTIN_PLAYGROUND;
}

const BUILTIN_PLAYGROUND = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Phantom GraphQL playground</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:14px system-ui,sans-serif;margin:0;display:grid;grid-template-rows:auto 1fr;height:100vh}
 header{padding:8px 12px;background:#1f2330;color:#fff;display:flex;gap:12px;align-items:center}
 header input{flex:1;font:inherit;padding:4px}
 main{display:grid;grid-template-columns:1fr 1fr;gap:8px;padding:8px;min-height:0}
 .col{display:grid;grid-template-rows:2fr 1fr;gap:8px;min-height:0}
 textarea,pre{font:13px ui-monospace,monospace;border:1px solid #ccc;padding:8px;margin:0;overflow:auto;min-height:0;resize:none}
 button{font:inherit;padding:4px 14px}
</style></head>
<body>
<header><strong>Phantom</strong>
 <input id="token" placeholder="API token or session token (sent as Authorization: Bearer …)" aria-label="token">
 <button id="run">Run ▶</button></header>
<main><div class="col">
<textarea id="query" aria-label="query" spellcheck="false">query {
  viewer { username isAdmin }
  apps(first: 10) { totalCount edges { node { name kind members { user { username } role } } } }
}</textarea>
<textarea id="variables" aria-label="variables" spellcheck="false">{}</textarea></div>
<pre id="result" aria-label="result"></pre></main>
<script>
const $ = (id) => document.getElementById(id);
$('token').value = localStorage.getItem('phantom.token') || '';
async function run() {
  localStorage.setItem('phantom.token', $('token').value);
  let variables = {};
  try { variables = JSON.parse($('variables').value || '{}'); } catch (e) { $('result').textContent = 'Variables are not valid JSON: ' + e.message; return; }
  const headers = { 'content-type': 'application/json' };
  if ($('token').value.trim()) headers.authorization = 'Bearer ' + $('token').value.trim();
  const res = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query: $('query').value, variables }) });
  $('result').textContent = JSON.stringify(await res.json(), null, 2);
}
$('run').onclick = run;
document.addEventListener('keydown', (e) => { if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') run(); });
</script></body></html>`;
