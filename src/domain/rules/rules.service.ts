/**
 * Admin rules, the commands: maintenance windows, dependency rules, whitelist entries. Admins
 * edit (requireAdmin), every signed-in viewer reads. Each change is one transaction with a
 * SETTINGS_CHANGED event (`payload.setting` names the kind of rule); the audit plugin records
 * the mutation itself. The release engine evaluates the rules (release-rules.ts).
 */
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { App } from '../apps/app.entity.js';
import { noteAuditTarget } from '../audit/audit-target.js';
import { PlatformEventType, recordEvent } from '../events/event-recorder.js';
import type { DomainContext } from '../shared/domain-context.js';
import { requireAdmin, requireViewer } from '../shared/authz.js';
import { actsAsAdmin, canWrite } from '../people/viewer.js';
import { DomainError, badInput, conflict } from '../shared/errors.js';
import { DependencyRule } from './dependency-rule.entity.js';
import { MaintenanceWindow } from './maintenance-window.entity.js';
import { activeOccurrence, isLocalTime, isTimeZone } from './maintenance-window.js';
import {
  Weekday,
  type DependencyRuleRecord,
  type MaintenanceWindowRecord,
  type WeeklyRange,
  type WhitelistEntryRecord,
} from './rule-model.js';
import {
  loadDependencyRules,
  loadMaintenanceWindows,
  loadWhitelist,
  toRuleRecord,
  toWhitelistRecord,
  toWindowRecord,
} from './rules.repository.js';
import { WhitelistEntry } from './whitelist-entry.entity.js';
import { RuleSetting } from './rule-setting.js';
import { charLength } from '../shared/text.js';
import { unknownEnvironments } from '../settings/environment.service.js';

export interface MaintenanceWindowInput {
  name: string;
  envs: string[];
  apps?: string[] | null;
  startsAt?: Date | null;
  endsAt?: Date | null;
  weekly?: WeeklyRange | null;
  /** IANA zone; default UTC. */
  timezone?: string | null;
  reason: string;
}

export interface DependencyRuleInput {
  /** Default: the artifact. */
  name?: string | null;
  artifact: string;
  minVersion?: string | null;
  bannedVersions?: string[] | null;
  message?: string | null;
}

export interface WhitelistEntryInput {
  app: string;
  rule: string;
  reason: string;
  expiresAt: Date;
}

export interface Settings {
  maintenanceWindows: MaintenanceWindowRecord[];
  dependencyRules: DependencyRuleRecord[];
  whitelist: WhitelistEntryRecord[];
  /** Whether the viewer may create and delete rules (admins with an ADMIN-scoped credential). */
  viewerCanEdit: boolean;
}

// --- validation ------------------------------------------------------------------------

// A rule name: printable, no control characters (it is shown in messages and chat).
const NAME = /^[^\p{Cc}]{1,100}$/u;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/;

function validName(field: string, raw: string): string {
  const name = raw.trim();
  if (!NAME.test(name)) throw badInput(field, `${field} is 1 to 100 printable characters.`);
  return name;
}

function validText(
  field: string,
  raw: string | null | undefined,
  max: number,
  required: boolean,
): string {
  const s = (raw ?? '').trim();
  if (required && !s)
    throw badInput(field, `Give a ${field}: it is shown to whoever the rule stops.`);
  if (charLength(s) > max) throw badInput(field, `${field} is at most ${max} characters.`);
  return s;
}

async function requireEnvs(em: EntityManager, envs: string[]): Promise<string[]> {
  const unique = [...new Set(envs)];
  if (!unique.length) throw badInput('envs', 'Name at least one environment.');
  const unknown = await unknownEnvironments(em, unique);
  if (unknown.length) throw badInput('envs', `Unknown environment(s): ${unknown.join(', ')}.`);
  return unique;
}

async function requireApps(em: EntityManager, apps: string[]): Promise<string[]> {
  const unique = [...new Set(apps)];
  if (unique.length > 200) throw badInput('apps', 'At most 200 apps.');
  if (!unique.length) return [];
  const known = new Set(
    (await em.find(App, { name: { $in: unique } }, { fields: ['name'] })).map((a) => a.name),
  );
  const unknown = unique.filter((a) => !known.has(a));
  if (unknown.length)
    throw new DomainError('NOT_FOUND', `App(s) not found: ${unknown.join(', ')}.`, {
      field: 'apps',
    });
  return unique;
}

