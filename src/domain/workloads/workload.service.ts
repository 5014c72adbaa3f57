/**
 * Workloads: an app running in an environment, one part per target cluster. Reads come from
 * the runtime's informer caches; changes (deploy, restart, scale, delete a pod) are
 * authorized here (DEVELOPER or above on the app), applied through the runtime, and recorded
 * as platform events (outbox) when at least one target took the change. A target that fails
 * is data in the answer, not an error of the call.
 */
import type { ClusterRuntime } from '../../k8s/cluster-runtime.js';
import type { WorkloadRef, WorkloadState, WorkloadTarget } from '../../k8s/types.js';
import { getApp, requireAppRole, viewerHasAppRole, type AppRecord } from '../apps/app.service.js';
import { AppRole } from '../apps/app-kind.js';
import { PlatformEventType, recordEvent } from '../events/event-recorder.js';
import { Environment } from '../settings/environment.entity.js';
import type { AppDeletionGuard, DomainContext } from '../shared/domain-context.js';
import { requireViewer } from '../shared/authz.js';
import { DomainError, badInput, conflict, forbidden, notFound } from '../shared/errors.js';
import { actsAsAdmin } from '../people/viewer.js';
import { imageReferenceProblem } from '../shared/image-reference.js';
import { findActiveRelease } from '../releases/release.repository.js';
import { evaluateReleaseRules, windowRuleName } from '../rules/release-rules.js';

/** The most replicas `scaleApp` sets (the same bound as an app's container spec). */
export const MAX_REPLICAS = 500;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

async function requireApp(ctx: DomainContext, name: string): Promise<AppRecord> {
  const app = await getApp(ctx, name);
  if (!app) throw notFound(`App "${name}"`);
  return app;
}

/** The env's targets; an unknown env is the caller's mistake (BAD_USER_INPUT on `env`). */
export async function targetsOf(ctx: DomainContext, env: string): Promise<WorkloadTarget[]> {
  // Through the request's loader when there is one: a page of apps reads the env once (P5).
  const e = ctx.environmentByName
    ? await ctx.environmentByName.load(env)
    : await ctx.em.findOne(Environment, { name: env });
  if (!e) throw badInput('env', `Unknown environment "${env}".`);
  return e.targets.map((t) => ({ cluster: t.cluster, namespace: t.namespace }));
}

function summarize(parts: { cluster: string; namespace: string; error: string | null }[]) {
  return parts.map((p) => ({ cluster: p.cluster, namespace: p.namespace, error: p.error }));
}

/** Writes the outbox row when at least one target changed; wakes the relay after commit. */
async function recordIfChanged(
  ctx: DomainContext,
  type: PlatformEventType,
  app: string,
  env: string,
  parts: { cluster: string; namespace: string; error: string | null }[],
  payload: Record<string, unknown>,
): Promise<void> {
  if (!parts.some((p) => p.error === null)) return;
  const actor = ctx.viewer?.username ?? null;
  await ctx.em.transactional((em) => {
    recordEvent(em, { type, actor, app, env, payload: { ...payload, targets: summarize(parts) } });
  });
  ctx.deps.onEventsCommitted();
}

/**
 * The app's workload in `env`, one entry per target cluster (any signed-in viewer); with
 * `variant: 'canary'`, its canary Deployment (`<app>-canary`) on each target.
 */
export async function listWorkloads(
  ctx: DomainContext,
  runtime: ClusterRuntime,
  app: string,
  env: string,
  variant?: 'canary',
): Promise<WorkloadState[]> {
  requireViewer(ctx.viewer);
  const targets = await targetsOf(ctx, env);
  return runtime.workloads(targets, { app, env, ...(variant ? { variant } : {}) });
}

/**
 * The app's canary Deployments (`<app>-canary`) in `env`: those that exist, or whose cluster
 * could not be read (with its error). A CANARY release runs one on its first target from its
 * canary step until the full rollout is verified (or the release failed). Any signed-in viewer.
 */
