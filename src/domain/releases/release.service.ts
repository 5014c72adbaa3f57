/**
 * Releases, the commands: a viewer asks (authorized here), the database records the desired
 * state, and the engine (src/engine/releases/) carries it out in the worker role. Every
 * command has an internal operation the platform itself calls (the builds issue's
 * auto-release, rollbacks) with the requester recorded, never a fake viewer.
 */
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { getApp, requireAppRole, viewerHasAppRole, type AppRecord } from '../apps/app.service.js';
import { AppRole, ReleaseStrategy } from '../apps/app-kind.js';
import { canWrite } from '../people/viewer.js';
import { PlatformEventType, recordEvent } from '../events/event-recorder.js';
import { Environment } from '../settings/environment.entity.js';
import type { AppDeletionGuard, DomainContext, DomainDeps } from '../shared/domain-context.js';
import { requireViewer, requireWriter } from '../shared/authz.js';
import { DomainError, badInput, conflict, notFound } from '../shared/errors.js';
import { App } from '../apps/app.entity.js';
import { forShare } from '../../db/locking.js';
import { toGlobalId } from '../shared/global-id.js';
import { BuildStatus } from '../builds/build-model.js';
import { findBuild } from '../builds/build.repository.js';
import {
  buildGlobalId,
  createBuildOp,
  requestBuildCancel,
  unbuildableReason,
} from '../builds/build.service.js';
import { Release } from './release.entity.js';
import {
  ProgressKind,
  ReleaseStatus,
  StepStatus,
  isTerminal,
  type ReleaseRecord,
  type ReleaseSpec,
  type ReleaseStep,
} from './release-model.js';
import {
  activeKeyOf,
  findActiveRelease,
  findLastSucceeded,
  findRelease,
  insertProgress,
  listReleaseRows,
  progressHeads,
  stateOf,
  toReleaseRecord,
  type ReleaseFilter,
} from './release.repository.js';
import { charLength } from '../shared/text.js';
import { imageReferenceProblem } from '../shared/image-reference.js';

/** The global id of a release (event payloads and links carry it). */
export const releaseGlobalId = (id: number): string => toGlobalId('Release', id);

export interface CreateReleaseInput {
  app: string;
  env: string;
  image?: string | null;
  buildId?: string | number | null;
  description?: string | null;
}

/** What the internal operation needs: who asked is recorded, not re-authorized. */
export interface NewRelease {
  app: AppRecord;
  env: Environment;
  spec: ReleaseSpec;
  description: string;
  requester: { id: number; username: string };
  rollbackOf?: number | null;
  buildId?: number | null;
  /** The release waits for build `buildId` first (status BUILDING); its image is the build's. */
  awaitBuild?: boolean;
}

/** The steps a release will take, planned when it is created (the API shows the plan at once). */
export function planSteps(
  env: Environment,
  strategy: ReleaseStrategy,
  awaitBuild = false,
): ReleaseStep[] {
  const step = (
    name: ReleaseStep['name'],
    t?: { cluster: string; namespace: string },
  ): ReleaseStep => ({
    name,
    cluster: t?.cluster ?? null,
    namespace: t?.namespace ?? null,
    status: StepStatus.PENDING,
    startedAt: null,
    finishedAt: null,
    message: null,
  });
  const steps: ReleaseStep[] = awaitBuild ? [step('build'), step('precheck')] : [step('precheck')];
  if (env.requiresApproval) steps.push(step('approval'));
  const first = env.targets[0];
  if (strategy === ReleaseStrategy.CANARY && first)
    steps.push(step('canary', first), step('pause', first));
  for (const t of env.targets) steps.push(step('deploy', t));
  if (strategy === ReleaseStrategy.CANARY && first) steps.push(step('cleanup', first));
  return steps;
}

/** The spec a release of `app` with `image` applies: the app's container and release settings now. */
export function specOf(app: AppRecord, image: string): ReleaseSpec {
  const rc = app.releaseConfig;
  return {
    image,
    container: app.container,
    strategy: rc.strategy,
    autoRollback: rc.autoRollback,
    progressDeadlineSeconds: rc.progressDeadlineSeconds,
    canaryReplicas: rc.canaryReplicas,
    canaryPauseSeconds: rc.canaryPauseSeconds,
  };
}