function validWindowTimes(
  input: MaintenanceWindowInput,
): Pick<MaintenanceWindow, 'startsAt' | 'endsAt' | 'weekly' | 'timezone'> {
  const timezone = (input.timezone ?? 'UTC').trim() || 'UTC';
  if (!isTimeZone(timezone))
    throw badInput(
      'timezone',
      `"${timezone}" is not an IANA time zone (e.g. "Europe/Berlin", "Asia/Shanghai", "UTC").`,
    );
  const absolute = input.startsAt != null || input.endsAt != null;
  if (absolute && input.weekly)
    throw badInput('weekly', 'A window is either absolute (startsAt, endsAt) or weekly, not both.');
  if (input.weekly) {
    const { days, startTime, endTime } = input.weekly;
    if (!days.length) throw badInput('weekly.days', 'Name at least one day.');
    if (days.some((d) => !Object.values(Weekday).includes(d)))
      throw badInput('weekly.days', 'Days are MON … SUN.');
    if (!isLocalTime(startTime))
      throw badInput('weekly.startTime', `"${startTime}" is not a time "HH:MM" (00:00 … 23:59).`);
    if (!isLocalTime(endTime))
      throw badInput('weekly.endTime', `"${endTime}" is not a time "HH:MM" (00:00 … 23:59).`);
    if (startTime === endTime)
      throw badInput(
        'weekly.endTime',
        'endTime equals startTime: say which hours the window covers.',
      );
    const order = Object.values(Weekday);
    return {
      startsAt: null,
      endsAt: null,
      weekly: { days: order.filter((d) => days.includes(d)), startTime, endTime },
      timezone,
    };
  }
  if (input.startsAt == null || input.endsAt == null)
    throw badInput(
      input.startsAt == null ? 'startsAt' : 'endsAt',
      'Give startsAt and endsAt, or weekly.',
    );
  if (input.endsAt <= input.startsAt) throw badInput('endsAt', 'endsAt must be after startsAt.');
  return { startsAt: input.startsAt, endsAt: input.endsAt, weekly: null, timezone };
}

function uniqueName<T>(what: string, name: string) {
  return (e: unknown): T => {
    if (e instanceof UniqueConstraintViolationException)
      throw conflict(`A ${what} named "${name}" exists already.`, { field: 'name' });
    throw e;
  };
}

// --- reads -----------------------------------------------------------------------------

/** `Query.settings`: every signed-in viewer reads the rules (they explain why a release stopped). */
/** Whether the viewer may change the rules (the check of every rules command, as a boolean). */
export function viewerMayEditRules(ctx: DomainContext): boolean {
  return ctx.viewer != null && canWrite(ctx.viewer) && actsAsAdmin(ctx.viewer);
}

export async function getSettings(ctx: DomainContext): Promise<Settings> {
  requireViewer(ctx.viewer);
  return {
    maintenanceWindows: await loadMaintenanceWindows(ctx.em),
    dependencyRules: await loadDependencyRules(ctx.em),
    whitelist: await loadWhitelist(ctx.em),
    viewerCanEdit: viewerMayEditRules(ctx),
  };
}

/** The end of `w`'s occurrence running at `now`, or null (for `MaintenanceWindow.activeUntil`). */
export function activeUntil(w: MaintenanceWindowRecord, now = new Date()): Date | null {
  return activeOccurrence(w, now)?.end ?? null;
}

// --- maintenance windows ---------------------------------------------------------------

async function windowFields(em: EntityManager, input: MaintenanceWindowInput) {
  return {
    name: validName('name', input.name),
    reason: validText('reason', input.reason, 2000, true),
    envs: await requireEnvs(em, input.envs),
    apps: await requireApps(em, input.apps ?? []),
    ...validWindowTimes(input),
  };
}

const windowPayload = (w: MaintenanceWindow, change: string) => ({
  setting: RuleSetting.MAINTENANCE_WINDOW,
  change,
  name: w.name,
  envs: w.envs,
  apps: w.apps,
  startsAt: w.startsAt?.toISOString() ?? null,
  endsAt: w.endsAt?.toISOString() ?? null,
  weekly: w.weekly ?? null,
  timezone: w.timezone,
});

