/**
 * Starts a real Phantom (HTTP + WebSocket) for a test file, on a fresh database:
 * - mode `mysql`: a new MariaDB/MySQL database from TEST_DATABASE_URL, migrated; Redis from
 *   TEST_REDIS_URL with a key prefix of its own;
 * - mode `embedded`: a temp SQLite file and in-process cache/sessions.
 * Everything is torn down by `stop()`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/config.js';
import { startPhantom, type Phantom, type StartOptions } from '../../src/main.js';
import { testDatabaseUrl, testRedisUrl } from './env.js';

export type Mode = 'mysql' | 'embedded';

/** Modes this run can test: embedded always; mysql when both real services are configured. */
export const availableModes: Mode[] =
  testDatabaseUrl && testRedisUrl ? ['mysql', 'embedded'] : ['embedded'];

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface GqlResult<T = any> {
  status: number;
  data?: T;
  errors?: {
    message: string;
    extensions?: { code?: string; field?: string; [k: string]: unknown };
    path?: string[];
  }[];
}

export interface TestPhantom {
  phantom: Phantom;
  config: Config;
  url: string;
  wsUrl: string;
  databaseUrl?: string;
  /** POST a GraphQL request; `token` null sends no Authorization header. */
  gql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string | null,
  ): Promise<GqlResult<T>>;
  /** A graphql-ws client; `token` goes into connection_init as `authorization`. */
  ws(token?: string | null): Client;
  stop(): Promise<void>;
}

/** Creates an empty database named after `base`'s database plus a random suffix. */
export async function createScratchDatabase(
  base: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const u = new URL(base);
  const name = `${u.pathname.replace(/^\//, '') || 'phantom'}_${randomBytes(4).toString('hex')}`;
  const conn = await createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
  });
  await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await conn.end();
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = await createConnection({
        host: u.hostname,
        port: Number(u.port || 3306),
        user: decodeURIComponent(u.username || 'root'),
        password: decodeURIComponent(u.password),
      });
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}

/** Removes every key under `prefix` (SCAN + UNLINK), so test runs leave Redis clean. */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export interface StartTestOptions extends StartOptions {
  env?: Record<string, string>;
  /** Reuse this database (e.g. a second replica) instead of creating one. */
  databaseUrl?: string;
  /** Reuse this Redis prefix (a second replica shares the first one's). */
  redisPrefix?: string;
}

export async function startTestPhantom(
  mode: Mode,
  opts: StartTestOptions = {},
): Promise<TestPhantom> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    PHANTOM_ADMIN_TOKEN: ADMIN_TOKEN,
    PHANTOM_EMBEDDED_CLUSTERS: 'off',
    // Compiled execution from a document's first run, so the suites exercise it (a server
    // compiles from the second: the first run goes through graphql-js, tested in
    // test/api/compiled-execution.test.ts).
    PHANTOM_GRAPHQL_JIT_AFTER: '1',
    ...opts.env,
  };
  let databaseUrl: string | undefined;
  if (mode === 'mysql') {
    if (!testDatabaseUrl || !testRedisUrl)
      throw new Error('mysql mode needs TEST_DATABASE_URL and TEST_REDIS_URL');
    if (opts.databaseUrl) databaseUrl = opts.databaseUrl;
    else {
      const db = await createScratchDatabase(testDatabaseUrl);
      databaseUrl = db.url;
      cleanups.push(db.drop);
    }
    env.DATABASE_URL = databaseUrl;
    env.REDIS_URL = testRedisUrl;
    env.PHANTOM_REDIS_PREFIX =
      opts.redisPrefix ?? `phantom-test:${randomBytes(4).toString('hex')}:`;
    // The first instance on a prefix removes its keys at the end (replicas share it and stop first).
    if (!opts.redisPrefix)
      cleanups.push(() => deleteRedisKeys(testRedisUrl!, env.PHANTOM_REDIS_PREFIX));
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'phantom-test-'));
    env.PHANTOM_DATA_DIR = dir;
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  }
  const config = loadConfig(env);
  const phantom = await startPhantom(config, opts);
  const url = phantom.server.url;
  const wsUrl = url.replace(/^http/, 'ws');
  const clients: Client[] = [];
  return {
    phantom,
    config,
    url,
    wsUrl,
    databaseUrl,
    async gql(query, variables, token = ADMIN_TOKEN) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as any;
      return { status: res.status, data: body.data ?? undefined, errors: body.errors };
    },
    ws(token = ADMIN_TOKEN) {
      const c = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        lazy: true,
        retryAttempts: 0,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) await c.dispose();
      await phantom.stop();
      for (const fn of cleanups.reverse()) await fn();
    },
  };
}

/** Asserts a result has exactly one error and returns its code (for `expect(...).toBe(...)`). */
export function errorCode(r: GqlResult): string | undefined {
  return r.errors?.[0]?.extensions?.code;
}

/** Creates a user with a password and returns a WRITE token for them. */
export async function createUserWithToken(
  t: TestPhantom,
  username: string,
  opts: { isAdmin?: boolean; scopes?: string[] } = {},
): Promise<string> {
  const created = await t.gql(
    `mutation($u: String!, $a: Boolean) { createUser(input: { username: $u, password: "password-123", isAdmin: $a }) { id } }`,
    { u: username, a: opts.isAdmin ?? false },
  );
  if (created.errors) throw new Error(JSON.stringify(created.errors));
  const session = await t.gql(
    `mutation($u: String!) { login(username: $u, password: "password-123") { token } }`,
    { u: username },
    null,
  );
  if (session.errors) throw new Error(JSON.stringify(session.errors));
  const scopes = opts.scopes ?? (opts.isAdmin ? ['READ', 'WRITE', 'ADMIN'] : ['READ', 'WRITE']);
  const tok = await t.gql(
    `mutation($s: [TokenScope!]!) { createApiToken(name: "test", scopes: $s) { token } }`,
    { s: scopes },
    session.data.login.token,
  );
  if (tok.errors) throw new Error(JSON.stringify(tok.errors));
  return tok.data.createApiToken.token;
}
