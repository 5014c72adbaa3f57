/**
 * A small, dependency-free GraphQL playground served at GET /graphql for browsers, so a fresh
 * install can be tried without other tools. It loads nothing from the internet.
 */
export function playgroundHtml(): string {
  return `<!doctype html>
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
  const res = await fetch(location.pathname, { method: 'POST', headers, body: JSON.stringify({ query: $('query').value, variables }) });
  $('result').textContent = JSON.stringify(await res.json(), null, 2);
}
$('run').onclick = run;
document.addEventListener('keydown', (e) => { if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') run(); });
</script></body></html>`;
}