async function requireEnvironment(em: EntityManager, name: string): Promise<Environment> {
  const env = await em.findOne(Environment, { name });
  if (!env) throw badInput('env', `Unknown environment "${name}".`);
  return env;
}

/**
 * Records a new release (PENDING, its plan, progress entry 1, RELEASE_CREATED) in one
 * transaction. A second active release of the app in that env is refused by the unique
 * active key: CONFLICT naming the one that runs.
 */
export async function createReleaseOp(
  em: EntityManager,
  deps: DomainDeps,
  n: NewRelease,
): Promise<ReleaseRecord> {
  let created: Release;
  try {
    created = await em.transactional(async (tx) => {
      // The app's row, held shared until this commits: a deleteApp (which locks it for
      // update and then looks for active releases) either runs first, and the app is gone
      // here, or waits for this release and refuses.
      const app = await tx.findOne(
        App,
        { id: n.app.id },
        { fields: ['id'], disableIdentityMap: true, ...forShare(tx) },
      );
      if (!app) throw notFound(`App "${n.app.name}"`);
      const r = tx.create(Release, {
        appId: n.app.id,
        app: n.app.name,
        env: n.env.name,
        image: n.spec.image,
        status: ReleaseStatus.PENDING,
        strategy: n.spec.strategy,
        spec: n.spec,
        targets: n.env.targets.map((t) => ({ cluster: t.cluster, namespace: t.namespace })),
        steps: planSteps(n.env, n.spec.strategy, n.awaitBuild),
        clusters: [],
        prechecks: [],
        description: n.description,
        createdBy: n.requester.username,
        createdById: n.requester.id,
        rollbackOf: n.rollbackOf ?? null,
        buildId: n.buildId ?? null,
        activeKey: activeKeyOf(n.app.id, n.env.name),
        progressSeq: 1,
      });
      tx.persist(r);
      await tx.flush();
      const what = n.awaitBuild ? `the default branch's build` : n.spec.image;
      await insertProgress(
        tx,
        r.id,
        1,
        ProgressKind.CREATED,
        `Release of ${what} to ${n.env.name} requested by ${n.requester.username}`,
        stateOf(r),
      );
      recordEvent(tx, {
        type: PlatformEventType.RELEASE_CREATED,
        actor: n.requester.username,
        app: n.app.name,
        env: n.env.name,
        payload: {
          releaseId: releaseGlobalId(r.id),
          image: n.spec.image,
          strategy: n.spec.strategy,
          status: ReleaseStatus.PENDING,
          ...(n.rollbackOf ? { rollbackOf: releaseGlobalId(n.rollbackOf) } : {}),
          ...(n.buildId ? { buildId: buildGlobalId(n.buildId) } : {}),
        },
      });
      return r;
    });
  } catch (e) {
    if (e instanceof UniqueConstraintViolationException) {
      const active = await findActiveRelease(em.fork(), n.app.id, n.env.name);
      throw conflict(
        `App "${n.app.name}" already has an active release in ${n.env.name}${active ? ` (#${active.id}, ${active.status})` : ''}: wait for it to end or cancel it first.`,
        { field: 'env', ...(active ? { activeRelease: releaseGlobalId(active.id) } : {}) },
      );
    }
    throw e;
  }
  deps.onEventsCommitted();
  deps.onReleaseSignal?.(created.id);
  return toReleaseRecord(created);
}

/**
 * `createRelease`: DEVELOPER or above on the app. The image comes from `image`, or from
 * `buildId` (a SUCCEEDED build of the same app); with neither, the release builds the app's
 * default branch first (status BUILDING) and goes on when that build succeeds.
 */
export async function createRelease(
  ctx: DomainContext,
  input: CreateReleaseInput,
): Promise<ReleaseRecord> {
  const viewer = requireWriter(ctx.viewer);
  const app = await getApp(ctx, input.app);
  if (!app) throw new DomainError('NOT_FOUND', `App "${input.app}" not found.`, { field: 'app' });
  await requireAppRole(ctx, app, AppRole.DEVELOPER);
  const env = await requireEnvironment(ctx.em, input.env);
  const image = input.image?.trim() ?? '';
  if (image && input.buildId != null)
    throw badInput('buildId', 'Give `image` or `buildId`, not both.');
  const imageProblem = image ? imageReferenceProblem(image) : null;
  if (imageProblem)
    throw badInput(
      'image',
      `"${image}" is not a valid container image reference: ${imageProblem}.`,
    );
  if (input.description != null && charLength(input.description) > 2000)
    throw badInput('description', 'description is at most 2000 characters.');
  if (!env.targets.length)
    throw badInput('env', `Environment "${env.name}" has no deploy targets.`);
  const requester = { id: viewer.userId, username: viewer.username };
  const description = input.description ?? '';
  if (image)
    return createReleaseOp(ctx.em, ctx.deps, {
      app,
      env,
      spec: specOf(app, image),
      description,
      requester,
    });
  if (input.buildId != null) {
    const id = Number(input.buildId);
    const b = Number.isSafeInteger(id) ? await findBuild(ctx.em, id) : null;
    if (!b) throw new DomainError('NOT_FOUND', 'Build not found.', { field: 'buildId' });
    if (b.appId !== app.id)
      throw badInput(
        'buildId',
        `Build #${b.number} is a build of "${b.app}", not of "${app.name}".`,
      );
    if (b.status !== BuildStatus.SUCCEEDED || !b.image) {
      throw badInput(
        'buildId',
        `Build #${b.number} of ${b.app} is ${b.status}: only a SUCCEEDED build can be released.`,
      );
    }
    return createReleaseOp(ctx.em, ctx.deps, {
      app,
      env,
      spec: specOf(app, b.image),
      description,
      requester,
      buildId: b.id,
    });
  }
  // Neither image nor build: build the default branch first.
  const why = await unbuildableReason(ctx.em, app.id);
  if (why)
    throw badInput(
      'image',
      `Give \`image\` or \`buildId\`; the default branch cannot be built: ${why}`,
    );
  const build = await createBuildOp(ctx.em, ctx.deps, { app, ref: null, requester });
  try {
    return await createReleaseOp(ctx.em, ctx.deps, {
      app,
      env,
      spec: specOf(app, ''),
      description: description || `Build #${build.number} of the default branch, then release`,
      requester,
      buildId: build.id,
      awaitBuild: true,
    });
  } catch (e) {
    // No release waits for it (e.g. another release is active): the build is not wanted.
    await requestBuildCancel(ctx.em.fork(), ctx.deps, build.id).catch(() => undefined);
    throw e;
  }
}

/** A release any signed-in viewer may read (apps are readable by every viewer). */
export async function getRelease(ctx: DomainContext, id: number): Promise<ReleaseRecord | null> {
  requireViewer(ctx.viewer);
  const r = await findRelease(ctx.em, id);
  return r && toReleaseRecord(r);
}

async function requireRelease(ctx: DomainContext, id: number): Promise<Release> {
  requireViewer(ctx.viewer);
  const r = await findRelease(ctx.em, id);
  if (!r) throw new DomainError('NOT_FOUND', 'Release not found.', { field: 'id' });
  return r;
}

export interface ReleaseListFilter {
  app?: string | null;
  env?: string | null;
  status?: ReleaseStatus | null;
  createdBy?: string | null;
}

export interface ReleasePage {
  items: ReleaseRecord[];
  hasNextPage: boolean;
}

/** Newest first; `beforeId` is the last id of the previous page. An unknown app is an empty page. */
export async function listReleases(
  ctx: DomainContext,
  filter: ReleaseListFilter,
  first: number,
  beforeId?: number,
): Promise<ReleasePage> {
  requireViewer(ctx.viewer);
  const f: ReleaseFilter = { env: filter.env, status: filter.status, createdBy: filter.createdBy };
  if (filter.app != null) {
    const app = await getApp(ctx, filter.app);
    if (!app) return { items: [], hasNextPage: false };
    f.appId = app.id;
  }
  const rows = await listReleaseRows(ctx.em, f, first, beforeId);
  return { items: rows.slice(0, first).map(toReleaseRecord), hasNextPage: rows.length > first };
}

/**
 * `cancelRelease` (DEVELOPER or above): asks the engine to stop before its next step; waves
 * already deployed are rolled back. A release that has not started deploying ends CANCELED
 * at once (the engine does it on its next look, woken now).
 */
export async function cancelRelease(ctx: DomainContext, id: number): Promise<ReleaseRecord> {
  const r = await requireRelease(ctx, id);
  await requireAppRole(ctx, { id: r.appId, name: r.app }, AppRole.DEVELOPER);
  if (isTerminal(r.status)) throw conflict(`Release #${r.id} already ended (${r.status}).`);
  if (r.status === ReleaseStatus.ROLLING_BACK)
    throw conflict(`Release #${r.id} is rolling back already.`);
  const changed = await ctx.em.nativeUpdate(
    Release,
    { id: r.id, activeKey: { $ne: null } },
    { cancelRequested: true, nextRunAt: null },
  );
  if (!changed) throw conflict(`Release #${r.id} already ended.`);
  ctx.deps.onReleaseSignal?.(r.id);
  return toReleaseRecord({ ...r, cancelRequested: true });
}

/** `promoteRelease` (DEVELOPER or above): a canary that is PAUSED goes on to the full rollout. */
export async function promoteRelease(ctx: DomainContext, id: number): Promise<ReleaseRecord> {
  const r = await requireRelease(ctx, id);
  await requireAppRole(ctx, { id: r.appId, name: r.app }, AppRole.DEVELOPER);
  if (r.status !== ReleaseStatus.PAUSED) {
    throw conflict(
      `Release #${r.id} is ${r.status}: only a canary release that is PAUSED can be promoted.`,
      { status: r.status },
    );
  }
  await ctx.em.nativeUpdate(
    Release,
    { id: r.id, status: ReleaseStatus.PAUSED },
    { promoteRequested: true, nextRunAt: null },
  );
  ctx.deps.onReleaseSignal?.(r.id);
  return toReleaseRecord(r);
}

/**
 * `rollbackRelease` (DEVELOPER or above): a new release that puts the env back on the spec
 * (image and container) of the last release that SUCCEEDED before `id`. It runs like any
 * release (approval included where the env needs one); a CANARY app rolls back ROLLING.
 */
export async function rollbackRelease(ctx: DomainContext, id: number): Promise<ReleaseRecord> {
  const viewer = requireWriter(ctx.viewer);
  const r = await requireRelease(ctx, id);
  const app = await getApp(ctx, r.app);
  if (!app || app.id !== r.appId)
    throw conflict(`App "${r.app}" of release #${r.id} no longer exists.`);
  await requireAppRole(ctx, app, AppRole.DEVELOPER);
  const good = await findLastSucceeded(ctx.em, r.appId, r.env, r.id);
  if (!good)
    throw conflict(
      `No release of "${r.app}" in ${r.env} succeeded before #${r.id}: there is nothing to roll back to.`,
    );
  const env = await requireEnvironment(ctx.em, r.env);
  const strategy =
    good.spec.strategy === ReleaseStrategy.CANARY ? ReleaseStrategy.ROLLING : good.spec.strategy;
  return createReleaseOp(ctx.em, ctx.deps, {
    app,
    env,
    spec: { ...good.spec, strategy },
    rollbackOf: r.id,
    requester: { id: viewer.userId, username: viewer.username },
    description: `Rollback of #${r.id} to #${good.id} (${good.image})`,
  });
}

/** Checks a `releaseProgress` subscription: signed in, and the release exists. */
export async function authorizeReleaseProgress(
  ctx: DomainContext,
  id: number,
): Promise<ReleaseRecord> {
  return toReleaseRecord(await requireRelease(ctx, id));
}

/**
 * `deleteApp` refuses while a release of the app runs (waiting for approval, paused, or
 * deploying): the release would go on for an app that is gone, and deploy it once approved,
 * leaving workloads no app owns (which a new app of the same name would then adopt).
 */
export const activeReleaseDeletionGuard: AppDeletionGuard = async (
  ctx: DomainContext,
  app: { id: number; name: string },
): Promise<void> => {
  // Inside deleteApp's transaction (the app row locked for update), a locking read: it sees
  // a release committed while deleteApp waited for that lock, which a plain read of the
  // transaction's snapshot might not.
  const r = await ctx.em.findOne(
    Release,
    { appId: app.id, activeKey: { $ne: null } },
    {
      fields: ['id', 'status', 'env'],
      connectionType: 'write',
      disableIdentityMap: true,
      ...(ctx.em.isInTransaction() ? forShare(ctx.em) : {}),
    },
  );
  if (r)
    throw conflict(
      `App "${app.name}" has release #${r.id} in progress in ${r.env} (${r.status}): cancel it (cancelRelease) or let it end, then delete the app.`,
      { field: 'name' },
    );
};
// Run again inside deleteApp's transaction, the app row locked (see createReleaseOp).
activeReleaseDeletionGuard.inTransaction = true;

/**
 * Where a `releaseProgress` subscription starting after `after` stands: refused when `after`
 * is beyond the release's last entry (a watcher there would wait forever, and would hold back
 * the shared live read of every other watcher of the release), `ended` when the release is
 * over and `after` is its last entry (nothing is left to send: complete at once).
 */
export async function releaseProgressStart(
  ctx: DomainContext,
  release: ReleaseRecord,
  after: number,
): Promise<{ ended: boolean }> {
  // The primary: the entry a client just received must be there.
  const head = (await progressHeads(ctx.em, [release.id])).get(release.id) ?? 0;
  if (after > head)
    throw badInput(
      'after',
      `after (${after}) is beyond the last progress entry of release #${release.id} (${head}): pass a sequence you received.`,
    );
  return { ended: after === head && isTerminal(release.status) };
}

/**
 * Whether the viewer may start releases of the app (`createRelease`): a WRITE credential and
 * DEVELOPER or above on the app, or platform admin. The web console shows "Start a release"
 * from this; `createRelease` still checks everything (environment, image).
 */
export function viewerMayRelease(ctx: DomainContext, appId: number): Promise<boolean> {
  return viewerHasAppRole(ctx, appId, AppRole.DEVELOPER);
}

/** What a viewer may do to a release now; the web console shows a button per `true`. */
export type ReleaseAction = 'cancel' | 'promote' | 'rollback';

/**
 * Whether the viewer may `action` release `r` now: the same rules as `cancelRelease`,
 * `promoteRelease` and `rollbackRelease` (a WRITE credential, DEVELOPER or above on the app
 * or platform admin, and a release in a state the command accepts), answered as a boolean so
 * clients render buttons from the API instead of recomputing roles. The command still decides:
 * a `true` here can meet a CONFLICT when the release moved on in between.
 */
export async function viewerMayActOnRelease(
  ctx: DomainContext,
  r: Pick<ReleaseRecord, 'id' | 'appId' | 'env' | 'status' | 'cancelRequested'>,
  action: ReleaseAction,
): Promise<boolean> {
  const v = ctx.viewer;
  if (!v || !canWrite(v)) return false;
  const stateAllows =
    action === 'cancel'
      ? !isTerminal(r.status) && r.status !== ReleaseStatus.ROLLING_BACK && !r.cancelRequested
      : action === 'promote'
        ? r.status === ReleaseStatus.PAUSED
        : isTerminal(r.status);
  if (!stateAllows) return false;
  if (!(await viewerMayRelease(ctx, r.appId))) return false;
  // A rollback needs an earlier release that SUCCEEDED to go back to (else rollbackRelease is CONFLICT).
  if (action === 'rollback') return (await findLastSucceeded(ctx.em, r.appId, r.env, r.id)) != null;
  return true;
}
