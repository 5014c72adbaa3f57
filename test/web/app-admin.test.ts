/**
 * The app page's actions and /admin in a real browser (Debian Chromium + playwright-core)
 * against a real Phantom with embedded clusters: scale from the app page and watch the
 * replicas and the pod table follow; edit the app with a stale `expectedVersion` and read
 * the CONFLICT in words; /admin creates and deletes a maintenance window; a non-admin is
 * told /admin is for admins; the header's live indicator; a session that ended. Screenshots
 * (desktop and phone width) go to PHANTOM_SCREENSHOT_DIR (default /tmp).
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createUserWithToken, startTestPhantom, type TestPhantom } from '../support/harness.js';
import { ensureWebBuild } from './support/web-build.js';
import { launchChromium, type TestBrowser } from './support/browser.js';

const SHOTS = process.env.PHANTOM_SCREENSHOT_DIR ?? '/tmp';
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

describe('app page actions and /admin in Chromium', () => {
  let t: TestPhantom;
  let b: TestBrowser;
  let page: Page;
  let base: string;
  let dev: string;
  let owner: string;
  let admin: string;
  const pageErrors: string[] = [];
  /** The server side of every upgraded (WebSocket) connection, to drop them. */
  const sockets: Socket[] = [];
  /** graphql-ws `next` payloads the page received, by subscription root field. */
  const received: Record<string, number> = {};

  async function signInAs(token: string): Promise<void> {
    await page.goto(`${base}/`);
    await page.evaluate(`localStorage.setItem('phantom.token', ${JSON.stringify(token)})`);
  }

  async function shoot(name: string): Promise<void> {
    await page.screenshot({ path: `${SHOTS}/phantom-web-${name}.png`, fullPage: true });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: `${SHOTS}/phantom-web-${name}-phone.png`, fullPage: true });
    // Nothing wider than the phone: no sideways scrolling of the page itself.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
      PHONE.width,
    );
    await page.setViewportSize(DESKTOP);
  }

  beforeAll(async () => {
    await ensureWebBuild();
    t = await startTestPhantom('embedded', {
      env: { PHANTOM_EMBEDDED_CLUSTERS: 'on', PHANTOM_WS_MAX_SOCKETS_PER_CLIENT: '1000' },
    });
    t.phantom.server.httpServer.on('upgrade', (_req, socket: Socket) => sockets.push(socket));
    base = t.url.replace(/\/graphql$/, '');
    dev = await createUserWithToken(t, 'dev');
    owner = await createUserWithToken(t, 'olivia');
    admin = await createUserWithToken(t, 'root-ann', { isAdmin: true });
    for (const q of [
      `mutation { createApp(input: { name: "shop", kind: NODE, description: "The shop", container: { replicas: 1 } }) { id } }`,
      `mutation { setAppMember(app: "shop", username: "dev", role: DEVELOPER) { name } }`,
      `mutation { setAppMember(app: "shop", username: "olivia", role: OWNER) { name } }`,
      `mutation { deployApp(app: "shop", env: "dev", image: "registry.local/shop:1.0") { cluster error } }`,
      `mutation { createApp(input: { name: "idle", kind: NODE }) { id } }`,
      `mutation { setAppMember(app: "idle", username: "dev", role: DEVELOPER) { name } }`,
    ]) {
      const r = await t.gql(q);
      expect(r.errors, q).toBeUndefined();
    }
    b = await launchChromium();
    page = await b.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('websocket', (ws) =>
      ws.on('framereceived', (f) => {
        const m = JSON.parse(String(f.payload));
        if (m.type === 'next')
          for (const field of Object.keys(m.payload?.data ?? {}))
            received[field] = (received[field] ?? 0) + 1;
      }),
    );
    page.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) pageErrors.push(m.text());
    });
  }, 120_000);

  afterAll(async () => {
    await b?.close();
    await t?.stop();
  });

  it('scales the app from its page: replicas and the pod table follow, live', async () => {
    await signInAs(dev);
    await page.goto(`${base}/apps/shop`);
    const card = page.getByTestId('workload-sim-1');
    await card
      .getByTestId('pod-row')
      .filter({ hasText: 'Running' })
      .first()
      .waitFor({ timeout: 30_000 });
    expect(await card.getByTestId('desired').textContent()).toBe('1');
    // A DEVELOPER may operate but not edit (the API says so).
    expect(await page.getByRole('button', { name: 'Edit app' }).count()).toBe(0);
    const form = page.getByRole('form', { name: 'Scale or restart in dev' });
    const podEventsBefore = received.podEvents ?? 0;
    await form.getByLabel('Replicas in dev').fill('3');
    await form.getByRole('button', { name: 'Scale' }).click();
    await form.getByRole('status').filter({ hasText: 'Scaled to 3 in dev.' }).waitFor();
    await expect
      .poll(() => card.getByTestId('desired').textContent(), { timeout: 15_000 })
      .toBe('3');
    // The new pods arrive over podEvents and turn Running; ready follows.
    await expect
      .poll(() => card.getByTestId('pod-row').filter({ hasText: 'Running' }).count(), {
        timeout: 30_000,
      })
      .toBe(3);
    await expect.poll(() => card.getByTestId('ready').textContent(), { timeout: 30_000 }).toBe('3');
    // The page heard of the new pods over podEvents (not only by reading the workload again).
    expect((received.podEvents ?? 0) - podEventsBefore).toBeGreaterThanOrEqual(2);
    const w = await t.gql(
      `{ app(name: "shop") { workloads(env: "dev") { replicas readyReplicas } } }`,
    );
    expect(w.data.app.workloads[0]).toEqual({ replicas: 3, readyReplicas: 3 });
    await shoot('app-workloads');

    // Restart: a rollout, the pods are replaced.
    const before = await card.getByTestId('pod-row').allTextContents();
    await form.getByRole('button', { name: 'Restart' }).click();
    await form.getByRole('status').filter({ hasText: 'Restarting in dev.' }).waitFor();
    await expect
      .poll(
        async () => {
          const now = await card
            .getByTestId('pod-row')
            .filter({ hasText: 'Running' })
            .allTextContents();
          return now.length === 3 && now.every((row) => !before.includes(row));
        },
        { timeout: 60_000 },
      )
      .toBe(true);
  }, 120_000);

  it('offers no scale form (nor a made-up 0 replicas) for an app deployed to no cluster', async () => {
    await signInAs(dev);
    await page.goto(`${base}/apps/idle`);
    await page
      .getByTestId('workload-sim-1')
      .getByText('Not deployed here.')
      .waitFor({ timeout: 30_000 });
    expect(await page.getByRole('form', { name: 'Scale or restart in dev' }).count()).toBe(0);
    await shoot('app-not-deployed');
    // The deployed app's page, same role: the form is there.
    await page.goto(`${base}/apps/shop`);
    await page.getByRole('form', { name: 'Scale or restart in dev' }).waitFor({ timeout: 30_000 });
  });

  it('edits the app; with a stale expectedVersion it says the app changed, code in the detail line', async () => {
    await signInAs(owner);
    await page.goto(`${base}/apps/shop`);
    await page.getByRole('button', { name: 'Edit app' }).click();
    const form = page.getByRole('form', { name: 'Edit app' });
    await form.getByLabel('Description').fill('The shop, edited');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByText('The shop, edited').waitFor();
    const v1 = (await t.gql(`{ app(name: "shop") { version description } }`)).data.app;
    expect(v1.description).toBe('The shop, edited');

    // Someone else changes the app while the form is open.
    await page.getByRole('button', { name: 'Edit app' }).click();
    await form.getByLabel('Memory').fill('256Mi');
    expect(
      (
        await t.gql(
          `mutation { updateApp(name: "shop", input: { description: "Changed elsewhere" }) { version } }`,
        )
      ).errors,
    ).toBeUndefined();
    await form.getByRole('button', { name: 'Save' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    expect(await alert.locator('.error-headline').textContent()).toBe(
      'This app changed since you opened it — reload to see the changes.',
    );
    expect(await alert.locator('.error-detail').textContent()).toContain('CONFLICT');
    expect(await alert.textContent()).not.toMatch(/[{}]/);
    await shoot('app-edit-conflict');
    // Nothing was overwritten; Reload shows what is there now.
    expect(
      (await t.gql(`{ app(name: "shop") { container { memory } } }`)).data.app.container.memory,
    ).not.toBe('256Mi');
    await form.getByRole('button', { name: 'Reload' }).click();
    await expect.poll(() => form.getByLabel('Description').inputValue()).toBe('Changed elsewhere');
    expect(await form.getByRole('alert').count()).toBe(0);
  }, 60_000);

  it('/admin: an admin creates and deletes a maintenance window; users, environments and masked routes are listed', async () => {
    const route = await t.gql(
      `mutation { createNotificationRoute(input: { name: "ops-chat", channel: WEBHOOK, webhookUrl: "https://hooks.example.com/services/T000/SECRET-PATH?key=abc", secret: "s3cret-signing-key" }) { id } }`,
    );
    expect(route.errors).toBeUndefined();
    await signInAs(admin);
    await page.goto(`${base}/admin`);
    await page.getByRole('heading', { name: /Maintenance windows \(0\)/ }).waitFor();
    expect(await page.getByTestId('user').allTextContents()).toEqual(
      expect.arrayContaining([
        expect.stringContaining('olivia'),
        expect.stringContaining('root-ann'),
      ]),
    );
    const routeRow = page.getByTestId('route').filter({ hasText: 'ops-chat' });
    await routeRow.waitFor();
    expect(await routeRow.textContent()).toContain('https://hooks.example.com/***');
    expect(await page.locator('main').textContent()).not.toContain('SECRET-PATH');
    expect(await page.locator('main').textContent()).toContain('sim-2');

    const form = page.getByRole('form', { name: 'New maintenance window' });
    await form.getByLabel('Name').fill('year-end-freeze');
    await form.getByLabel('Reason').fill('Year-end books');
    await form.getByLabel('Starts').fill('2031-12-20T00:00');
    await form.getByLabel('Ends').fill('2032-01-03T00:00');
    await form.getByLabel('prod').check();
    await form.getByRole('button', { name: 'Create window' }).click();
    const row = page.getByTestId('window').filter({ hasText: 'year-end-freeze' });
    await row.waitFor();
    expect(await row.textContent()).toContain('Year-end books');
    const api = await t.gql(`{ settings { maintenanceWindows { name envs reason } } }`);
    expect(api.data.settings.maintenanceWindows).toEqual([
      { name: 'year-end-freeze', envs: ['prod'], reason: 'Year-end books' },
    ]);

    // A mistake is explained, with the field's code in the detail line.
    await form.getByLabel('Name').fill('no-envs');
    await form.getByLabel('Reason').fill('x');
    await form.getByLabel('prod').uncheck();
    await form.getByRole('button', { name: 'Create window' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    expect(await alert.locator('.error-headline').textContent()).toBe(
      'Something in the form needs fixing.',
    );
    expect(await alert.locator('.error-detail').textContent()).toContain('BAD_USER_INPUT');
    await shoot('admin');

    // A dependency rule, and a whitelist entry that exempts shop from it until a given time.
    const ruleForm = page.getByRole('form', { name: 'New dependency rule' });
    await ruleForm.getByLabel('Artifact', { exact: true }).fill('log4j-core');
    await ruleForm.getByLabel('Minimum version').fill('2.17.1');
    await ruleForm.getByLabel('Banned versions (comma-separated)').fill('2.15.0, 2.16.0');
    await ruleForm.getByLabel('Message').fill('CVE-2021-44228');
    await ruleForm.getByRole('button', { name: 'Create rule' }).click();
    const ruleRow = page.getByTestId('rule').filter({ hasText: 'log4j-core' });
    await ruleRow.waitFor();
    expect(await ruleRow.textContent()).toContain('never 2.15.0, 2.16.0');
    const entryForm = page.getByRole('form', { name: 'New whitelist entry' });
    await entryForm.getByLabel('App').fill('shop');
    await entryForm.getByLabel('Rule').selectOption('log4j-core');
    await entryForm.getByLabel('Until').fill('2031-06-01T12:00');
    await entryForm.getByLabel('Reason').fill('Vendor patch pending');
    await entryForm.getByRole('button', { name: 'Create entry' }).click();
    const entryRow = page
      .getByTestId('whitelist-entry')
      .filter({ hasText: 'Vendor patch pending' });
    await entryRow.waitFor();
    const rules = (
      await t.gql(
        `{ settings { dependencyRules { name minVersion bannedVersions } whitelist { app rule expiresAt } } }`,
      )
    ).data.settings;
    expect(rules.dependencyRules).toEqual([
      { name: 'log4j-core', minVersion: '2.17.1', bannedVersions: ['2.15.0', '2.16.0'] },
    ]);
    expect(rules.whitelist).toMatchObject([{ app: 'shop', rule: 'log4j-core' }]);
    // The browser's local time, sent as an instant.
    expect(new Date(rules.whitelist[0].expiresAt).getTime()).toBe(
      await page.evaluate<number>(`new Date('2031-06-01T12:00').getTime()`),
    );
    await shoot('admin-rules');
    await entryRow.getByRole('button', { name: /^Delete / }).click();
    await entryRow.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByRole('heading', { name: /Whitelist \(0\)/ }).waitFor();
    await ruleRow.getByRole('button', { name: 'Delete log4j-core' }).click();
    await ruleRow.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByRole('heading', { name: /Dependency rules \(0\)/ }).waitFor();

    // A new user, listed at once; a bad username is explained.
    const userForm = page.getByRole('form', { name: 'New user' });
    await userForm.getByLabel('Username').fill('Not Valid');
    await userForm.getByRole('button', { name: 'Create user' }).click();
    await userForm
      .getByRole('alert')
      .locator('.error-detail')
      .filter({ hasText: 'BAD_USER_INPUT' })
      .waitFor();
    await userForm.getByLabel('Username').fill('newbie');
    await userForm.getByLabel('Display name').fill('New Bie');
    await userForm.getByRole('button', { name: 'Create user' }).click();
    await page.getByTestId('user').filter({ hasText: 'New Bie' }).waitFor();
    expect(await userForm.getByRole('alert').count()).toBe(0);
    // No password given: the user signs in with API tokens only.
    expect(
      (
        await t.gql(
          `mutation { login(username: "newbie", password: "whatever-123") { token } }`,
          {},
          null,
        )
      ).errors,
    ).toBeDefined();

    await row.getByRole('button', { name: 'Delete year-end-freeze' }).click();
    await row.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByRole('heading', { name: /Maintenance windows \(0\)/ }).waitFor();
    expect(
      (await t.gql(`{ settings { maintenanceWindows { name } } }`)).data.settings
        .maintenanceWindows,
    ).toEqual([]);
  }, 60_000);

  it('/admin tells a non-admin it is for admins, and shows them nothing else', async () => {
    await signInAs(owner);
    await page.goto(`${base}/admin`);
    const note = page.getByRole('note');
    await note.waitFor();
    expect(await note.textContent()).toContain('Admins only.');
    expect(await page.getByRole('form').count()).toBe(0);
    expect(await page.getByTestId('user').count()).toBe(0);
    expect(await page.getByRole('alert').count()).toBe(0);
    await shoot('admin-non-admin');
  });

  it('the header shows Live while subscriptions flow, Reconnecting… when the socket drops, then Live again', async () => {
    await signInAs(dev);
    await page.goto(`${base}/events`);
    const live = page.getByTestId('live');
    await expect.poll(() => live.getAttribute('data-state'), { timeout: 15_000 }).toBe('live');
    expect(await live.textContent()).toBe('Live');
    for (const s of sockets.splice(0)) s.destroy();
    await expect
      .poll(() => live.getAttribute('data-state'), { timeout: 15_000 })
      .toBe('reconnecting');
    await page.screenshot({ path: `${SHOTS}/phantom-web-reconnecting.png` });
    // graphql-ws retries by itself and the page catches up: a new event arrives live.
    await expect.poll(() => live.getAttribute('data-state'), { timeout: 45_000 }).toBe('live');
    expect(
      (await t.gql(`mutation { createApp(input: { name: "after-drop", kind: STATIC }) { id } }`))
        .errors,
    ).toBeUndefined();
    await page.getByTestId('event').filter({ hasText: 'after-drop' }).waitFor({ timeout: 15_000 });
    await shoot('live');
  }, 90_000);

  it('a session that ends while a page is open: "Your session expired — sign in again", and the sign-in forms', async () => {
    const login = await t.gql(
      `mutation { login(username: "dev", password: "password-123") { token } }`,
      {},
      null,
    );
    const session: string = login.data.login.token;
    await signInAs(session);
    await page.goto(`${base}/events`);
    await page.getByTestId('viewer').waitFor();
    await expect
      .poll(() => page.getByTestId('live').getAttribute('data-state'), { timeout: 15_000 })
      .toBe('live');
    expect((await t.gql(`mutation { logout }`, {}, session)).data.logout).toBe(true);
    // The next event is withheld from the ended session and its socket closed (4401). The
    // server checks the credential at most once a second per socket: send events until then.
    const notice = page.locator('.session-notice');
    let n = 0;
    await expect
      .poll(
        async () => {
          expect(
            (
              await t.gql(
                `mutation($n: String!) { createApp(input: { name: $n, kind: STATIC }) { id } }`,
                { n: `after-logout-${++n}` },
              )
            ).errors,
          ).toBeUndefined();
          return notice.count();
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBe(1);
    expect(await notice.textContent()).toBe('Your session expired — sign in again.');
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    expect(await page.evaluate(`localStorage.getItem('phantom.token')`)).toBeNull();
    // Nothing shown to the ended session stays on the page; signed out, no live state.
    expect(await page.getByTestId('event').count()).toBe(0);
    expect(await page.getByTestId('live').getAttribute('data-state')).toBe('idle');
    expect(await page.locator('main').textContent()).not.toMatch(/[{}]/);
    await shoot('session-expired');
    // Signing in again clears the notice.
    await page.getByLabel('Username').fill('dev');
    await page.getByLabel('Password').fill('password-123');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByTestId('viewer').waitFor();
    expect(await page.locator('.session-notice').count()).toBe(0);
  }, 90_000);

  it('raised no uncaught errors and no CSP violations in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
