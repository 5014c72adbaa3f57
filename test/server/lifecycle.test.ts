import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestPhantom, type TestPhantom } from '../support/harness.js';

describe('health, readiness and graceful shutdown (embedded)', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('embedded');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers /healthz and /readyz', async () => {
    const base = t.url.replace(/\/graphql$/, '');
    const h = await fetch(`${base}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ status: 'ok' });
    const r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ready', checks: { database: true, cache: true } });
  });

  it('serves the playground to browsers on GET /graphql and queries to API clients', async () => {
    const page = await fetch(t.url, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('Phantom GraphQL playground');
    const q = await fetch(`${t.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
    });
    expect(await q.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('finishes in-flight requests on stop, then refuses new connections', async () => {
    const other = await startTestPhantom('embedded');
    // A slow-ish request: login runs scrypt (~tens of ms) before answering.
    await other.gql(
      `mutation { createUser(input: { username: "slow", password: "password-123" }) { id } }`,
    );
    // Stop once the server has the request (a fixed pause raced the request on a loaded machine:
    // a connection accepted but with no request yet is idle, and closing idle ones is right).
    const received = new Promise((r) => other.phantom.server.httpServer.once('request', r));
    const inflight = other.gql(
      `mutation { login(username: "slow", password: "password-123") { token } }`,
      {},
      null,
    );
    await received;
    const stopping = other.stop();
    const res = await inflight;
    expect(res.errors).toBeUndefined();
    expect(res.data.login.token).toMatch(/^phs_/);
    await stopping;
    await expect(fetch(other.url, { method: 'POST' })).rejects.toThrow();
  });
});

describe('start-up checks', () => {
  it('refuses to start when Redis is unreachable, naming the setting', async () => {
    const started = Date.now();
    await expect(
      startTestPhantom('embedded', { env: { REDIS_URL: 'redis://127.0.0.1:1' } }),
    ).rejects.toThrow(/Redis at redis:\/\/127\.0\.0\.1:1.* is not reachable \(REDIS_URL\)/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe('phantom CLI', () => {
  it('serve exits 0 on SIGTERM after draining', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phantom-cli-'));
    try {
      const p = spawn(
        process.execPath,
        ['--import', '@swc-node/register/esm-register', 'src/cli.ts', 'serve'],
        {
          env: {
            ...process.env,
            PORT: '0',
            HOST: '127.0.0.1',
            PHANTOM_DATA_DIR: dir,
            PHANTOM_EMBEDDED_CLUSTERS: 'off',
            LOG_LEVEL: 'info',
            DATABASE_URL: '',
            REDIS_URL: '',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL in: ${out}`)), 30_000);
        p.stdout.on('data', () => {
          const m = /"url":"(http:[^"]+)"/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      const health = await fetch(url.replace(/graphql$/, 'healthz'));
      expect(health.status).toBe(200);
      const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
      p.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('shutting down');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad settings with one line per problem and exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phantom-cli-'));
    try {
      const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const p = spawn(
          process.execPath,
          ['--import', '@swc-node/register/esm-register', 'src/cli.ts', 'serve'],
          {
            env: { ...process.env, PORT: 'nope', REDIS_URL: 'localhost', PHANTOM_DATA_DIR: dir },
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        );
        let stderr = '';
        p.stderr.on('data', (d) => (stderr += d));
        p.on('exit', (code) => resolve({ code, stderr }));
      });
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(/PORT/);
      expect(out.stderr).toMatch(/REDIS_URL: must look like redis:\/\//);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