export async function listCanaries(
  ctx: DomainContext,
  runtime: ClusterRuntime,
  app: string,
  env: string,
): Promise<WorkloadState[]> {
  const all = await listWorkloads(ctx, runtime, app, env, 'canary');
  return all.filter((w) => w.status !== 'MISSING' || w.error !== null);
}

/**
 * Whether the viewer may scale, restart and delete pods of the app (`scaleApp`, `restartApp`,
 * `deletePod`): the rule of {@link authorizeChange} as a boolean for `App.viewerCanOperate`.
 */
export function viewerMayOperate(ctx: DomainContext, appId: number): Promise<boolean> {
  return viewerHasAppRole(ctx, appId, AppRole.DEVELOPER);
}

/** Authorizes a change to the app's workload in env and returns its targets. */
async function authorizeChange(
  ctx: DomainContext,
  appName: string,
  env: string,
): Promise<{ app: AppRecord; targets: WorkloadTarget[]; ref: WorkloadRef }> {
  const app = await requireApp(ctx, appName);
  await requireAppRole(ctx, app, AppRole.DEVELOPER);
  const targets = await targetsOf(ctx, env);
  return { app, targets, ref: { app: app.name, env } };
}

/**
 * A direct deploy or removal while a release of the app runs in `env` would fight it: the
 * release verified the other image under its own id (and reported SUCCEEDED), or a paused
 * canary was left running. CONFLICT, naming the release.
 */
async function requireNoActiveRelease(
  ctx: DomainContext,
  app: AppRecord,
  env: string,
  what: string,
): Promise<void> {
  const r = await findActiveRelease(ctx.em, app.id, env);
  if (r)
    throw conflict(
      `Release #${r.id} of ${app.name} is in progress in ${env} (${r.status}): ${what} now would fight it. Cancel it (cancelRelease) or let it end first.`,
      { field: 'env' },
    );
}

/**
 * A direct deploy inside an active maintenance window (one that would stop a release of this
 * app, whitelist entries applied) is refused like the release, unless a platform admin acts as
 * admin (an emergency fix during a freeze is theirs to make).
 */
async function requireNoFreeze(ctx: DomainContext, app: AppRecord, env: string): Promise<void> {
  if (ctx.viewer && actsAsAdmin(ctx.viewer)) return;
  const results = await evaluateReleaseRules(ctx.em, {
    appId: app.id,
    app: app.name,
    env,
    now: new Date(),
    dependencies: null,
  });
  const frozen = results.filter((r) => !r.passed && r.rule.startsWith(windowRuleName('')));
  if (frozen.length)
    throw conflict(
      `Deploying ${app.name} to ${env} directly is refused during a maintenance window, as a release would be: ${frozen.map((r) => r.message).join(' ')}`,
      { field: 'env' },
    );
}

/**
 * A direct deploy or removal would skip the environment's approval (prod requires one), which
 * releases go through: only a platform admin acting as admin may do that.
 */
async function requireApprovalBypass(ctx: DomainContext, env: string, what: string): Promise<void> {
  const environment = await ctx.em.findOne(Environment, { name: env });
  if (environment?.requiresApproval && !(ctx.viewer && actsAsAdmin(ctx.viewer))) {
    throw forbidden(
      `Environment "${env}" requires approval: ${what} there directly is for platform admins (with an ADMIN-scoped credential).`,
    );
  }
}

/**
 * Applies the app's container spec with `image` to every target of `env` (Deployment,
 * Service, HPA). The release engine calls this too; `releaseId` lands on the objects. An
 * environment that requires approval is FORBIDDEN unless the caller acts as a platform admin.
 * Records WORKLOAD_DEPLOYED when at least one target took it.
 */
