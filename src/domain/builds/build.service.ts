/**
 * Builds, the commands: a viewer asks (authorized here), the database records the build
 * (QUEUED), and the engine (src/engine/builds/) runs it in the worker role. `createBuildOp`
 * is the internal operation the platform itself calls (a release that builds the default
 * branch first), with the requester recorded, never a fake viewer.
 */
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { App } from '../apps/app.entity.js';
import { getApp, requireAppRole, roleOn, type AppRecord } from '../apps/app.service.js';
import { AppRole, ROLE_RANK } from '../apps/app-kind.js';
import { actsAsAdmin, canWrite } from '../people/viewer.js';
import { noteAuditTarget } from '../audit/audit-target.js';
import type { DomainContext, DomainDeps } from '../shared/domain-context.js';
import { requireViewer, requireWriter } from '../shared/authz.js';
import { DomainError, badInput, conflict } from '../shared/errors.js';
import { toGlobalId } from '../shared/global-id.js';
import { PlatformEventType, recordEvent } from '../events/event-recorder.js';
import { Build } from './build.entity.js';
import {
  BuildStatus,
  isBuildTerminal,
  type BuildLogLine,
  type BuildRecord,
} from './build-model.js';
import {
  findBuild,
  listBuildRows,
  nextBuildNumber,
  readLog,
  toBuildRecord,
} from './build.repository.js';

/** The global id of a build (event payloads and links carry it). */
export const buildGlobalId = (id: number): string => toGlobalId('Build', id);

// A git ref as `git check-ref-format` allows it, loosely: no leading '-' (it would be read as an
// option), no '..', no whitespace or control characters, no '~^:?*[\'.
const REF = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)[A-Za-z0-9._\-/+]{1,200}(?<![./])$/;

/** Whether `ref` is a branch, tag or commit name Phantom will pass to git. */
export const isValidRef = (ref: string): boolean => REF.test(ref);

/** What the internal operation needs: who asked is recorded, not re-authorized. */
export interface NewBuild {
  app: Pick<AppRecord, 'id' | 'name'>;
  ref: string | null;
  requester: { id: number; username: string };
}

/** Why `app` cannot be built, or null. */
export async function unbuildableReason(em: EntityManager, appId: number): Promise<string | null> {
  const a = await em.findOne(
    App,
    { id: appId },
    {
      fields: ['id', 'name', 'repository', 'buildCommand'],
      disableIdentityMap: true,
      connectionType: 'write',
    },
  );
  if (!a) return 'The app no longer exists.';
  if (!a.repository)
    return `App "${a.name}" has no repository: set \`repository\` (a git URL) first.`;
  if (!a.buildCommand.trim())
    return `App "${a.name}" has no buildCommand: set the shell command that builds it first.`;
  return null;
}

/**
 * Records a new build (QUEUED, the app's next number) and signals the engines. Two builds of
 * one app racing for a number: the unique key refuses the second, which takes the next one.
 */
export async function createBuildOp(
  em: EntityManager,
  deps: DomainDeps,
  n: NewBuild,
): Promise<BuildRecord> {
  for (let attempt = 0; ; attempt++) {
    try {
      const b = await em.transactional(async (tx) => {
        const number = await nextBuildNumber(tx, n.app.id);
        const row = tx.create(Build, {
          appId: n.app.id,
          app: n.app.name,
          number,
          ref: n.ref,
          status: BuildStatus.QUEUED,
          triggeredBy: n.requester.username,
          triggeredById: n.requester.id,
        });
        tx.persist(row);
        await tx.flush();
        return row;
      });
      deps.onBuildSignal?.(b.id);
      return toBuildRecord(b);
    } catch (e) {
      if (e instanceof UniqueConstraintViolationException && attempt < 10) continue;
      throw e;
    }
  }
}

/** `triggerBuild`: DEVELOPER or above on the app; `ref` defaults to the remote's default branch. */
export async function triggerBuild(
  ctx: DomainContext,
  appName: string,
  ref?: string | null,
): Promise<BuildRecord> {
  const viewer = requireWriter(ctx.viewer);
  noteAuditTarget(ctx, { app: appName });
  const app = await getApp(ctx, appName);
  if (!app) throw new DomainError('NOT_FOUND', `App "${appName}" not found.`, { field: 'app' });
  await requireAppRole(ctx, app, AppRole.DEVELOPER);
  const r = ref?.trim() || null;
  if (r !== null && !isValidRef(r))
    throw badInput('ref', `"${r}" is not a git branch, tag or commit name.`);
  const why = await unbuildableReason(ctx.em, app.id);
  if (why) throw badInput('app', why);
  return createBuildOp(ctx.em, ctx.deps, {
    app,
    ref: r,
    requester: { id: viewer.userId, username: viewer.username },
  });
}

/** A build any signed-in viewer may read (apps and their releases are readable by every viewer). */
export async function getBuild(ctx: DomainContext, id: number): Promise<BuildRecord | null> {
  requireViewer(ctx.viewer);
  const b = await findBuild(ctx.em, id);
  return b && toBuildRecord(b);
}

async function requireBuild(ctx: DomainContext, id: number): Promise<BuildRecord> {
  const b = await getBuild(ctx, id);
  if (!b) throw new DomainError('NOT_FOUND', 'Build not found.', { field: 'id' });
  return b;
}

export interface BuildPage {
  items: BuildRecord[];
  hasNextPage: boolean;
}