/** `createMaintenanceWindow` (admins). */
export async function createMaintenanceWindow(
  ctx: DomainContext,
  input: MaintenanceWindowInput,
): Promise<MaintenanceWindowRecord> {
  const admin = requireAdmin(ctx.viewer);
  const fields = await windowFields(ctx.em, input);
  const w = await ctx.em
    .transactional(async (tx) => {
      const row = tx.create(MaintenanceWindow, { ...fields, createdBy: admin.username });
      tx.persist(row);
      await tx.flush();
      recordEvent(tx, {
        type: PlatformEventType.SETTINGS_CHANGED,
        actor: admin.username,
        payload: windowPayload(row, 'created'),
      });
      return row;
    })
    .catch(uniqueName<MaintenanceWindow>('maintenance window', fields.name));
  ctx.deps.onEventsCommitted();
  return toWindowRecord(w);
}

/** `updateMaintenanceWindow` (admins): replaces every field. */
export async function updateMaintenanceWindow(
  ctx: DomainContext,
  id: number,
  input: MaintenanceWindowInput,
): Promise<MaintenanceWindowRecord> {
  const admin = requireAdmin(ctx.viewer);
  const fields = await windowFields(ctx.em, input);
  noteAuditTarget(ctx, { app: null, target: `maintenance window ${id}` });
  const w = await ctx.em
    .transactional(async (tx) => {
      const row = await tx.findOne(MaintenanceWindow, { id });
      if (!row)
        throw new DomainError('NOT_FOUND', 'Maintenance window not found.', { field: 'id' });
      const oldName = row.name;
      tx.assign(row, fields);
      await tx.flush();
      // Whitelist entries name their rule: a renamed window keeps its exemptions.
      if (oldName !== row.name)
        await tx.nativeUpdate(WhitelistEntry, { rule: oldName }, { rule: row.name });
      recordEvent(tx, {
        type: PlatformEventType.SETTINGS_CHANGED,
        actor: admin.username,
        payload: windowPayload(row, 'updated'),
      });
      return row;
    })
    .catch(uniqueName<MaintenanceWindow>('maintenance window', fields.name));
  ctx.deps.onEventsCommitted();
  return toWindowRecord(w);
}

/** `deleteMaintenanceWindow` (admins). Whitelist entries naming it stay (they expire on their own). */
export async function deleteMaintenanceWindow(ctx: DomainContext, id: number): Promise<boolean> {
  const admin = requireAdmin(ctx.viewer);
  noteAuditTarget(ctx, { app: null, target: `maintenance window ${id}` });
  await ctx.em.transactional(async (tx) => {
    const row = await tx.findOne(MaintenanceWindow, { id });
    if (!row) throw new DomainError('NOT_FOUND', 'Maintenance window not found.', { field: 'id' });
    recordEvent(tx, {
      type: PlatformEventType.SETTINGS_CHANGED,
      actor: admin.username,
      payload: windowPayload(row, 'deleted'),
    });
    tx.remove(row);
  });
  ctx.deps.onEventsCommitted();
  return true;
}

// --- dependency rules ------------------------------------------------------------------

/** `createDependencyRule` (admins): a minimum safe version, banned versions, or both. */
export async function createDependencyRule(
  ctx: DomainContext,
  input: DependencyRuleInput,
): Promise<DependencyRuleRecord> {
  const admin = requireAdmin(ctx.viewer);
  const artifact = input.artifact.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._\-:/]{0,199}$/.test(artifact))
    throw badInput('artifact', `"${input.artifact}" is not an artifact name (e.g. "log4j-core").`);
  const name = validName('name', input.name ?? artifact);
  const minVersion = input.minVersion?.trim() || null;
  if (minVersion && !VERSION.test(minVersion))
    throw badInput('minVersion', `"${minVersion}" is not a version.`);
  const bannedVersions = [...new Set((input.bannedVersions ?? []).map((v) => v.trim()))];
  bannedVersions.forEach((v, i) => {
    if (!VERSION.test(v)) throw badInput(`bannedVersions.${i}`, `"${v}" is not a version.`);
  });
  if (bannedVersions.length > 100) throw badInput('bannedVersions', 'At most 100 banned versions.');
  if (!minVersion && !bannedVersions.length)
    throw badInput('minVersion', 'Give a minimum safe version, banned versions, or both.');
  const message = validText('message', input.message, 2000, false);
  const r = await ctx.em
    .transactional(async (tx) => {
      const row = tx.create(DependencyRule, {
        name,
        artifact,
        minVersion,
        bannedVersions,
        message,
        createdBy: admin.username,
      });
      tx.persist(row);
      await tx.flush();
      recordEvent(tx, {
        type: PlatformEventType.SETTINGS_CHANGED,
        actor: admin.username,
        payload: {
          setting: RuleSetting.DEPENDENCY_RULE,
          change: 'created',
          name,
          artifact,
          minVersion,
          bannedVersions,
        },
      });
      return row;
    })
    .catch(uniqueName<DependencyRule>('dependency rule', name));
  ctx.deps.onEventsCommitted();
  return toRuleRecord(r);
}