export async function deployApp(
  ctx: DomainContext,
  runtime: ClusterRuntime,
  appName: string,
  env: string,
  image: string,
  releaseId?: string | null,
): Promise<WorkloadState[]> {
  const { app, targets, ref } = await authorizeChange(ctx, appName, env);
  await requireApprovalBypass(ctx, env, 'deploying');
  if (releaseId == null) {
    await requireNoActiveRelease(ctx, app, env, 'deploying');
    await requireNoFreeze(ctx, app, env);
  }
  const imageProblem = imageReferenceProblem(image ?? '');
  if (imageProblem)
    throw badInput(
      'image',
      `"${image}" is not a valid container image reference: ${imageProblem}.`,
    );
  const parts = await runtime.applyWorkload(targets, {
    ...ref,
    image,
    container: app.container,
    releaseId: releaseId ?? null,
  });
  await recordIfChanged(ctx, PlatformEventType.WORKLOAD_DEPLOYED, ref.app, env, parts, {
    image,
    releaseId: releaseId ?? null,
  });
  return parts;
}

/**
 * Deletes the app's Deployment, Service and HPA in every target of `env` (DEVELOPER or above;
 * an environment that requires approval: platform admins only, like {@link deployApp}).
 * Records WORKLOAD_REMOVED when at least one target deleted something. Returns each target's
 * workload as the cache shows it afterwards (MISSING once removed; a failed target's error).
 */
export async function removeWorkload(
  ctx: DomainContext,
  runtime: ClusterRuntime,
  appName: string,
  env: string,
): Promise<WorkloadState[]> {
  const { app, targets, ref } = await authorizeChange(ctx, appName, env);
  await requireApprovalBypass(ctx, env, 'removing the workload');
  await requireNoActiveRelease(ctx, app, env, 'removing the workload');
  const results = await runtime.removeWorkload(targets, ref);
  if (results.some((r) => r.removed)) {
    await recordIfChanged(ctx, PlatformEventType.WORKLOAD_REMOVED, ref.app, env, results, {
      removedOn: results.filter((r) => r.removed).map((r) => r.cluster),
    });
  }
  const states = await runtime.workloads(targets, ref);
  return states.map((w, i) => {
    const r = results[i];
    return r.ok ? w : { ...w, error: r.error, code: r.code };
  });
}

/** Where an app still runs, for a message: `prod (sim-1/prod, sim-2/prod); dev (sim-1/dev)`. */
function describePlacements(
  found: { cluster: string; namespace: string; env: string | null }[],
): string {
  const byEnv = new Map<string, string[]>();
  for (const p of found) {
    const key = p.env ?? '(no env label)';
    byEnv.set(key, [...(byEnv.get(key) ?? []), `${p.cluster}/${p.namespace}`]);
  }
  return [...byEnv].map(([env, where]) => `${env} (${where.join(', ')})`).join('; ');
}

/**
 * The workloads module's objection to `deleteApp` (registered by the k8s module at start): an
 * app whose Deployment or HPA is still on a cluster would leave it running, and a new app of
 * the same name would adopt it. Reads the informer caches only. A cluster whose cache cannot
 * tell (down, not synced) refuses too, unless the caller acts as a platform admin.
 */
export function workloadDeletionGuard(runtime: ClusterRuntime): AppDeletionGuard {
  return async (ctx, app) => {
    await runtime.whenSynced(2000);
    const { found, unknown } = runtime.placements(app.name);
    if (found.length) {
      throw conflict(
        `App "${app.name}" still runs in ${describePlacements(found)}: remove its workloads first (removeWorkload(app: "${app.name}", env: …) per environment), then delete the app.`,
        {
          placements: found.map((p) => ({
            env: p.env,
            cluster: p.cluster,
            namespace: p.namespace,
          })),
        },
      );
    }
    if (unknown.length && !(ctx.viewer && actsAsAdmin(ctx.viewer))) {
      throw conflict(
        `Cannot tell whether app "${app.name}" still runs on ${unknown.map((u) => u.cluster).join(', ')} (${unknown.map((u) => u.error).join('; ')}): try again when the cluster is back, or ask a platform admin (they may delete it anyway).`,
        { unknownClusters: unknown.map((u) => u.cluster) },
      );
    }
  };
}

