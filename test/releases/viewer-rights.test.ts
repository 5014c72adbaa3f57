/**
 * `Release.viewerCanCancel` / `viewerCanPromote` / `viewerCanRollback`: the API says which
 * release buttons a viewer gets (the web console renders them, it never recomputes roles).
 * Same rules as the commands: DEVELOPER or above with a WRITE credential, and a state the
 * command accepts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableModes,
  createUserWithToken,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { createRelease, follow } from './support.js';

const RIGHTS = `query($id: ID!) { release(id: $id) { status viewerCanCancel viewerCanPromote viewerCanRollback } }`;

describe.each(availableModes)('release viewer rights (%s)', (mode) => {
  let t: TestPhantom;
  let dev: string;
  let devRead: string;
  let watcher: string;

  async function rights(id: string, token?: string) {
    const r = await t.gql(RIGHTS, { id }, token);
    expect(r.errors).toBeUndefined();
    return r.data.release as {
      status: string;
      viewerCanCancel: boolean;
      viewerCanPromote: boolean;
      viewerCanRollback: boolean;
    };
  }

  beforeAll(async () => {
    t = await startTestPhantom(mode, {
      env: { PHANTOM_EMBEDDED_CLUSTERS: 'on', PHANTOM_RELEASE_FAILURE_GRACE_MS: '1000' },
    });
    dev = await createUserWithToken(t, 'dev');
    devRead = (
      await t.gql(`mutation { createApiToken(name: "ro", scopes: [READ]) { token } }`, {}, dev)
    ).data.createApiToken.token;
    watcher = await createUserWithToken(t, 'watcher');
    for (const q of [
      `mutation { createApp(input: { name: "shop", kind: NODE, container: { replicas: 1 } }) { id } }`,
      `mutation { createApp(input: { name: "bird", kind: NODE, container: { replicas: 2 }, releaseConfig: { strategy: CANARY, canaryPauseSeconds: 3600 } }) { id } }`,
      `mutation { setAppMember(app: "shop", username: "dev", role: DEVELOPER) { name } }`,
      `mutation { setAppMember(app: "bird", username: "dev", role: DEVELOPER) { name } }`,
      `mutation { setAppMember(app: "shop", username: "watcher", role: VIEWER) { name } }`,
    ]) {
      expect((await t.gql(q)).errors).toBeUndefined();
    }
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('App.viewerCanRelease: a DEVELOPER and the admin, not a VIEWER, not a READ token', async () => {
    const q = `{ app(name: "shop") { viewerCanRelease } }`;
    expect((await t.gql(q, {}, dev)).data.app.viewerCanRelease).toBe(true);
    expect((await t.gql(q)).data.app.viewerCanRelease).toBe(true);
    expect((await t.gql(q, {}, watcher)).data.app.viewerCanRelease).toBe(false);
    expect((await t.gql(q, {}, devRead)).data.app.viewerCanRelease).toBe(false);
  });

  it('cancel: a DEVELOPER while it runs, not a VIEWER, not a READ token, not after a cancel', async () => {
    const r = await createRelease(
      t,
      { app: 'shop', env: 'prod', image: 'registry.local/shop:0.9' },
      dev,
    );
    expect(await rights(r.id, dev)).toMatchObject({
      viewerCanCancel: true,
      viewerCanPromote: false,
      viewerCanRollback: false,
    });
    expect((await rights(r.id, watcher)).viewerCanCancel).toBe(false);
    expect((await rights(r.id, devRead)).viewerCanCancel).toBe(false);
    expect((await rights(r.id)).viewerCanCancel).toBe(true); // the platform admin
    expect(
      (await t.gql(`mutation($id: ID!) { cancelRelease(id: $id) { id } }`, { id: r.id }, dev))
        .errors,
    ).toBeUndefined();
    expect((await rights(r.id, dev)).viewerCanCancel).toBe(false);
    const frames = await follow(t.ws(dev), r.id);
    expect(frames.at(-1)!.release.status).toBe('CANCELED');
    // Nothing succeeded before it: nothing to roll back to.
    expect(await rights(r.id, dev)).toMatchObject({
      viewerCanCancel: false,
      viewerCanRollback: false,
    });
  }, 60_000);

  it('rollback: an ended release with an earlier success, for a DEVELOPER only', async () => {
    const first = await createRelease(
      t,
      { app: 'shop', env: 'dev', image: 'registry.local/shop:1.0' },
      dev,
    );
    expect((await follow(t.ws(dev), first.id)).at(-1)!.release.status).toBe('SUCCEEDED');
    const second = await createRelease(
      t,
      { app: 'shop', env: 'dev', image: 'registry.local/shop:1.1' },
      dev,
    );
    expect((await rights(second.id, dev)).viewerCanRollback).toBe(false); // still running
    expect((await follow(t.ws(dev), second.id)).at(-1)!.release.status).toBe('SUCCEEDED');
    expect(await rights(second.id, dev)).toMatchObject({
      viewerCanCancel: false,
      viewerCanRollback: true,
    });
    expect((await rights(second.id, watcher)).viewerCanRollback).toBe(false);
    expect((await rights(second.id, devRead)).viewerCanRollback).toBe(false);
    expect((await rights(first.id, dev)).viewerCanRollback).toBe(false);
    // And the command agrees with the field.
    expect(
      (
        await t.gql(
          `mutation($id: ID!) { rollbackRelease(id: $id) { id } }`,
          { id: second.id },
          dev,
        )
      ).errors,
    ).toBeUndefined();
  }, 90_000);

  it('promote: a PAUSED canary, for a DEVELOPER', async () => {
    const r = await createRelease(
      t,
      { app: 'bird', env: 'dev', image: 'registry.local/bird:1.0' },
      dev,
    );
    await follow(t.ws(dev), r.id, { until: (f) => f.release.status === 'PAUSED' });
    expect(await rights(r.id, dev)).toMatchObject({
      status: 'PAUSED',
      viewerCanPromote: true,
      viewerCanCancel: true,
    });
    expect((await rights(r.id, devRead)).viewerCanPromote).toBe(false);
    expect(
      (await t.gql(`mutation($id: ID!) { promoteRelease(id: $id) { id } }`, { id: r.id }, dev))
        .errors,
    ).toBeUndefined();
    expect((await follow(t.ws(dev), r.id)).at(-1)!.release.status).toBe('SUCCEEDED');
    expect((await rights(r.id, dev)).viewerCanPromote).toBe(false);
  }, 90_000);
});
