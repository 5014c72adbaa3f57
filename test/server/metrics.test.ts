/**
 * Issue 9: `GET /metrics` in Prometheus text on the API listener and on the worker's health
 * listener; with PHANTOM_METRICS_TOKEN set, only with that bearer token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeServices, testDatabaseUrl, testRedisUrl } from '../support/env.js';
import { createScratchDatabase, startTestPhantom, type TestPhantom } from '../support/harness.js';
import { loadConfig } from '../../src/config.js';
import { startWorker } from '../../src/worker.js';

const METRICS_TOKEN = 'metrics-token-0123456789';

/** The value of the first sample of `name` whose labels include every `labels` pair. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + ' ') && !line.startsWith(name + '{')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describeServices('GET /metrics (MySQL + Redis, token set)', () => {
  let t: TestPhantom;
  let base: string;
  beforeAll(async () => {
    t = await startTestPhantom('mysql', { env: { PHANTOM_METRICS_TOKEN: METRICS_TOKEN } });
    base = t.url.replace(/\/graphql$/, '');
  });
  afterAll(async () => {
    await t?.stop();
  });

  const scrape = (token?: string) =>
    fetch(`${base}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('refuses a scrape without the token, or with a wrong one', async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape('wrong-token-0123456789')).status).toBe(401);
  });

  it('shows operations by name and result, errors by code, outbox lag, releases by status, sockets, pool and Redis', async () => {
    expect(
      (await t.gql(`query ListApps { apps(first: 5) { edges { node { name } } } }`)).errors,
    ).toBeUndefined();
    expect(
      (await t.gql(`query Missing { apps(first: 500) { edges { node { name } } } }`)).errors?.[0]
        ?.extensions?.code,
    ).toBe('BAD_USER_INPUT');
    const client = t.ws();
    const connected = new Promise<void>((resolve) => client.on('connected', () => resolve()));
    const sub = client.subscribe(
      { query: 'subscription { platformEvents { id } }' },
      { next: () => {}, error: () => {}, complete: () => {} },
    );
    await connected;
    try {
      const res = await scrape(METRICS_TOKEN);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      expect(
        sample(text, 'phantom_graphql_operation_duration_seconds_count', {
          operation: 'ListApps',
          type: 'query',
          result: 'ok',
        }),
      ).toBe(1);
      expect(
        sample(text, 'phantom_graphql_operation_duration_seconds_count', {
          operation: 'Missing',
          result: 'BAD_USER_INPUT',
        }),
      ).toBe(1);
      expect(
        sample(text, 'phantom_graphql_errors_total', { code: 'BAD_USER_INPUT' }),
      ).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'phantom_outbox_lag_events')).toBeGreaterThanOrEqual(0);
      // No release yet: the gauge is declared, with no status sample.
      expect(text).toContain('# TYPE phantom_releases gauge');
      expect(text).toContain('# TYPE phantom_builds gauge');
      expect(text).toContain('# TYPE phantom_release_step_duration_seconds histogram');
      expect(sample(text, 'phantom_db_pool_connections', { state: 'free' })).toBeGreaterThanOrEqual(
        0,
      );
      expect(sample(text, 'phantom_kv_ping_seconds')).toBeGreaterThan(0);
      expect(sample(text, 'phantom_websocket_sockets')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'phantom_process_resident_memory_bytes')).toBeGreaterThan(0);
    } finally {
      sub();
    }
  });

  it("is served by the worker's health listener too, behind the same token", async () => {
    const db = await createScratchDatabase(testDatabaseUrl!);
    const dir = mkdtempSync(join(tmpdir(), 'phantom-worker-metrics-'));
    const worker = await startWorker(
      loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        PHANTOM_DATA_DIR: dir,
        DATABASE_URL: db.url,
        REDIS_URL: testRedisUrl!,
        PHANTOM_REDIS_PREFIX: `phantom-test-metrics-${process.pid}:`,
        PHANTOM_METRICS_TOKEN: METRICS_TOKEN,
        PHANTOM_MIGRATE_ON_START: 'on',
      }),
    );
    try {
      expect((await fetch(`${worker.health.url}/metrics`)).status).toBe(401);
      const res = await fetch(`${worker.health.url}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(sample(text, 'phantom_outbox_lag_events')).toBeGreaterThanOrEqual(0);
      expect(text).toContain('phantom_releases');
    } finally {
      await worker.stop();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('GET /metrics (embedded, no token)', () => {
  let t: TestPhantom;
  beforeAll(async () => {
    t = await startTestPhantom('embedded', { env: { PHANTOM_EMBEDDED_CLUSTERS: 'on' } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is open without PHANTOM_METRICS_TOKEN and counts operations on SQLite too', async () => {
    await t.gql(`query Viewer { viewer { username } }`);
    const res = await fetch(t.url.replace(/\/graphql$/, '/metrics'));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(
      sample(text, 'phantom_graphql_operation_duration_seconds_count', {
        operation: 'Viewer',
        result: 'ok',
      }),
    ).toBe(1);
    expect(sample(text, 'phantom_outbox_lag_events')).toBeGreaterThanOrEqual(0);
  });

  it('times graphql-ws operations, counts live subscriptions and their messages by name', async () => {
    const metrics = async () => (await fetch(t.url.replace(/\/graphql$/, '/metrics'))).text();
    const client = t.ws();
    const got: any[] = [];
    const errors: any[] = [];
    const stop = client.subscribe(
      { query: 'subscription Watch { platformEvents { id type } }' },
      { next: (r) => got.push(r), error: (e) => errors.push(e), complete: () => {} },
    );
    // Refused before it runs (validation): timed with its code, never live.
    client.subscribe(
      { query: 'subscription Broken { nope }' },
      { next: () => {}, error: (e) => errors.push(e), complete: () => {} },
    );
    await expect
      .poll(
        async () =>
          sample(await metrics(), 'phantom_graphql_ws_subscriptions', { operation: 'Watch' }),
        { timeout: 10_000 },
      )
      .toBe(1);
    const created = await t.gql(
      `mutation { createApp(input: { name: "metered", kind: GO }) { name } }`,
    );
    expect(created.errors).toBeUndefined();
    await expect.poll(() => got.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    const text = await metrics();
    expect(sample(text, 'phantom_graphql_ws_messages_total', { operation: 'Watch' })).toBe(
      got.length,
    );
    expect(
      sample(text, 'phantom_graphql_operation_duration_seconds_count', {
        operation: 'Watch',
        type: 'subscription',
        result: 'ok',
      }),
    ).toBe(1);
    expect(
      sample(text, 'phantom_graphql_operation_duration_seconds_count', {
        operation: 'Broken',
        type: 'subscription',
        result: 'GRAPHQL_VALIDATION_FAILED',
      }),
    ).toBe(1);
    expect(
      sample(text, 'phantom_graphql_ws_subscriptions', { operation: 'Broken' }),
    ).toBeUndefined();
    stop();
    await expect
      .poll(
        async () =>
          sample(await metrics(), 'phantom_graphql_ws_subscriptions', { operation: 'Watch' }),
        { timeout: 10_000 },
      )
      .toBe(0);
    // Only the refused operation errored.
    expect(errors.length).toBe(1);
  });

  it('shows release step durations, releases and builds by status, informers per cluster, notifier lag and deliveries', async () => {
    const metrics = async () => (await fetch(t.url.replace(/\/graphql$/, '/metrics'))).text();
    const before = await metrics();
    // Informers of the embedded clusters: listed, not failing, never restarted.
    expect(
      sample(before, 'phantom_informer_synced', { cluster: 'sim-1', kind: 'Deployment' }),
    ).toBe(1);
    expect(sample(before, 'phantom_informer_synced', { cluster: 'sim-1', kind: 'Pod' })).toBe(1);
    expect(sample(before, 'phantom_informer_failing', { cluster: 'sim-1', kind: 'Pod' })).toBe(0);
    expect(
      sample(before, 'phantom_informer_restarts_total', { cluster: 'sim-1', kind: 'Pod' }),
    ).toBe(0);
    expect(
      sample(before, 'phantom_informer_relists_total', { cluster: 'sim-1', kind: 'Event' }),
    ).toBe(0);
    expect(sample(before, 'phantom_release_step_duration_seconds_count', { step: 'deploy' })).toBe(
      undefined,
    );
    expect(before).toContain('# TYPE phantom_builds gauge');
    expect(before).toContain('# TYPE phantom_notification_deliveries gauge');
    expect(sample(before, 'phantom_release_engine_waves_total')).toBe(0);
    const statementsBefore = sample(before, 'phantom_db_statements_total')!;
    expect(statementsBefore).toBeGreaterThan(0);

    expect(
      (await t.gql(`mutation { createApp(input: { name: "stepped", kind: GO }) { name } }`)).errors,
    ).toBeUndefined();
    const created = await t.gql(
      `mutation { createRelease(input: { app: "stepped", env: "dev", image: "registry.local/stepped:1" }) { id } }`,
    );
    expect(created.errors).toBeUndefined();
    const id = created.data.createRelease.id;
    await expect
      .poll(
        async () =>
          (await t.gql(`query($id: ID!) { release(id: $id) { status } }`, { id })).data.release
            .status,
        { timeout: 40_000 },
      )
      .toBe('SUCCEEDED');
    const after = await metrics();
    expect(sample(after, 'phantom_releases', { status: 'SUCCEEDED' })).toBeGreaterThanOrEqual(1);
    for (const step of ['precheck', 'deploy'])
      expect(
        sample(after, 'phantom_release_step_duration_seconds_count', { step, status: 'SUCCEEDED' }),
      ).toBe(1);
    // The deploy waited for two pods to become ready: it took some time, all of it counted.
    expect(
      sample(after, 'phantom_release_step_duration_seconds_sum', {
        step: 'deploy',
        status: 'SUCCEEDED',
      }),
    ).toBeGreaterThan(0);
    // The engine's counts: one wave per target of "dev", progress committed in as many or fewer transactions.
    const targets = (
      await t.gql(`{ environments { name targets { cluster } } }`)
    ).data.environments.find((e: { name: string }) => e.name === 'dev').targets.length;
    expect(sample(after, 'phantom_release_engine_waves_total')).toBe(targets);
    const commits = sample(after, 'phantom_release_engine_progress_commits_total')!;
    const transactions = sample(after, 'phantom_release_engine_progress_transactions_total')!;
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(transactions).toBeGreaterThanOrEqual(1);
    expect(transactions).toBeLessThanOrEqual(commits);
    expect(sample(after, 'phantom_db_statements_total')!).toBeGreaterThan(statementsBefore);
    // The release's events reach the chat notifier: its lag is a number (0 once it caught up).
    await expect
      .poll(
        async () => sample(await metrics(), 'phantom_notifier_lag_events', { group: 'notifier' }),
        {
          timeout: 20_000,
        },
      )
      .toBe(0);
  });
});