/** An app's builds, newest first; `beforeNumber` is the last number of the previous page. */
export async function listBuilds(
  ctx: DomainContext,
  appId: number,
  first: number,
  beforeNumber?: number,
): Promise<BuildPage> {
  requireViewer(ctx.viewer);
  const rows = await listBuildRows(ctx.em, appId, first, beforeNumber);
  return { items: rows.slice(0, first).map(toBuildRecord), hasNextPage: rows.length > first };
}

/** Most log lines one `Build.log` answer carries. */
export const LOG_PAGE_MAX = 5000;

/** `Build.log(offset, limit)`: lines from `offset` (default 0), at most `limit` (default and cap {@link LOG_PAGE_MAX}). */
export async function buildLog(
  ctx: DomainContext,
  id: number,
  offset?: number | null,
  limit?: number | null,
): Promise<{ lines: BuildLogLine[]; nextOffset: number }> {
  requireViewer(ctx.viewer);
  const from = offset ?? 0;
  if (!Number.isSafeInteger(from) || from < 0) throw badInput('offset', 'offset is 0 or more.');
  const n = limit ?? LOG_PAGE_MAX;
  if (!Number.isSafeInteger(n) || n < 1 || n > LOG_PAGE_MAX)
    throw badInput('limit', `limit is between 1 and ${LOG_PAGE_MAX}.`);
  const lines = await readLog(ctx.em, id, from, n);
  return { lines, nextOffset: lines.length ? lines[lines.length - 1].next : from };
}

/**
 * `cancelBuild` (DEVELOPER or above): asks the engine to stop the build (a QUEUED one ends
 * CANCELED without running; a RUNNING one has its process group killed). The answer has
 * `cancelRequested`; the build ends CANCELED shortly after.
 */
export async function cancelBuild(ctx: DomainContext, id: number): Promise<BuildRecord> {
  const b = await requireBuild(ctx, id);
  noteAuditTarget(ctx, { app: b.app, target: `build ${b.app}#${b.number}` });
  await requireAppRole(ctx, { id: b.appId, name: b.app }, AppRole.DEVELOPER);
  if (isBuildTerminal(b.status))
    throw conflict(`Build #${b.number} of ${b.app} already ended (${b.status}).`, {
      status: b.status,
    });
  const message = `Canceled by ${ctx.viewer!.username} before it ran.`;
  // A QUEUED build no worker holds ends now (generation + 1 fences out a claim racing with us);
  // otherwise the engine running it is told and kills its process group.
  const ended = await ctx.em.transactional(async (tx) => {
    const n = await tx.nativeUpdate(
      Build,
      { id: b.id, status: BuildStatus.QUEUED, claimedBy: null },
      {
        status: BuildStatus.CANCELED,
        message,
        finishedAt: new Date(),
        generation: b.generation + 1,
        cancelRequested: false,
      },
    );
    if (n !== 1) return false;
    recordEvent(tx, {
      type: PlatformEventType.BUILD_FAILED,
      actor: ctx.viewer!.username,
      app: b.app,
      payload: {
        buildId: buildGlobalId(b.id),
        number: b.number,
        ref: b.ref,
        status: BuildStatus.CANCELED,
        reason: message,
      },
    });
    return true;
  });
  if (ended) {
    ctx.deps.onEventsCommitted();
    ctx.deps.onBuildSignal?.(b.id);
    return { ...b, status: BuildStatus.CANCELED, message, finishedAt: new Date() };
  }
  const changed = await ctx.em.nativeUpdate(
    Build,
    { id: b.id, status: { $in: [BuildStatus.QUEUED, BuildStatus.RUNNING] } },
    { cancelRequested: true, nextRunAt: null },
  );
  if (!changed) throw conflict(`Build #${b.number} of ${b.app} already ended.`);
  ctx.deps.onBuildSignal?.(b.id);
  return { ...b, cancelRequested: true };
}

/** Asks the engine to stop build `id` (the platform's own call: a release that no longer wants it). */
export async function requestBuildCancel(
  em: EntityManager,
  deps: DomainDeps,
  id: number,
): Promise<void> {
  const changed = await em.nativeUpdate(
    Build,
    { id, status: { $in: [BuildStatus.QUEUED, BuildStatus.RUNNING] } },
    { cancelRequested: true, nextRunAt: null },
  );
  if (changed) deps.onBuildSignal?.(id);
}

/** Checks a `buildLog` subscription: signed in, and the build exists. */
export async function authorizeBuildLog(ctx: DomainContext, id: number): Promise<BuildRecord> {
  return requireBuild(ctx, id);
}

/**
 * Whether the viewer may trigger builds of the app (`triggerBuild`): a WRITE credential and
 * DEVELOPER or above on the app, or platform admin. The web console shows "Build" from this;
 * `triggerBuild` still checks everything (repository, build command, ref).
 */
export async function viewerMayBuild(ctx: DomainContext, appId: number): Promise<boolean> {
  const v = ctx.viewer;
  if (!v || !canWrite(v)) return false;
  if (actsAsAdmin(v)) return true;
  const role = await roleOn(ctx, appId);
  return role != null && ROLE_RANK[role] >= ROLE_RANK[AppRole.DEVELOPER];
}

/** Whether the viewer may cancel build `b` now (`cancelBuild`'s rules, as a boolean). */
export async function viewerMayCancelBuild(
  ctx: DomainContext,
  b: Pick<BuildRecord, 'appId' | 'status' | 'cancelRequested'>,
): Promise<boolean> {
  if (isBuildTerminal(b.status) || b.cancelRequested) return false;
  return viewerMayBuild(ctx, b.appId);
}
