/**
 * The release console in a real browser (Debian Chromium + playwright-core) against a real
 * Phantom with embedded clusters: start a release from the app page and watch /releases/<id>
 * reach SUCCEEDED by itself with the pod grid filling in; a -crashloop image shows the failing
 * pod's reason and the automatic rollback, and the "Roll back" button; a prod release shows
 * its ticket, which a second user approves from /tickets; the progress feed resumes with
 * `after` after the socket drops; /releases and /events. Screenshots (desktop and phone width)
 * go to PHANTOM_SCREENSHOT_DIR (default /tmp).
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

describe('release console in Chromium', () => {
  let t: TestPhantom;
  let b: TestBrowser;
  let page: Page;
  let base: string;
  let dev: string;
  let owner: string;
  let viewer: string;
  const pageErrors: string[] = [];
  /** graphql-ws `subscribe` payloads the page sent. */
  const subscribes: { query: string; variables: Record<string, unknown> }[] = [];
  /** The server side of every upgraded (WebSocket) connection, to drop them. */
  const sockets: Socket[] = [];

  async function signInAs(token: string): Promise<void> {
    await page.goto(`${base}/`);
    await page.evaluate(`localStorage.setItem('phantom.token', ${JSON.stringify(token)})`);
  }

  async function statusIs(status: string, timeout = 40_000): Promise<void> {
    await page
      .locator('.page-head .status')
      .filter({ hasText: new RegExp(`^${status.replace(/_/g, ' ')}$`) })
      .waitFor({ timeout });
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

  async function startRelease(app: string, env: string, image: string): Promise<string> {
    await page.goto(`${base}/apps/${app}`);
    const form = page.getByRole('form', { name: 'Start a release' });
    await form.getByLabel('Environment').selectOption(env);
    await form.getByLabel('Image').fill(image);
    await form.getByRole('button', { name: 'Start release' }).click();
    await page.waitForURL(/\/releases\/[^/]+$/);
    return decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
  }

  beforeAll(async () => {
    await ensureWebBuild();
    // Every client of this file (the browser, the helpers) shares 127.0.0.1: the per-client socket cap is not under test here.
    t = await startTestPhantom('embedded', {
      env: {
        PHANTOM_EMBEDDED_CLUSTERS: 'on',
        PHANTOM_RELEASE_FAILURE_GRACE_MS: '3000',
        PHANTOM_WS_MAX_SOCKETS_PER_CLIENT: '1000',
      },
    });
    t.phantom.server.httpServer.on('upgrade', (_req, socket: Socket) => sockets.push(socket));
    base = t.url.replace(/\/graphql$/, '');
    dev = await createUserWithToken(t, 'dev');
    owner = await createUserWithToken(t, 'olivia');
    viewer = await createUserWithToken(t, 'vera');
    for (const q of [
      `mutation { createApp(input: { name: "shop", kind: NODE, description: "The shop", container: { replicas: 2 } }) { id } }`,
      `mutation { createApp(input: { name: "cart", kind: NODE, container: { replicas: 1 } }) { id } }`,
      `mutation { setAppMember(app: "shop", username: "dev", role: DEVELOPER) { name } }`,
      `mutation { setAppMember(app: "cart", username: "dev", role: DEVELOPER) { name } }`,
      `mutation { setAppMember(app: "shop", username: "olivia", role: OWNER) { name } }`,
      `mutation { setAppMember(app: "cart", username: "olivia", role: OWNER) { name } }`,
      `mutation { setAppMember(app: "shop", username: "vera", role: VIEWER) { name } }`,
    ]) {
      const r = await t.gql(q);
      expect(r.errors, q).toBeUndefined();
    }
    b = await launchChromium();
    page = await b.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    // The pages' CSP (no inline script, same-origin only) must not block anything they need.
    page.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) pageErrors.push(m.text());
    });
    page.on('websocket', (ws) =>
      ws.on('framesent', (f) => {
        const m = JSON.parse(String(f.payload));
        if (m.type === 'subscribe') subscribes.push(m.payload);
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await b?.close();
    await t?.stop();
  });

  it('starts a release to dev from the app page; /releases/<id> reaches SUCCEEDED by itself, pods fill in', async () => {
    await signInAs(dev);
    const id = await startRelease('shop', 'dev', 'registry.local/shop:1.0');
    await page.getByRole('heading', { name: /shop\s*→\s*dev/ }).waitFor();
    await statusIs('SUCCEEDED');
    const main = page.locator('main');
    await expect
      .poll(() => page.getByTestId('pod').filter({ hasText: 'Running' }).count(), {
        timeout: 15_000,
      })
      .toBe(2);
    expect(await page.getByTestId('cluster-sim-1').textContent()).toContain('available2/2');
    const text = (await main.textContent()) ?? '';
    for (const s of ['registry.local/shop:1.0', 'ROLLING', 'dev', 'precheck', 'deploy', 'sim-1'])
      expect(text, s).toContain(s);
    // Ended and nothing earlier succeeded: no cancel, no roll back (the API says so).
    expect(
      await page.getByRole('button', { name: /Cancel release|Roll back|Promote/ }).count(),
    ).toBe(0);
    expect(
      subscribes.some((s) => s.query.includes('releaseProgress') && s.variables.id === id),
    ).toBe(true);
    await shoot('release');

    // Listed on the app page and on /releases, filterable.
    await page.goto(`${base}/apps/shop`);
    await page.getByRole('link', { name: 'registry.local/shop:1.0', exact: true }).waitFor();
    await page.goto(`${base}/releases`);
    await page.getByRole('link', { name: 'registry.local/shop:1.0', exact: true }).waitFor();
    await page.getByLabel('Status').selectOption('FAILED');
    await page.getByText('No releases yet.').waitFor();
    await page.getByLabel('Status').selectOption('SUCCEEDED');
    await page.getByRole('link', { name: 'registry.local/shop:1.0', exact: true }).waitFor();
    await shoot('releases');
  }, 90_000);

  it('a -crashloop image shows the failing pod\'s reason and the rollback; "Roll back" starts a new release', async () => {
    await startRelease('shop', 'dev', 'registry.local/shop:2.0-crashloop');
    await page
      .locator('.pod-reason', { hasText: 'CrashLoopBackOff' })
      .first()
      .waitFor({ timeout: 30_000 });
    await shoot('release-crashloop');
    await statusIs('ROLLED_BACK');
    const message = (await page.getByTestId('release-message').textContent()) ?? '';
    expect(message).toMatch(/CrashLoopBackOff/);
    expect(message).toMatch(/rolled back to #\d+ \(registry\.local\/shop:1\.0\)/);
    expect(await page.locator('.steps').textContent()).toContain('rollback');
    await shoot('release-rolled-back');

    // The API says a rollback is possible (1.0 succeeded before): the button is there.
    await page.getByRole('button', { name: 'Roll back' }).click();
    await page.getByText('Rolls back').waitFor();
    await statusIs('SUCCEEDED');
    expect(await page.locator('main').textContent()).toContain('registry.local/shop:1.0');
  }, 90_000);

  it('a canary release pauses with its canary pod listed (after a reload too); Promote rolls out', async () => {
    for (const q of [
      `mutation { createApp(input: { name: "beacon", kind: NODE, container: { replicas: 2 }, releaseConfig: { strategy: CANARY, canaryReplicas: 1, canaryPauseSeconds: 3600 } }) { id } }`,
      `mutation { setAppMember(app: "beacon", username: "dev", role: DEVELOPER) { name } }`,
    ]) {
      const r = await t.gql(q);
      expect(r.errors, q).toBeUndefined();
    }
    await signInAs(dev);
    const id = await startRelease('beacon', 'dev', 'registry.local/beacon:1.0');
    await statusIs('PAUSED');
    // The app's page: the canary has a card of its own with its pod; the app's own card
    // (not deployed yet: the canary runs first) lists none of the canary's pods.
    await page.goto(`${base}/apps/beacon`);
    await page.getByRole('button', { name: 'dev', exact: true }).click();
    const canaryCard = page.getByTestId('canary-sim-1');
    await canaryCard
      .getByTestId('pod-row')
      .filter({ hasText: /beacon-canary-/ })
      .first()
      .waitFor({ timeout: 15_000 });
    expect(await canaryCard.textContent()).toContain('registry.local/beacon:1.0');
    const appCard = page.getByTestId('workload-sim-1');
    await appCard.waitFor();
    expect(await appCard.textContent()).not.toMatch(/beacon-canary-/);
    await shoot('app-canary');
    await page.goto(`${base}/releases/${encodeURIComponent(id)}`);
    // Listed by the query (not only by live pod events): a reload still shows it.
    await page.reload();
    await statusIs('PAUSED');
    const canaryPods = page.getByTestId('pod').filter({ hasText: /beacon-canary-/ });
    await expect.poll(() => canaryPods.count(), { timeout: 15_000 }).toBe(1);
    expect(await canaryPods.first().textContent()).toContain('registry.local/beacon:1.0');
    await shoot('release-canary-paused');
    await page.getByRole('button', { name: 'Promote' }).click();
    await statusIs('SUCCEEDED');
    await expect.poll(() => canaryPods.count(), { timeout: 15_000 }).toBe(0);
  }, 90_000);

  it('a prod release shows its ticket; a second user approves it from /tickets and it deploys to both clusters', async () => {
    const id = await startRelease('shop', 'prod', 'registry.local/shop:1.1');
    await statusIs('AWAITING_APPROVAL');
    const ticket = page.getByTestId('ticket');
    await ticket.getByText('OPEN').waitFor();
    expect(await ticket.textContent()).toContain('asked by dev');
    // The requester may not decide it (viewerCanDecide false): no buttons; cancel is theirs.
    expect(await ticket.getByRole('button').count()).toBe(0);
    await page.getByRole('button', { name: 'Cancel release' }).waitFor();
    await shoot('release-ticket');
    await page.goto(`${base}/tickets`);
    await page.getByText('To decide (0)').waitFor();
    await page.getByText('Mine (1)').waitFor();

    await signInAs(owner);
    await page.goto(`${base}/tickets`);
    await page.getByText('To decide (1)').waitFor();
    await shoot('tickets');
    const card = page.locator('.ticket-card').first();
    await card.getByLabel('Comment').fill('Go ahead');
    await card.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('To decide (0)').waitFor();

    await page.goto(`${base}/releases/${encodeURIComponent(id)}`);
    await statusIs('SUCCEEDED', 60_000);
    await page.getByTestId('cluster-sim-2').waitFor();
    expect(await page.getByTestId('cluster-sim-1').textContent()).toContain('available2/2');
    expect(await page.getByTestId('cluster-sim-2').textContent()).toContain('available2/2');
    const ticketText = (await page.getByTestId('ticket').textContent()) ?? '';
    expect(ticketText).toContain('APPROVED');
    expect(ticketText).toContain('olivia');
    expect(ticketText).toContain('Go ahead');
  }, 120_000);

  it('resumes releaseProgress with `after` when the socket drops, and misses nothing', async () => {
    await signInAs(dev);
    const id = await startRelease('cart', 'prod', 'registry.local/cart:1.0');
    await statusIs('AWAITING_APPROVAL');
    // Resuming needs something received first: wait until the feed has delivered an entry.
    await expect
      .poll(() => page.locator('.progress-log li').count(), { timeout: 30_000 })
      .toBeGreaterThan(0);
    const before = subscribes.length;
    for (const s of sockets.splice(0)) s.destroy();
    // The resubscribe after the drop names the last entry it has (any resubscribe of this release that does).
    const resumedAfter = () =>
      subscribes
        .slice(before)
        .filter((s) => s.query.includes('releaseProgress') && s.variables.id === id)
        .map((s) => s.variables.after)
        .find((a) => a != null);
    await expect
      .poll(() => (resumedAfter() as string | undefined) ?? '', { timeout: 45_000 })
      .toMatch(/^\d+$/);
    const q = await t.gql(`query($id: ID!) { release(id: $id) { ticket { id } } }`, { id });
    expect(
      (
        await t.gql(
          `mutation($id: ID!) { approveTicket(id: $id) { status } }`,
          { id: q.data.release.ticket.id },
          owner,
        )
      ).errors,
    ).toBeUndefined();
    await statusIs('SUCCEEDED', 60_000);
    // Every progress entry once, none missing: 1..n.
    const seqs = (await page.locator('.progress-log li').allTextContents())
      .map((s) => Number(/#(\d+)/.exec(s)![1]))
      .reverse();
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  }, 90_000);

  it('/events shows history and new events live, filtered by type and app', async () => {
    await page.goto(`${base}/events`);
    await page.getByTestId('event').first().waitFor();
    await page.getByLabel('Type').selectOption('APP_CREATED');
    await page.getByTestId('event').filter({ hasText: 'cart' }).waitFor();
    expect(await page.getByTestId('event').filter({ hasText: 'RELEASE_' }).count()).toBe(0);
    expect(
      (await t.gql(`mutation { createApp(input: { name: "live-one", kind: STATIC }) { id } }`))
        .errors,
    ).toBeUndefined();
    await page.getByTestId('event').filter({ hasText: 'live-one' }).waitFor({ timeout: 15_000 });
    await page.getByLabel('App').fill('shop');
    await expect.poll(() => page.getByTestId('event').count()).toBe(1);
    await shoot('events');
  }, 60_000);

  it('speaks to people about errors, with the code in a detail line', async () => {
    await page.goto(`${base}/apps/shop`);
    const form = page.getByRole('form', { name: 'Start a release' });
    await form.getByLabel('Image').fill('not an image!');
    await form.getByRole('button', { name: 'Start release' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    expect(await alert.locator('.error-headline').textContent()).toBe(
      'Something in the form needs fixing.',
    );
    expect(await alert.locator('.error-detail').textContent()).toContain('BAD_USER_INPUT');
    await shoot('app-error');
  });

  it('offers no release buttons to an app VIEWER (the API says so), but shows everything', async () => {
    await signInAs(viewer);
    await page.goto(`${base}/apps/shop`);
    await page.getByRole('heading', { name: 'Recent releases' }).waitFor();
    await page
      .getByRole('link', { name: 'registry.local/shop:2.0-crashloop', exact: true })
      .click();
    await statusIs('ROLLED_BACK');
    await page.getByTestId('pod').first().waitFor();
    expect(await page.getByRole('form', { name: 'Start a release' }).count()).toBe(0);
    expect(
      await page.getByRole('button', { name: /Roll back|Cancel release|Promote/ }).count(),
    ).toBe(0);
    await page.goto(`${base}/apps/shop`);
    await page.getByRole('heading', { name: 'Recent releases' }).waitFor();
    expect(await page.getByRole('form', { name: 'Start a release' }).count()).toBe(0);
  });

  it('raised no uncaught errors and no CSP violations in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