/** `deleteDependencyRule` (admins). */
export async function deleteDependencyRule(ctx: DomainContext, id: number): Promise<boolean> {
  const admin = requireAdmin(ctx.viewer);
  noteAuditTarget(ctx, { app: null, target: `dependency rule ${id}` });
  await ctx.em.transactional(async (tx) => {
    const row = await tx.findOne(DependencyRule, { id });
    if (!row) throw new DomainError('NOT_FOUND', 'Dependency rule not found.', { field: 'id' });
    recordEvent(tx, {
      type: PlatformEventType.SETTINGS_CHANGED,
      actor: admin.username,
      payload: {
        setting: RuleSetting.DEPENDENCY_RULE,
        change: 'deleted',
        name: row.name,
        artifact: row.artifact,
      },
    });
    tx.remove(row);
  });
  ctx.deps.onEventsCommitted();
  return true;
}

// --- whitelist -------------------------------------------------------------------------

/** `createWhitelistEntry` (admins): exempts one app from one named rule until `expiresAt`. */
export async function createWhitelistEntry(
  ctx: DomainContext,
  input: WhitelistEntryInput,
): Promise<WhitelistEntryRecord> {
  const admin = requireAdmin(ctx.viewer);
  const app = await ctx.em.findOne(App, { name: input.app }, { fields: ['id', 'name'] });
  if (!app) throw new DomainError('NOT_FOUND', `App "${input.app}" not found.`, { field: 'app' });
  const rule = input.rule.trim();
  const named =
    (await ctx.em.count(MaintenanceWindow, { name: rule })) +
    (await ctx.em.count(DependencyRule, { name: rule }));
  if (!named)
    throw badInput('rule', `No maintenance window or dependency rule is named "${rule}".`);
  const reason = validText('reason', input.reason, 2000, true);
  if (input.expiresAt.getTime() <= Date.now())
    throw badInput('expiresAt', 'expiresAt must be in the future.');
  const e = await ctx.em.transactional(async (tx) => {
    const row = tx.create(WhitelistEntry, {
      appId: app.id,
      app: app.name,
      rule,
      reason,
      expiresAt: input.expiresAt,
      createdBy: admin.username,
    });
    tx.persist(row);
    await tx.flush();
    recordEvent(tx, {
      type: PlatformEventType.SETTINGS_CHANGED,
      actor: admin.username,
      app: app.name,
      payload: {
        setting: RuleSetting.WHITELIST_ENTRY,
        change: 'created',
        rule,
        expiresAt: input.expiresAt.toISOString(),
      },
    });
    return row;
  });
  ctx.deps.onEventsCommitted();
  return toWhitelistRecord(e);
}

/** `deleteWhitelistEntry` (admins). */
export async function deleteWhitelistEntry(ctx: DomainContext, id: number): Promise<boolean> {
  const admin = requireAdmin(ctx.viewer);
  await ctx.em.transactional(async (tx) => {
    const row = await tx.findOne(WhitelistEntry, { id });
    if (!row) throw new DomainError('NOT_FOUND', 'Whitelist entry not found.', { field: 'id' });
    noteAuditTarget(ctx, { app: row.app, target: `whitelist entry ${id}` });
    recordEvent(tx, {
      type: PlatformEventType.SETTINGS_CHANGED,
      actor: admin.username,
      app: row.app,
      payload: { setting: RuleSetting.WHITELIST_ENTRY, change: 'deleted', rule: row.rule },
    });
    tx.remove(row);
  });
  ctx.deps.onEventsCommitted();
  return true;
}
