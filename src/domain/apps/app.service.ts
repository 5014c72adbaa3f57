import {
  OptimisticLockError,
  UniqueConstraintViolationException,
  type EntityManager,
} from '@mikro-orm/core';
import { App } from './app.entity.js';
import { unknownEnvironments } from '../settings/environment.service.js';
import { WhitelistEntry } from '../rules/whitelist-entry.entity.js';
import { RuleSetting } from '../rules/rule-setting.js';
import { AppMember } from './app-member.entity.js';
import { AppKind, AppRole, ROLE_RANK } from './app-kind.js';
import { User } from '../people/user.entity.js';
import type { DomainContext, DomainDeps } from '../shared/domain-context.js';
import { DomainError, badInput, conflict, forbidden, notFound } from '../shared/errors.js';
import { requireViewer, requireWriter } from '../shared/authz.js';
import { actsAsAdmin, canWrite } from '../people/viewer.js';
import { PlatformEventType, recordEvent } from '../events/event-recorder.js';
import { forUpdate } from '../../db/locking.js';
import { findAppPage, type AppPageRow, type MemberRow } from './app.repository.js';
import { DEFAULT_RELEASE_CONFIG, type ContainerSpec, type ReleaseConfig } from './app-spec.js';
import {
  buildContainer,
  buildReleaseConfig,
  repositoryForDisplay,
  validateAppName,
  validateCommand,
  validateKind,
  validateRepository,
  validateText,
  type ContainerInput,
  type ReleaseConfigInput,
} from './app.validation.js';