/** Rollout restart in every target of `env`. */
export async function restartApp(
  ctx: DomainContext,
  runtime: ClusterRuntime,
  appName: string,
  env: string,
): Promise<WorkloadState[]> {
  const { targets, ref } = await authorizeChange(ctx, appName, env);
  const parts = await runtime.restart(targets, ref);
  await recordIfChanged(ctx, PlatformEventType.WORKLOAD_RESTARTED, ref.app, env, parts, {});
  return parts;
}

/** Sets the replica count in every target of `env`. */
export async function scaleApp(
  ctx: DomainContext,
  runtime: ClusterRuntime,
  appName: string,
  env: string,
  replicas: number,
): Promise<WorkloadState[]> {
  const { targets, ref } = await authorizeChange(ctx, appName, env);
  if (!Number.isInteger(replicas) || replicas < 0 || replicas > MAX_REPLICAS) {
    throw badInput('replicas', `replicas must be a whole number from 0 to ${MAX_REPLICAS}.`);
  }
  const parts = await runtime.scale(targets, ref, replicas);
  await recordIfChanged(ctx, PlatformEventType.WORKLOAD_SCALED, ref.app, env, parts, { replicas });
  return parts;
}

/**
 * Deletes one of the app's pods on `cluster` (a target of `env`); its ReplicaSet replaces it.
 * A pod that is not the app's is NOT_FOUND, like a missing one. An unreachable cluster is
 * UNAVAILABLE: with a single target there is no other part to return beside the error.
 */
export async function deletePod(
  ctx: DomainContext,
  runtime: ClusterRuntime,
  appName: string,
  env: string,
  cluster: string,
  pod: string,
): Promise<boolean> {
  const { targets, ref } = await authorizeChange(ctx, appName, env);
  const target = targets.find((t) => t.cluster === cluster);
  if (!target)
    throw badInput('cluster', `Environment "${env}" has no target on cluster "${cluster}".`);
  if (pod.length > 253 || !DNS1123_SUBDOMAIN.test(pod))
    throw badInput('pod', `"${pod}" is not a valid pod name.`);
  const res = await runtime.deletePod(target, ref, pod);
  if (!res.ok) {
    if (res.code === 'NOT_FOUND') throw new DomainError('NOT_FOUND', res.error!, { field: 'pod' });
    throw new DomainError('UNAVAILABLE', res.error ?? `cluster ${cluster} is unavailable`, {
      cluster,
    });
  }
  await recordIfChanged(
    ctx,
    PlatformEventType.POD_DELETED,
    ref.app,
    env,
    [{ ...target, error: null }],
    { pod },
  );
  return true;
}

/** Checks a `podEvents` subscription: a signed-in viewer, an existing app and env. */
export async function authorizePodEvents(
  ctx: DomainContext,
  appName: string,
  env: string,
): Promise<WorkloadRef> {
  requireViewer(ctx.viewer);
  const app = await requireApp(ctx, appName);
  await targetsOf(ctx, env);
  return { app: app.name, env };
}

/** Where `podEvents` subscriptions read from (the k8s module's bus subscription). */
export interface PodEventSource {
  podEvents(
    ref: WorkloadRef,
  ): Promise<AsyncIterableIterator<import('../../k8s/types.js').PodEventMessage>>;
}

/** Authorizes, then subscribes to the app's pod changes in `env` on every cluster. */
export async function subscribePodEvents(
  ctx: DomainContext,
  source: PodEventSource,
  appName: string,
  env: string,
) {
  const ref = await authorizePodEvents(ctx, appName, env);
  return source.podEvents(ref);
}

/** Every cluster's health and version (any signed-in viewer). */
export async function listClusters(ctx: DomainContext, runtime: ClusterRuntime) {
  requireViewer(ctx.viewer);
  return runtime.clusters();
}
