/**
 * What the releases module does when a build ends (the build engine calls these as the
 * platform, recording who triggered the build): wake the releases waiting on it (BUILDING),
 * and release a successful build of the default branch to each of the app's
 * `releaseConfig.autoReleaseEnvs` (the release's `buildId` set). Auto-release lives in the
 * backend, never in a browser (the old platform's web page fired it).
 */
import type { EntityManager } from '@mikro-orm/core';
import { App } from '../apps/app.entity.js';
import { toRecord } from '../apps/app.service.js';
import { Environment } from '../settings/environment.entity.js';
import type { DomainDeps } from '../shared/domain-context.js';
import { DomainError } from '../shared/errors.js';
import type { BuildRecord } from '../builds/build-model.js';
import { Release } from './release.entity.js';
import { ReleaseStatus, type ReleaseRecord } from './release-model.js';
import { createReleaseOp, specOf } from './release.service.js';

/** Makes the releases waiting on build `buildId` due now and signals the engines. */
export async function wakeReleasesOfBuild(
  em: EntityManager,
  deps: DomainDeps,
  buildId: number,
): Promise<number[]> {
  const rows = await em.find(
    Release,
    { buildId, status: ReleaseStatus.BUILDING },
    { fields: ['id'], disableIdentityMap: true, connectionType: 'write' },
  );
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  await em.nativeUpdate(
    Release,
    { id: { $in: ids }, status: ReleaseStatus.BUILDING },
    { nextRunAt: null },
  );
  for (const id of ids) deps.onReleaseSignal?.(id);
  return ids;
}

export type AutoReleaseResult =
  { env: string; release: ReleaseRecord } | { env: string; skipped: string };

/**
 * Releases a SUCCEEDED build of the default branch to each env of the app's
 * `autoReleaseEnvs`. An env whose release already waits on this build (it started the build)
 * is skipped, and so is one with an active release (CONFLICT): each result says what happened.
 */
export async function autoReleaseBuild(
  em: EntityManager,
  deps: DomainDeps,
  b: BuildRecord,
): Promise<AutoReleaseResult[]> {
  if (b.ref !== null || !b.image) return [];
  const app = await em.findOne(
    App,
    { id: b.appId },
    { disableIdentityMap: true, connectionType: 'write' },
  );
  if (!app || app.name !== b.app) return [];
  const record = toRecord(app);
  const out: AutoReleaseResult[] = [];
  for (const envName of record.releaseConfig.autoReleaseEnvs) {
    const waiting = await em.findOne(
      Release,
      { buildId: b.id, env: envName },
      { fields: ['id'], disableIdentityMap: true, connectionType: 'write' },
    );
    if (waiting) {
      out.push({
        env: envName,
        skipped: `release #${waiting.id} of this build already goes to ${envName}`,
      });
      continue;
    }
    const env = await em.findOne(
      Environment,
      { name: envName },
      { disableIdentityMap: true, connectionType: 'write' },
    );
    if (!env) {
      out.push({ env: envName, skipped: `environment ${envName} does not exist` });
      continue;
    }
    if (!env.targets.length) {
      out.push({ env: envName, skipped: `environment ${envName} has no deploy targets` });
      continue;
    }
    try {
      const release = await createReleaseOp(em, deps, {
        app: record,
        env,
        spec: specOf(record, b.image),
        buildId: b.id,
        requester: { id: b.triggeredById, username: b.triggeredBy },
        description: `Auto-release of build #${b.number} (${b.commit?.slice(0, 12) ?? 'default branch'})`,
      });
      out.push({ env: envName, release });
    } catch (e) {
      if (e instanceof DomainError) out.push({ env: envName, skipped: e.message });
      else throw e;
    }
  }
  return out;
}
