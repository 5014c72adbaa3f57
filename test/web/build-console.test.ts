/**
 * The build console in a real browser (Debian Chromium + playwright-core) against a real
 * Phantom on the embedded default: a developer builds an app from its page, watches the log
 * arrive line by line on /builds/<id> while the build runs (the build waits for the test
 * between two lines), sees it succeed with its image and scanned jar, and the release to dev
 * that followed by itself on the app page. A viewer gets no "Build" or "Cancel" button.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createUserWithToken, startTestPhantom, type TestPhantom } from '../support/harness.js';
import { ensureWebBuild } from './support/web-build.js';
import { launchChromium, type TestBrowser } from './support/browser.js';
import { makeJar, makeRepo } from '../builds/support.js';

const SHOTS = process.env.PHANTOM_SCREENSHOT_DIR ?? '/tmp';
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

describe('build console in Chromium', () => {
  let t: TestPhantom;
  let b: TestBrowser;
  let page: Page;
  let base: string;
  let dev: string;
  let viewer: string;
  let root: string;
  let gate: string;
  const pageErrors: string[] = [];

  async function signInAs(token: string): Promise<void> {
    await page.goto(`${base}/`);
    await page.evaluate(`localStorage.setItem('phantom.token', ${JSON.stringify(token)})`);
  }

  async function shoot(name: string): Promise<void> {
    await page.screenshot({ path: `${SHOTS}/phantom-web-${name}.png`, fullPage: true });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: `${SHOTS}/phantom-web-${name}-phone.png`, fullPage: true });
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
      PHONE.width,
    );
    await page.setViewportSize(DESKTOP);
  }

  beforeAll(async () => {
    await ensureWebBuild();
    root = mkdtempSync(join(tmpdir(), 'phantom-build-console-'));
    gate = join(root, 'go');
    const repo = makeRepo(
      {
        'build.sh': `echo "compiling shop"\nwhile [ ! -e ${gate} ]; do sleep 0.1; done\necho "tests passed"\n`,
      },
      root,
    );
    makeJar(repo.dir, 'lib/log4j-core-2.17.1.jar', [
      { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-core', version: '2.17.1' },
    ]);
    repo.commit({}, 'jar');
    t = await startTestPhantom('embedded', {
      env: { PHANTOM_EMBEDDED_CLUSTERS: 'on', PHANTOM_WS_MAX_SOCKETS_PER_CLIENT: '1000' },
    });
    base = t.url.replace(/\/graphql$/, '');
    dev = await createUserWithToken(t, 'dev');
    viewer = await createUserWithToken(t, 'vera');
    for (const [q, v] of [
      [
        `mutation($r: String!) { createApp(input: { name: "shop", kind: JAVA, repository: $r, buildCommand: "sh build.sh", container: { replicas: 1 }, releaseConfig: { autoReleaseEnvs: ["dev"] } }) { id } }`,
        { r: repo.url },
      ],
      [`mutation { setAppMember(app: "shop", username: "dev", role: DEVELOPER) { name } }`, {}],
      [`mutation { setAppMember(app: "shop", username: "vera", role: VIEWER) { name } }`, {}],
    ] as const) {
      const r = await t.gql(q, v);
      expect(r.errors, q).toBeUndefined();
    }
    b = await launchChromium();
    page = await b.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e.stack ?? e)));
    page.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) pageErrors.push(m.text());
    });
  }, 120_000);

  afterAll(async () => {
    await b?.close();
    await t?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('builds from the app page; the log arrives live; the build succeeds and releases to dev by itself', async () => {
    await signInAs(dev);
    await page.goto(`${base}/apps/shop`);
    await page.getByText('No builds yet.').waitFor();
    const form = page.getByRole('form', { name: 'Build' });
    await form.getByRole('button', { name: 'Build' }).click();
    await page.waitForURL(/\/builds\/[^/]+$/);
    const log = page.getByRole('list', { name: 'Build log' });
    // The first line is on the page while the build is still running (it waits for the gate).
    await log.getByText('compiling shop').waitFor({ timeout: 30_000 });
    expect(await log.getByText('tests passed').count()).toBe(0);
    await page.locator('.page-head .status', { hasText: /^RUNNING$/ }).waitFor();
    await page.getByRole('button', { name: 'Cancel build' }).waitFor();
    await shoot('build-running');
    writeFileSync(gate, '');
    await log.getByText('tests passed').waitFor({ timeout: 30_000 });
    await page
      .locator('.page-head .status', { hasText: /^SUCCEEDED$/ })
      .waitFor({ timeout: 30_000 });
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).toMatch(/registry\.local\/shop:1-[0-9a-f]{7}/);
    expect(text).toContain('log4j-core');
    expect(text).toContain('lib/log4j-core-2.17.1.jar');
    expect(await page.getByRole('button', { name: 'Cancel build' }).count()).toBe(0);
    await shoot('build');

    // The app page lists the build and the release that followed it to dev.
    await page.getByRole('link', { name: 'shop', exact: true }).first().click();
    await page.getByRole('link', { name: '#1', exact: true }).waitFor();
    await expect
      .poll(async () => (await page.locator('main').textContent()) ?? '', { timeout: 30_000 })
      .toMatch(/Recent releases[\s\S]*registry\.local\/shop:1-/);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('a viewer sees builds and their logs but gets no Build or Cancel button', async () => {
    await signInAs(viewer);
    await page.goto(`${base}/apps/shop`);
    await page.getByRole('link', { name: '#1', exact: true }).click();
    await page.getByRole('list', { name: 'Build log' }).getByText('tests passed').waitFor();
    expect(await page.getByRole('button', { name: 'Cancel build' }).count()).toBe(0);
    await page.goto(`${base}/apps/shop`);
    await page.getByRole('heading', { name: 'Recent builds' }).waitFor();
    expect(await page.getByRole('form', { name: 'Build' }).count()).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
