/**
 * The web UI in a real browser (Debian Chromium + playwright-core) against a real Phantom:
 * sign in, list and filter apps, page through them, open one; log in with a password;
 * run a query and a subscription in GraphiQL at /graphql. Screenshots go to /tmp.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ADMIN_TOKEN, startTestPhantom, type TestPhantom } from '../support/harness.js';
import { ensureWebBuild } from './support/web-build.js';
import { launchChromium, type TestBrowser } from './support/browser.js';

const SHOTS = process.env.PHANTOM_SCREENSHOT_DIR ?? '/tmp';

describe('web UI in Chromium', () => {
  let t: TestPhantom;
  let b: TestBrowser;
  let page: Page;
  let base: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // Built before the server starts: the server reads web/dist once, at start.
    await ensureWebBuild();
    t = await startTestPhantom('embedded');
    base = t.url.replace(/\/graphql$/, '');
    const created = await t.gql(
      `mutation { createApp(input: {
        name: "checkout", kind: NODE, description: "Checkout service",
        container: { replicas: 3, cpu: "250m", memory: "256Mi", port: 8081 },
        releaseConfig: { strategy: CANARY, autoRollback: false, autoReleaseEnvs: ["dev"] }
      }) { name } }`,
    );
    expect(created.errors).toBeUndefined();
    // 21 more, so the list needs a second page (20 per page).
    for (let i = 0; i < 21; i++) {
      const r = await t.gql(
        `mutation($n: String!) { createApp(input: { name: $n, kind: GO }) { name } }`,
        { n: `svc-${String(i).padStart(2, '0')}` },
      );
      expect(r.errors).toBeUndefined();
    }
    const user = await t.gql(
      `mutation { createUser(input: { username: "alice", password: "password-123" }) { id } }`,
    );
    expect(user.errors).toBeUndefined();
    b = await launchChromium();
    page = await b.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    // The pages' CSP (no inline script, same-origin only) must not block anything they need.
    page.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) pageErrors.push(m.text());
    });
  }, 120_000);

  afterAll(async () => {
    await b?.close();
    await t?.stop();
  });

  it('shows API errors with their code until signed in, then lists apps with a token', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('heading', { name: 'Apps' }).waitFor();
    const alert = page.getByRole('alert').first();
    await alert.waitFor();
    expect(await alert.textContent()).toContain('UNAUTHENTICATED');
    await page.screenshot({ path: `${SHOTS}/phantom-web-signed-out.png` });

    await page.getByLabel('API token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.getByTestId('viewer').getByText('admin').waitFor();
    await page.getByRole('link', { name: 'checkout' }).waitFor();
    expect(await page.getByText('22 apps').count()).toBe(1);
    // The token is kept across reloads.
    expect(await page.evaluate('localStorage.getItem("phantom.token")')).toBe(ADMIN_TOKEN);
  });

  it('pages with "Load more" and filters by name', async () => {
    const rows = page.locator('table.apps tbody tr:not(.list-foot)');
    await expect.poll(() => rows.count()).toBe(20);
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => rows.count()).toBe(22);
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
    await page.getByRole('link', { name: 'svc-20' }).waitFor();

    await page.getByLabel('Filter by name').fill('check');
    await expect.poll(() => rows.count()).toBe(1);
    await page.getByText('1 app', { exact: true }).waitFor();
    await page.screenshot({ path: `${SHOTS}/phantom-web-apps.png`, fullPage: true });
  });

  it('opens an app page: kind, container, release config, members', async () => {
    await page.getByRole('link', { name: 'checkout' }).click();
    await page.getByRole('heading', { name: 'checkout' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/apps/checkout');
    const text = (await page.locator('main').textContent()) ?? '';
    for (const s of [
      'NODE',
      'Checkout service',
      '250m',
      '256Mi',
      '8081',
      'CANARY',
      'Auto rollbackno',
      'dev',
      'admin',
      'OWNER',
    ]) {
      expect(text, s).toContain(s);
    }
    await page.screenshot({ path: `${SHOTS}/phantom-web-app.png`, fullPage: true });

    // A deep link works on its own (SPA fallback), and a missing app says so.
    await page.goto(`${base}/apps/nope`);
    await page.getByText('No app named “nope”.').waitFor();
  });

  it('signs in with a password through the login mutation, and shows its errors', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    const alert = page.locator('header').getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('UNAUTHENTICATED');

    await page.getByLabel('Password').fill('password-123');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByTestId('viewer').getByText('alice').waitFor();
    await page.getByRole('link', { name: 'checkout' }).waitFor();
  });

  it('runs a query and a subscription in GraphiQL at /graphql with the token', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.getByTestId('viewer').waitFor();

    // Nothing but Phantom is reachable: GraphiQL is bundled, no CDN (requests elsewhere are refused and listed).
    const phantomHost = new URL(base).host;
    const outside: string[] = [];
    const elsewhere = (url: URL) => url.host !== phantomHost;
    await page.route(elsewhere, (route) => {
      outside.push(route.request().url());
      return route.abort('blockedbyclient');
    });
    await page.goto(`${base}/graphql`);
    expect(await page.title()).toBe('Phantom GraphQL playground');
    await page.locator('.result-window .monaco-editor').waitFor({ timeout: 30_000 });
    await runInGraphiQL(
      page,
      '{ app(name: "checkout") { name kind container { cpu } } viewer { username } }',
    );
    await expect.poll(() => resultText(page), { timeout: 15_000 }).toContain('"kind": "NODE"');
    const result = await resultText(page);
    expect(result).toContain('"username": "admin"');
    expect(result).toContain('"cpu": "250m"');
    await page.screenshot({ path: `${SHOTS}/phantom-web-graphiql.png` });

    // Over graphql-ws, authenticated by connectionParams: an app created now shows up.
    await runInGraphiQL(
      page,
      'subscription { platformEvents(filter: { types: [APP_CREATED] }) { type app actor } }',
    );
    await expect
      .poll(
        async () => {
          await t.gql(
            `mutation($n: String!) { createApp(input: { name: $n, kind: STATIC }) { name } }`,
            { n: `live-${Date.now()}` },
          );
          return resultText(page);
        },
        { timeout: 15_000, interval: 1000 },
      )
      .toContain('"type": "APP_CREATED"');
    expect(await resultText(page)).toContain('"actor": "admin"');
    expect(outside).toEqual([]);
    await page.unroute(elsewhere);
  }, 90_000);

  it('forgets a stored token that no longer works and shows the sign-in forms again', async () => {
    await page.goto(`${base}/`);
    await page.evaluate('localStorage.setItem("phantom.token", "pht_revoked-or-never-valid")');
    await page.reload();
    await page.getByLabel('Username').waitFor();
    expect(await page.evaluate('localStorage.getItem("phantom.token")')).toBeFalsy();
  });

  it('raised no uncaught errors and no CSP violations in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});

async function runInGraphiQL(page: Page, query: string): Promise<void> {
  await page.locator('.graphiql-query-editor .monaco-editor').click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(query);
  await page.locator('.graphiql-execute-button').click();
}

/** The result pane's text (monaco renders spaces as U+00A0). */
async function resultText(page: Page): Promise<string> {
  return ((await page.locator('.result-window').textContent()) ?? '').replace(/\u00a0/g, ' ');
}
