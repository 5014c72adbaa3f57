/**
 * Admin rules through GraphQL, on both modes: maintenance windows (absolute, and weekly across
 * midnight in a non-UTC zone) stop a release at its precheck with the window's name, reason
 * and end; a whitelist entry lets the app through until it expires; admins edit, every
 * signed-in user reads; every change is a platform event and in the audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import {
  availableModes,
  createUserWithToken,
  errorCode,
  startTestPhantom,
  type TestPhantom,
} from '../support/harness.js';
import { waitFor } from '../k8s/support.js';
import { createRelease, follow, getRelease } from '../releases/support.js';

const WINDOW =
  'id name envs apps startsAt endsAt weekly { days startTime endTime } timezone reason activeUntil createdBy';
const ENTRY = 'id app rule reason expiresAt expired createdBy';
const WEEKDAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'];

describe.each(availableModes)('admin rules (%s)', (mode) => {
  let t: TestPhantom;
  let dev: string;
  let reader: string;
  let adminWithoutAdminScope: string;

  const createWindow = async (input: Record<string, unknown>, token?: string | null) =>
    t.gql(
      `mutation($i: MaintenanceWindowInput!) { createMaintenanceWindow(input: $i) { ${WINDOW} } }`,
      { i: input },
      token,
    );
  const createEntry = async (input: Record<string, unknown>, token?: string | null) =>
    t.gql(
      `mutation($i: WhitelistEntryInput!) { createWhitelistEntry(input: $i) { ${ENTRY} } }`,
      { i: input },
      token,
    );

  /** Releases `app` to `env` and follows it to its end; returns the release as read afterwards. */
  const release = async (app: string, env: string, image: string) => {
    const r = await createRelease(t, { app, env, image }, dev);
    const frames = await follow(t.ws(dev), r.id);
    expect(frames.at(-1)!.release.status).toMatch(/SUCCEEDED|FAILED/);
    return getRelease(t, r.id, dev);
  };
  const precheck = (r: any, rule: string) => r.prechecks.find((p: any) => p.rule === rule);

  beforeAll(async () => {
    t = await startTestPhantom(mode, { env: { PHANTOM_EMBEDDED_CLUSTERS: 'on' } });
    dev = await createUserWithToken(t, 'dev');
    reader = await createUserWithToken(t, 'reader', { scopes: ['READ'] });
    adminWithoutAdminScope = await createUserWithToken(t, 'admin2', {
      isAdmin: true,
      scopes: ['READ', 'WRITE'],
    });
    for (const app of ['shop', 'cart']) {
      const created = await t.gql(
        `mutation($n: String!) { createApp(input: { name: $n, kind: NODE, container: { replicas: 1 } }) { id } }`,
        { n: app },
      );
      expect(created.errors).toBeUndefined();
      expect(
        (
          await t.gql(
            `mutation($n: String!) { setAppMember(app: $n, username: "dev", role: DEVELOPER) { name } }`,
            { n: app },
          )
        ).errors,
      ).toBeUndefined();
    }
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('admins edit the rules; every signed-in user reads them; anonymous callers do not', async () => {
    const input = {
      name: 'authz-probe',
      envs: ['prod'],
      startsAt: '2030-01-01T00:00:00Z',
      endsAt: '2030-01-02T00:00:00Z',
      reason: 'probe',
    };
    expect(errorCode(await createWindow(input, dev))).toBe('FORBIDDEN');
    expect(errorCode(await createWindow(input, reader))).toBe('FORBIDDEN');
    expect(errorCode(await createWindow(input, adminWithoutAdminScope))).toBe('FORBIDDEN');
    expect(errorCode(await createWindow(input, null))).toBe('UNAUTHENTICATED');
    const made = await createWindow(input);
    expect(made.errors).toBeUndefined();
    const id = made.data.createMaintenanceWindow.id;
    expect(
      errorCode(
        await t.gql(`mutation($id: ID!) { deleteMaintenanceWindow(id: $id) }`, { id }, dev),
      ),
    ).toBe('FORBIDDEN');
    expect(
      errorCode(
        await t.gql(
          `mutation { createDependencyRule(input: { artifact: "log4j-core", minVersion: "2.17.1" }) { id } }`,
          {},
          dev,
        ),
      ),
    ).toBe('FORBIDDEN');
    expect(
      errorCode(
        await createEntry(
          { app: 'shop', rule: 'authz-probe', reason: 'x', expiresAt: '2030-01-01T00:00:00Z' },
          dev,
        ),
      ),
    ).toBe('FORBIDDEN');
    for (const token of [dev, reader]) {
      const s = await t.gql(
        `{ settings { maintenanceWindows { name reason } dependencyRules { name } whitelist { app } } }`,
        {},
        token,
      );
      expect(s.errors).toBeUndefined();
      expect(s.data.settings.maintenanceWindows).toContainEqual({
        name: 'authz-probe',
        reason: 'probe',
      });
    }
    expect(errorCode(await t.gql(`{ settings { maintenanceWindows { name } } }`, {}, null))).toBe(
      'UNAUTHENTICATED',
    );
    expect(
      (await t.gql(`mutation($id: ID!) { deleteMaintenanceWindow(id: $id) }`, { id })).data
        .deleteMaintenanceWindow,
    ).toBe(true);
    expect(
      errorCode(await t.gql(`mutation($id: ID!) { deleteMaintenanceWindow(id: $id) }`, { id })),
    ).toBe('NOT_FOUND');
  });

  it('refuses windows it cannot evaluate', async () => {
    const base = { name: 'bad', envs: ['dev'], reason: 'r' };
    expect(
      errorCode(
        await createWindow({
          ...base,
          weekly: { days: ['MON'], startTime: '25:00', endTime: '06:00' },
          timezone: 'UTC',
        }),
      ),
    ).toBe('BAD_USER_INPUT');
    expect(
      errorCode(
        await createWindow({
          ...base,
          weekly: { days: ['MON'], startTime: '22:00', endTime: '06:00' },
          timezone: 'Mars/Olympus',
        }),
      ),
    ).toBe('BAD_USER_INPUT');
    expect(
      errorCode(
        await createWindow({
          ...base,
          startsAt: '2030-01-02T00:00:00Z',
          endsAt: '2030-01-01T00:00:00Z',
        }),
      ),
    ).toBe('BAD_USER_INPUT');
    expect(
      errorCode(
        await createWindow({
          ...base,
          envs: ['nowhere'],
          startsAt: '2030-01-01T00:00:00Z',
          endsAt: '2030-01-02T00:00:00Z',
        }),
      ),
    ).toBe('BAD_USER_INPUT');
    expect(
      errorCode(
        await createWindow({
          ...base,
          startsAt: '2030-01-01T00:00:00Z',
          endsAt: '2030-01-02T00:00:00Z',
          weekly: { days: ['MON'], startTime: '22:00', endTime: '06:00' },
        }),
      ),
    ).toBe('BAD_USER_INPUT');
  });

  it('an absolute window refuses a release with its name, reason and end; other apps and envs go on', async () => {
    const endsAt = new Date(Date.now() + 3600_000).toISOString();
    const made = await createWindow({
      name: 'year-end freeze',
      envs: ['dev'],
      apps: ['shop'],
      startsAt: new Date(Date.now() - 60_000).toISOString(),
      endsAt,
      reason: 'Year-end sales: no changes',
    });
    expect(made.errors).toBeUndefined();
    expect(made.data.createMaintenanceWindow.activeUntil).toBe(endsAt);

    const r = await release('shop', 'dev', 'registry.local/shop:1.0');
    expect(r.status).toBe('FAILED');
    const p = precheck(r, 'maintenance-window:year-end freeze');
    expect(p.passed).toBe(false);
    expect(p.message).toContain('Year-end sales: no changes');
    expect(p.message).toContain(`It ends ${endsAt}`);
    expect(r.message).toContain('maintenance-window:year-end freeze');
    // Every rule is listed, not just the failure.
    expect(r.prechecks.map((x: any) => x.rule)).toEqual(
      expect.arrayContaining([
        'app',
        'one-active-release',
        'container-spec',
        'image',
        'targets',
        'dependency-rules',
      ]),
    );
    expect(precheck(r, 'dependency-rules')).toMatchObject({
      passed: true,
      message: 'No dependency rules.',
    });
    expect(r.steps[0]).toMatchObject({ name: 'precheck', status: 'FAILED' });

    // Scoped to shop in dev: cart in dev and shop in test are released.
    const cart = await release('cart', 'dev', 'registry.local/cart:1.0');
    expect(cart.status).toBe('SUCCEEDED');
    expect(precheck(cart, 'maintenance-windows')).toMatchObject({ passed: true });
    expect((await release('shop', 'test', 'registry.local/shop:1.0')).status).toBe('SUCCEEDED');
  });

  it('a whitelist entry lets the app through until it expires; an expired one stops applying at once', async () => {
    const long = await createEntry({
      app: 'shop',
      rule: 'year-end freeze',
      reason: 'hotfix for checkout',
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    });
    expect(long.errors).toBeUndefined();
    const through = await release('shop', 'dev', 'registry.local/shop:1.1');
    expect(through.status).toBe('SUCCEEDED');
    const p = precheck(through, 'maintenance-window:year-end freeze');
    expect(p.passed).toBe(true);
    expect(p.message).toContain('the whitelist applied');
    expect(p.message).toContain('hotfix for checkout');
    expect(
      (
        await t.gql(`mutation($id: ID!) { deleteWhitelistEntry(id: $id) }`, {
          id: long.data.createWhitelistEntry.id,
        })
      ).data.deleteWhitelistEntry,
    ).toBe(true);

    const expiresAt = new Date(Date.now() + 1500);
    const short = await createEntry({
      app: 'shop',
      rule: 'year-end freeze',
      reason: 'brief exemption',
      expiresAt: expiresAt.toISOString(),
    });
    expect(short.errors).toBeUndefined();
    await waitFor(() => Date.now() > expiresAt.getTime() + 10, 5000);
    const s = await t.gql(`{ settings { whitelist { ${ENTRY} } } }`, {}, reader);
    expect(s.data.settings.whitelist.find((e: any) => e.reason === 'brief exemption').expired).toBe(
      true,
    );
    const stopped = await release('shop', 'dev', 'registry.local/shop:1.2');
    expect(stopped.status).toBe('FAILED');
    expect(precheck(stopped, 'maintenance-window:year-end freeze').passed).toBe(false);
    // Renaming the window carries its whitelist entries over.
    const windows = (await t.gql(`{ settings { maintenanceWindows { ${WINDOW} } } }`)).data.settings
      .maintenanceWindows;
    const w = windows.find((x: any) => x.name === 'year-end freeze');
    const renamed = await t.gql(
      `mutation($id: ID!, $i: MaintenanceWindowInput!) { updateMaintenanceWindow(id: $id, input: $i) { name } }`,
      {
        id: w.id,
        i: {
          name: 'year-end freeze 2026',
          envs: w.envs,
          apps: w.apps,
          startsAt: w.startsAt,
          endsAt: w.endsAt,
          reason: w.reason,
        },
      },
    );
    expect(renamed.errors).toBeUndefined();
    const after = (await t.gql(`{ settings { whitelist { ${ENTRY} } } }`)).data.settings.whitelist;
    expect(after.find((e: any) => e.reason === 'brief exemption').rule).toBe(
      'year-end freeze 2026',
    );
    // A whitelist entry must name an existing rule and expire in the future.
    expect(
      errorCode(
        await createEntry({
          app: 'shop',
          rule: 'no such rule',
          reason: 'x',
          expiresAt: new Date(Date.now() + 3600_000).toISOString(),
        }),
      ),
    ).toBe('BAD_USER_INPUT');
    expect(
      errorCode(
        await createEntry({
          app: 'shop',
          rule: 'year-end freeze 2026',
          reason: 'x',
          expiresAt: new Date(Date.now() - 1000).toISOString(),
        }),
      ),
    ).toBe('BAD_USER_INPUT');
  });

  it('a weekly window across midnight in a non-UTC zone refuses a release; updated to another day, it lets it go', async () => {
    // A 23-hour window that began an hour ago (local to Kolkata, UTC+05:30) and ends the next
    // local day: active now whatever the time of the test run, and always across midnight.
    const zone = 'Asia/Kolkata';
    const start = DateTime.now().setZone(zone).minus({ hours: 1 }).startOf('minute');
    const end = start.plus({ hours: 23 });
    const weekly = {
      days: [WEEKDAYS[start.weekday - 1]],
      startTime: start.toFormat('HH:mm'),
      endTime: end.toFormat('HH:mm'),
    };
    const made = await createWindow({
      name: 'night maintenance',
      envs: ['test'],
      weekly,
      timezone: zone,
      reason: 'Database maintenance',
    });
    expect(made.errors).toBeUndefined();
    expect(made.data.createMaintenanceWindow.activeUntil).toBe(end.toUTC().toISO());

    const r = await release('cart', 'test', 'registry.local/cart:2.0');
    expect(r.status).toBe('FAILED');
    const p = precheck(r, 'maintenance-window:night maintenance');
    expect(p.passed).toBe(false);
    expect(p.message).toContain('Database maintenance');
    expect(p.message).toContain(
      `It ends ${end.toUTC().toJSDate().toISOString()} (${end.toFormat('ccc yyyy-LL-dd HH:mm')} ${zone})`,
    );

    // The same hours two and three days after the day it began: not active now.
    const other = [WEEKDAYS[(start.weekday + 1) % 7], WEEKDAYS[(start.weekday + 2) % 7]];
    const updated = await t.gql(
      `mutation($id: ID!, $i: MaintenanceWindowInput!) { updateMaintenanceWindow(id: $id, input: $i) { ${WINDOW} } }`,
      {
        id: made.data.createMaintenanceWindow.id,
        i: {
          name: 'night maintenance',
          envs: ['test'],
          weekly: { ...weekly, days: other },
          timezone: zone,
          reason: 'Database maintenance',
        },
      },
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data.updateMaintenanceWindow.activeUntil).toBeNull();
    const ok = await release('cart', 'test', 'registry.local/cart:2.0');
    expect(ok.status).toBe('SUCCEEDED');
    expect(precheck(ok, 'maintenance-window:night maintenance')).toMatchObject({
      passed: true,
      message: 'Maintenance window "night maintenance" is not active now.',
    });
  });

  it('a dependency rule is listed; a release without a build passes it, saying no artifacts were scanned', async () => {
    const made = await t.gql(
      `mutation { createDependencyRule(input: { artifact: "log4j-core", minVersion: "2.17.1", bannedVersions: ["2.15.0"], message: "Upgrade log4j" }) { id name artifact minVersion bannedVersions message } }`,
    );
    expect(made.errors).toBeUndefined();
    expect(made.data.createDependencyRule).toMatchObject({
      name: 'log4j-core',
      minVersion: '2.17.1',
      bannedVersions: ['2.15.0'],
    });
    expect(
      errorCode(
        await t.gql(
          `mutation { createDependencyRule(input: { artifact: "log4j-core", minVersion: "2.17.1" }) { id } }`,
        ),
      ),
    ).toBe('CONFLICT');
    expect(
      errorCode(
        await t.gql(`mutation { createDependencyRule(input: { artifact: "guava" }) { id } }`),
      ),
    ).toBe('BAD_USER_INPUT');
    const r = await release('cart', 'dev', 'registry.local/cart:3.0');
    expect(r.status).toBe('SUCCEEDED');
    expect(precheck(r, 'dependency-rules').message).toMatch(
      /^No build artifacts were scanned .*: 1 dependency rule\(s\) not evaluated\.$/,
    );
    expect(
      (
        await t.gql(`mutation($id: ID!) { deleteDependencyRule(id: $id) }`, {
          id: made.data.createDependencyRule.id,
        })
      ).data.deleteDependencyRule,
    ).toBe(true);
  });

  it('every change is a SETTINGS_CHANGED platform event and an audit entry', async () => {
    const expected = [
      'maintenanceWindow:created',
      'maintenanceWindow:updated',
      'maintenanceWindow:deleted',
      'dependencyRule:created',
      'dependencyRule:deleted',
      'whitelistEntry:created',
      'whitelistEntry:deleted',
    ];
    // The relay publishes events after their commit: wait until the last ones are there.
    const events = await waitFor(async () => {
      const r = await t.gql(
        `{ platformEvents(filter: { types: [SETTINGS_CHANGED] }, first: 100) { edges { node { actor app payload } } } }`,
        {},
        reader,
      );
      const nodes = r.data?.platformEvents.edges.map((e: any) => e.node) ?? [];
      const changes = new Set(nodes.map((e: any) => `${e.payload.setting}:${e.payload.change}`));
      return expected.every((c) => changes.has(c)) ? nodes : undefined;
    }, 15_000);
    expect(events.find((e: any) => e.payload.setting === 'whitelistEntry')).toMatchObject({
      actor: 'admin',
      app: 'shop',
    });
    const fields = await waitFor(async () => {
      const audit = await t.gql(
        `{ auditLog(first: 100) { edges { node { rootField outcome actor errorCode } } } }`,
      );
      const nodes = audit.data?.auditLog.edges.map((e: any) => e.node) ?? [];
      const roots = new Set(nodes.map((n: any) => n.rootField));
      const all = [
        'createMaintenanceWindow',
        'updateMaintenanceWindow',
        'deleteMaintenanceWindow',
        'createDependencyRule',
        'deleteDependencyRule',
        'createWhitelistEntry',
        'deleteWhitelistEntry',
      ];
      return all.every((f) => roots.has(f)) ? nodes : undefined;
    }, 15_000);
    // Refused attempts are in it too.
    expect(fields).toContainEqual(
      expect.objectContaining({
        rootField: 'createMaintenanceWindow',
        actor: 'dev',
        errorCode: 'FORBIDDEN',
      }),
    );
  });

  // Found by an adversarial probe: a deleted app's exemptions stayed listed, and looked live
  // for a new app of the same name (they did not apply: they name the old app's id).
  it('deleting an app deletes its whitelist entries', async () => {
    const created = await t.gql(`mutation { createApp(input: { name: "gone", kind: GO }) { id } }`);
    expect(created.errors).toBeUndefined();
    const rule = (await t.gql(`{ settings { maintenanceWindows { name } } }`)).data.settings
      .maintenanceWindows[0].name as string;
    const entry = await createEntry({
      app: 'gone',
      rule,
      reason: 'exempt before deletion',
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    });
    expect(entry.errors).toBeUndefined();
    const listed = async () =>
      (await t.gql(`{ settings { whitelist { ${ENTRY} } } }`)).data.settings.whitelist.filter(
        (e: any) => e.app === 'gone',
      );
    expect(await listed()).toHaveLength(1);
    expect((await t.gql(`mutation { deleteApp(name: "gone") }`)).data.deleteApp).toBe(true);
    expect(await listed()).toEqual([]);
    // A settings change like any deletion of an entry.
    const events = await t.gql(
      `{ platformEvents(filter: { app: "gone", types: [SETTINGS_CHANGED] }, order: NEWEST_FIRST, first: 5) { edges { node { payload } } } }`,
    );
    expect(events.data.platformEvents.edges.map((e: any) => e.node.payload)).toContainEqual(
      expect.objectContaining({
        setting: 'whitelistEntry',
        change: 'deleted',
        rule,
        reason: 'app deleted',
      }),
    );
    // A new app of that name starts with no exemption.
    await t.gql(`mutation { createApp(input: { name: "gone", kind: GO }) { id } }`);
    expect(await listed()).toEqual([]);
  });

  // Found by an adversarial probe: a DEVELOPER deployed directly (deployApp) during a freeze
  // that stopped every release.
  it('deployApp is refused during a maintenance window, as a release is; an admin may still deploy', async () => {
    const made = await createWindow({
      name: 'direct freeze',
      envs: ['dev'],
      apps: ['cart'],
      startsAt: new Date(Date.now() - 60_000).toISOString(),
      endsAt: new Date(Date.now() + 3600_000).toISOString(),
      reason: 'audit week',
    });
    expect(made.errors).toBeUndefined();
    try {
      const deploy = (token?: string) =>
        t.gql(
          `mutation { deployApp(app: "cart", env: "dev", image: "registry.local/cart:7") { cluster } }`,
          undefined,
          token,
        );
      const refused = await deploy(dev);
      expect(errorCode(refused)).toBe('CONFLICT');
      expect(refused.errors![0].message).toMatch(/direct freeze/);
      expect(refused.errors![0].message).toMatch(/audit week/);
      const admin = await deploy();
      expect(admin.errors).toBeUndefined();
    } finally {
      await t.gql(`mutation($id: ID!) { deleteMaintenanceWindow(id: $id) }`, {
        id: made.data.createMaintenanceWindow.id,
      });
    }
  });
});