/** An app as read models see it: plain data, safe to cache. */
export interface AppRecord {
  id: number;
  name: string;
  kind: AppKind;
  description: string;
  repository: string;
  buildCommand: string;
  startCommand: string;
  stopCommand: string;
  container: ContainerSpec;
  releaseConfig: ReleaseConfig;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface AppEditableInput {
  description?: string | null;
  repository?: string | null;
  buildCommand?: string | null;
  startCommand?: string | null;
  stopCommand?: string | null;
  container?: ContainerInput | null;
  releaseConfig?: ReleaseConfigInput | null;
}
export interface CreateAppInput extends AppEditableInput {
  name: string;
  kind: AppKind;
}
export interface UpdateAppInput extends AppEditableInput {
  kind?: AppKind | null;
}
export interface AppFilter {
  /** Substring of the name. */
  name?: string | null;
  kind?: AppKind | null;
  /** Apps this user is a member of. */
  member?: string | null;
}

export function toRecord(a: App): AppRecord {
  return {
    id: a.id,
    name: a.name,
    kind: a.kind,
    description: a.description,
    repository: repositoryForDisplay(a.repository),
    buildCommand: a.buildCommand,
    startCommand: a.startCommand,
    stopCommand: a.stopCommand,
    // Rows written before a release setting existed lack it: fill in its default.
    container: a.container,
    releaseConfig: { ...DEFAULT_RELEASE_CONFIG, ...a.releaseConfig },
    version: a.version,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
  };
}

/** An {@link AppRecord} as the cache holds it: its JSON, dates as ISO strings. */
type CachedAppRecord = Omit<AppRecord, 'createdAt' | 'updatedAt'> & {
  createdAt: string;
  updatedAt: string;
};

function reviveRecord(raw: unknown): AppRecord {
  const r = raw as CachedAppRecord;
  return { ...r, createdAt: new Date(r.createdAt), updatedAt: new Date(r.updatedAt) };
}

const appKey = (name: string) => `app:${name}`;
const rolesKey = (userId: number) => `roles:${userId}`;

/** Drops the cached roles of `userIds`; call it after committing a membership change made through {@link grantMembership}. */
export async function forgetRoles(deps: DomainDeps, ...userIds: number[]): Promise<void> {
  if (userIds.length) await deps.cache.invalidate(...userIds.map(rolesKey));
}

function validateEditable(input: AppEditableInput): void {
  validateText(input.description, 'description', 2000);
  validateRepository(input.repository);
  validateCommand(input.buildCommand, 'buildCommand');
  validateCommand(input.startCommand, 'startCommand');
  validateCommand(input.stopCommand, 'stopCommand');
}

/** App by name through the cache (cache-aside; writers invalidate after commit). */
export async function getApp(ctx: DomainContext, name: string): Promise<AppRecord | null> {
  requireViewer(ctx.viewer);
  return loadAppRecord(ctx, name);
}

async function loadAppRecord(ctx: DomainContext, name: string): Promise<AppRecord | null> {
  return ctx.deps.cache.getOrLoad(
    appKey(name),
    async () => {
      // The primary: a cache entry filled from a lagging replica would outlive the lag.
      const app = await ctx.em.findOne(App, { name }, { connectionType: 'write' });
      return app ? toRecord(app) : null;
    },
    reviveRecord,
  );
}

/** The caller's role on each app they belong to, through the cache. */
export async function rolesOf(
  ctx: DomainContext,
  userId: number,
): Promise<Record<number, AppRole>> {
  const load = async () => {
    const rows = await ctx.em.find(
      AppMember,
      { user: userId },
      { fields: ['role', 'app'], connectionType: 'write' },
    );
    return Object.fromEntries(rows.map((m) => [m.app.id, m.role])) as Record<number, AppRole>;
  };
  // Inside a transaction we may see uncommitted rows: read them, but never cache them.
  if (ctx.em.isInTransaction()) return load();
  return (await ctx.deps.cache.getOrLoad(rolesKey(userId), load)) ?? {};
}

/** The viewer's role on `appId` (null when not a member). */
export async function roleOn(ctx: DomainContext, appId: number): Promise<AppRole | null> {
  if (!ctx.viewer) return null;
  return (await rolesOf(ctx, ctx.viewer.userId))[appId] ?? null;
}

/**
 * Authorizes a change to `app` needing at least `min` (platform admins always pass).
 * Exported for later modules (releases need DEVELOPER).
 */
export async function requireAppRole(
  ctx: DomainContext,
  app: { id: number; name: string },
  min: AppRole,
): Promise<void> {
  const viewer = requireWriter(ctx.viewer);
  if (actsAsAdmin(viewer)) return;
  const role = await roleOn(ctx, app.id);
  if (!role || ROLE_RANK[role] < ROLE_RANK[min]) {
    throw forbidden(`You need the ${min} role on app "${app.name}" (you have ${role ?? 'none'}).`);
  }
}

/**
 * Whether the viewer holds at least `min` on the app with a WRITE credential, or acts as a
 * platform admin: the boolean twin of {@link requireAppRole}, for `viewerCan…` fields (the
 * web console shows a button per `true`; the command still decides).
 */
export async function viewerHasAppRole(
  ctx: DomainContext,
  appId: number,
  min: AppRole,
): Promise<boolean> {
  const v = ctx.viewer;
  if (!v || !canWrite(v)) return false;
  if (actsAsAdmin(v)) return true;
  const role = await roleOn(ctx, appId);
  return role != null && ROLE_RANK[role] >= ROLE_RANK[min];
}

/** Whether the viewer may change the app (`updateApp`): OWNER with a WRITE credential, or platform admin. */
export function viewerMayEditApp(ctx: DomainContext, appId: number): Promise<boolean> {
  return viewerHasAppRole(ctx, appId, AppRole.OWNER);
}

/** An app of a page; `memberRows` (membership order) when the page was asked to read them. */
export type AppPageItem = AppRecord & { memberRows?: MemberRow[] };

export interface AppPage {
  items: AppPageItem[];
  /** Null when the caller did not ask for it (`count: false`): the count is a second scan. */
  totalCount: number | null;
  hasNextPage: boolean;
}

/**
 * Apps ordered by name, keyset-paginated (`afterName` is the last name of the previous page).
 * Reads plain rows (no entities: the list never changes what it reads; app.repository.ts):
 * the page in one statement, with the count of all matches only when `opts.count` (issue 9,
 * P1: the count ran on every page, asked for or not), and each app's members and their users
 * in a second one when `opts.members`.
 */
export async function listApps(
  ctx: DomainContext,
  filter: AppFilter,
  first: number,
  afterName?: string,
  opts: { count?: boolean; members?: boolean; details?: boolean } = {},
): Promise<AppPage> {
  requireViewer(ctx.viewer);
  const details = opts.details !== false;
  const { rows, totalCount } = await findAppPage(ctx.em, {
    filter,
    limit: first + 1,
    afterName,
    count: opts.count !== false,
    members: opts.members === true,
    details,
  });
  return {
    items: rows.slice(0, first).map(details ? rowToRecord : summaryToRecord),
    totalCount,
    hasNextPage: rows.length > first,
  };
}

/** A row read without its details (`details: false`) is a record as it is: they stay undefined. */
const summaryToRecord = (a: AppPageRow): AppPageItem => a as AppPageItem;

function rowToRecord(a: AppPageRow): AppPageItem {
  return {
    id: a.id,
    name: a.name,
    kind: a.kind,
    description: a.description,
    repository: repositoryForDisplay(a.repository),
    buildCommand: a.buildCommand,
    startCommand: a.startCommand,
    stopCommand: a.stopCommand,
    container: a.container,
    // Rows written before a release setting existed lack it: fill in its default.
    releaseConfig: { ...DEFAULT_RELEASE_CONFIG, ...a.releaseConfig },
    version: a.version,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
    memberRows: a.memberRows,
  };
}

/** Refuses auto-release environments that do not exist (as createRelease refuses one). */
async function requireKnownEnvs(em: EntityManager, names: string[] | null | undefined) {
  const unknown = await unknownEnvironments(em, names ?? []);
  if (unknown.length)
    throw badInput(
      'releaseConfig.autoReleaseEnvs',
      `Unknown environment(s): ${unknown.join(', ')}.`,
    );
}

export async function createApp(ctx: DomainContext, input: CreateAppInput): Promise<AppRecord> {
  const viewer = requireWriter(ctx.viewer);
  validateAppName(input.name);
  validateKind(input.kind);
  validateEditable(input);
  const container = buildContainer(input.container);
  const releaseConfig = buildReleaseConfig(input.releaseConfig);
  await requireKnownEnvs(ctx.em, input.releaseConfig?.autoReleaseEnvs);
  let app: App;
  try {
    app = await ctx.em.transactional(async (em) => {
      if (await em.count(App, { name: input.name }))
        throw conflict(`App "${input.name}" already exists.`, { field: 'name' });
      const a = em.create(App, {
        name: input.name,
        kind: input.kind,
        description: input.description ?? '',
        repository: input.repository ?? '',
        buildCommand: input.buildCommand ?? '',
        startCommand: input.startCommand ?? '',
        stopCommand: input.stopCommand ?? '',
        container,
        releaseConfig,
      });
      em.persist(a);
      em.persist(
        em.create(AppMember, {
          app: a,
          user: em.getReference(User, viewer.userId),
          role: AppRole.OWNER,
        }),
      );
      recordEvent(em, {
        type: PlatformEventType.APP_CREATED,
        actor: viewer.username,
        app: a.name,
        payload: { kind: a.kind },
      });
      return a;
    });
  } catch (e) {
    if (e instanceof UniqueConstraintViolationException)
      throw conflict(`App "${input.name}" already exists.`, { field: 'name' });
    throw e;
  }
  await ctx.deps.cache.invalidate(appKey(app.name), rolesKey(viewer.userId));
  ctx.deps.onEventsCommitted();
  return toRecord(app);
}

async function lockApp(em: EntityManager, name: string): Promise<App> {
  const app = await em.findOne(App, { name }, forUpdate(em));
  if (!app) throw notFound(`App "${name}"`);
  return app;
}

export async function updateApp(
  ctx: DomainContext,
  name: string,
  input: UpdateAppInput,
  expectedVersion?: number | null,
): Promise<AppRecord> {
  const viewer = requireWriter(ctx.viewer);
  if (input.kind != null) validateKind(input.kind);
  validateEditable(input);
  let app: App;
  try {
    app = await ctx.em.transactional(async (em) => {
      const a = await lockApp(em, name);
      await requireAppRole({ ...ctx, em }, a, AppRole.OWNER);
      if (expectedVersion != null && expectedVersion !== a.version) {
        throw conflict(
          `App "${name}" is at version ${a.version}, not ${expectedVersion}: it was changed since you read it. Reload and try again.`,
          { currentVersion: a.version },
        );
      }
      const changed: string[] = [];
      const set = <K extends keyof App>(key: K, value: App[K] | null | undefined) => {
        if (value != null && JSON.stringify(a[key]) !== JSON.stringify(value)) {
          a[key] = value;
          changed.push(String(key));
        }
      };
      set('kind', input.kind);
      set('description', input.description);
      set('repository', input.repository);
      set('buildCommand', input.buildCommand);
      set('startCommand', input.startCommand);
      set('stopCommand', input.stopCommand);
      if (input.container) set('container', buildContainer(input.container, a.container));
      if (input.releaseConfig) {
        set('releaseConfig', buildReleaseConfig(input.releaseConfig, a.releaseConfig));
        await requireKnownEnvs(em, input.releaseConfig.autoReleaseEnvs);
      }
      if (changed.length) {
        recordEvent(em, {
          type: PlatformEventType.APP_UPDATED,
          actor: viewer.username,
          app: a.name,
          payload: { changed },
        });
      }
      return a;
    });
  } catch (e) {
    if (e instanceof OptimisticLockError)
      throw conflict(`App "${name}" was changed concurrently. Reload and try again.`);
    throw e;
  }
  await ctx.deps.cache.invalidate(appKey(name));
  ctx.deps.onEventsCommitted();
  return toRecord(app);
}

export async function deleteApp(ctx: DomainContext, name: string): Promise<boolean> {
  const viewer = requireWriter(ctx.viewer);
  // Other modules' objections (e.g. the app still runs on a cluster), once the caller may delete it.
  const guards = ctx.deps.appDeletionGuards ?? [];
  if (guards.length) {
    const current = await loadAppRecord(ctx, name);
    if (!current) throw notFound(`App "${name}"`);
    await requireAppRole(ctx, current, AppRole.OWNER);
    for (const guard of guards) await guard(ctx, { id: current.id, name: current.name });
  }
  const memberIds = await ctx.em.transactional(async (em) => {
    const a = await lockApp(em, name);
    await requireAppRole({ ...ctx, em }, a, AppRole.OWNER);
    for (const guard of guards)
      if (guard.inTransaction) await guard({ ...ctx, em }, { id: a.id, name: a.name });
    const members = await em.find(AppMember, { app: a }, { fields: ['user'] });
    await em.nativeDelete(AppMember, { app: a });
    // Its exemptions from release rules go with it, as its memberships do (they name its id),
    // each a settings change like deleteWhitelistEntry's.
    const exemptions = await em.find(WhitelistEntry, { appId: a.id }, { fields: ['rule'] });
    for (const x of exemptions)
      recordEvent(em, {
        type: PlatformEventType.SETTINGS_CHANGED,
        actor: viewer.username,
        app: name,
        payload: {
          setting: RuleSetting.WHITELIST_ENTRY,
          change: 'deleted',
          rule: x.rule,
          reason: 'app deleted',
        },
      });
    if (exemptions.length) await em.nativeDelete(WhitelistEntry, { appId: a.id });
    em.remove(a);
    recordEvent(em, {
      type: PlatformEventType.APP_DELETED,
      actor: viewer.username,
      app: name,
      payload: {},
    });
    return members.map((m) => m.user.id);
  });
  await ctx.deps.cache.invalidate(appKey(name), ...memberIds.map(rolesKey));
  ctx.deps.onEventsCommitted();
  return true;
}

/** Adds, changes (`role`) or removes (`role` null) a member. The last OWNER stays. */
export async function setAppMember(
  ctx: DomainContext,
  appName: string,
  username: string,
  role: AppRole | null,
): Promise<AppRecord> {
  const viewer = requireWriter(ctx.viewer);
  if (role != null && !Object.values(AppRole).includes(role))
    throw badInput('role', 'Unknown role.');
  const result = await ctx.em.transactional(async (em) => {
    // The app row lock serializes member changes, so two owners cannot remove each other at once.
    const a = await lockApp(em, appName);
    await requireAppRole({ ...ctx, em }, a, AppRole.OWNER);
    const user = await em.findOne(User, { username });
    if (!user)
      throw new DomainError('NOT_FOUND', `User "${username}" not found.`, { field: 'username' });
    const current = await em.findOne(AppMember, { app: a, user });
    const before = current?.role ?? null;
    if (before === role) return { a, userId: user.id };
    if (before === AppRole.OWNER) {
      const owners = await em.count(AppMember, { app: a, role: AppRole.OWNER });
      if (owners <= 1)
        throw conflict(
          `"${username}" is the last owner of "${appName}": add another owner first.`,
          { field: 'role' },
        );
    }
    if (role === null) em.remove(current!);
    else if (current) current.role = role;
    else em.persist(em.create(AppMember, { app: a, user, role }));
    recordEvent(em, {
      type: PlatformEventType.MEMBER_CHANGED,
      actor: viewer.username,
      app: a.name,
      payload: { username, from: before, to: role },
    });
    return { a, userId: user.id };
  });
  await ctx.deps.cache.invalidate(rolesKey(result.userId));
  ctx.deps.onEventsCommitted();
  return toRecord(result.a);
}

/** What {@link grantMembership} did: the role before and after (equal when nothing changed). */
export interface MembershipGrant {
  app: string;
  username: string;
  from: AppRole | null;
  to: AppRole;
}

/**
 * Internal operation (no authorization: the caller decided, e.g. an approved access
 * request): gives user `userId` at least `role` on app `appId`, inside the caller's
 * transaction `em`, and records MEMBER_CHANGED as `actor`. Never lowers a role the user
 * already has (a higher one granted since the request stays). Locks the app row like
 * {@link setAppMember}. CONFLICT when the app or the user no longer exists. The caller
 * calls {@link forgetRoles} after commit.
 */
export async function grantMembership(
  em: EntityManager,
  appId: number,
  userId: number,
  role: AppRole,
  actor: string,
): Promise<MembershipGrant> {
  const a = await em.findOne(App, { id: appId }, forUpdate(em));
  // The caller's object (a ticket) exists; what it would change no longer does.
  if (!a) throw conflict(`App #${appId} was deleted: there is no membership to grant.`);
  const user = await em.findOne(User, { id: userId });
  if (!user) throw conflict(`User #${userId} was deleted: there is no one to grant the role to.`);
  const current = await em.findOne(AppMember, { app: a, user });
  const from = current?.role ?? null;
  if (from && ROLE_RANK[from] >= ROLE_RANK[role])
    return { app: a.name, username: user.username, from, to: from };
  if (current) current.role = role;
  else em.persist(em.create(AppMember, { app: a, user, role }));
  recordEvent(em, {
    type: PlatformEventType.MEMBER_CHANGED,
    actor,
    app: a.name,
    payload: { username: user.username, from, to: role },
  });
  return { app: a.name, username: user.username, from, to: role };
}
