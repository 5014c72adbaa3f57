/** Reads of the admin rules as plain records (the tables are small: read whole, ordered by name). */
import type { EntityManager } from '@mikro-orm/core';
import { DependencyRule } from './dependency-rule.entity.js';
import { MaintenanceWindow } from './maintenance-window.entity.js';
import type {
  DependencyRuleRecord,
  MaintenanceWindowRecord,
  WhitelistEntryRecord,
} from './rule-model.js';
import { WhitelistEntry } from './whitelist-entry.entity.js';

export interface ReadOptions {
  /** Read the primary, not a replica (the engine's prechecks: a rule saved a moment ago counts). */
  primary?: boolean;
}

const opts = (o: ReadOptions) =>
  o.primary
    ? { connectionType: 'write' as const, disableIdentityMap: true }
    : { disableIdentityMap: true };

export const toWindowRecord = (w: MaintenanceWindow): MaintenanceWindowRecord => ({
  id: w.id,
  name: w.name,
  envs: w.envs,
  apps: w.apps,
  startsAt: w.startsAt ?? null,
  endsAt: w.endsAt ?? null,
  weekly: w.weekly ?? null,
  timezone: w.timezone,
  reason: w.reason,
  createdBy: w.createdBy,
  createdAt: w.createdAt,
  updatedAt: w.updatedAt,
});

export const toRuleRecord = (r: DependencyRule): DependencyRuleRecord => ({
  id: r.id,
  name: r.name,
  artifact: r.artifact,
  minVersion: r.minVersion ?? null,
  bannedVersions: r.bannedVersions,
  message: r.message,
  createdBy: r.createdBy,
  createdAt: r.createdAt,
});

export const toWhitelistRecord = (e: WhitelistEntry): WhitelistEntryRecord => ({
  id: e.id,
  appId: e.appId,
  app: e.app,
  rule: e.rule,
  reason: e.reason,
  expiresAt: e.expiresAt,
  createdBy: e.createdBy,
  createdAt: e.createdAt,
});

export async function loadMaintenanceWindows(
  em: EntityManager,
  o: ReadOptions = {},
): Promise<MaintenanceWindowRecord[]> {
  return (await em.find(MaintenanceWindow, {}, { orderBy: { name: 'asc' }, ...opts(o) })).map(
    toWindowRecord,
  );
}

export async function loadDependencyRules(
  em: EntityManager,
  o: ReadOptions = {},
): Promise<DependencyRuleRecord[]> {
  return (await em.find(DependencyRule, {}, { orderBy: { name: 'asc' }, ...opts(o) })).map(
    toRuleRecord,
  );
}

/** Whitelist entries, newest expiry first; `appId` narrows to one app's. */
export async function loadWhitelist(
  em: EntityManager,
  o: ReadOptions & { appId?: number } = {},
): Promise<WhitelistEntryRecord[]> {
  const where = o.appId != null ? { appId: o.appId } : {};
  return (
    await em.find(WhitelistEntry, where, { orderBy: { expiresAt: 'desc', id: 'asc' }, ...opts(o) })
  ).map(toWhitelistRecord);
}
