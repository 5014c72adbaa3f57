/**
 * Every query on `releases` and `release_progress`. List pages and feeds read plain rows
 * (no managed entities); only the engine's fenced writes and creation change rows.
 */
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/mysql';
import { Release } from './release.entity.js';
import { ReleaseProgressRow } from './release-progress.entity.js';
import {
  ReleaseStatus,
  type ProgressKind,
  type ReleaseProgressRecord,
  type ReleaseRecord,
  type ReleaseState,
} from './release-model.js';

const iso = (d: Date | string | null | undefined): string | null =>
  d == null ? null : new Date(d).toISOString();

/** A row's changing part. */
export function stateOf(r: Release): ReleaseState {
  return {
    status: r.status,
    steps: r.steps,
    clusters: r.clusters ?? [],
    prechecks: r.prechecks ?? [],
    message: r.message ?? null,
    ticketId: r.ticketId ?? null,
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
  };
}

export function toReleaseRecord(r: Release): ReleaseRecord {
  return {
    ...stateOf(r),
    id: r.id,
    appId: r.appId,
    app: r.app,
    env: r.env,
    image: r.image,
    strategy: r.strategy,
    spec: r.spec,
    description: r.description,
    createdBy: r.createdBy,
    createdById: r.createdById,
    buildId: r.buildId ?? null,
    rollbackOf: r.rollbackOf ?? null,
    createdAt: new Date(r.createdAt),
    cancelRequested: !!r.cancelRequested,
  };
}

const plain = { disableIdentityMap: true } as const;

/** One release (the primary: callers act on what they read). */
export async function findRelease(em: EntityManager, id: number): Promise<Release | null> {
  return em.findOne(Release, { id }, { ...plain, connectionType: 'write' });
}

/** The flags others set on a release (cancel, promote, approval) and its claim generation. */
export interface ReleaseFlags {
  generation: number;
  cancelRequested: boolean;
  promoteRequested: boolean;
  approval: string | null;
  approvalNote: string | null;
}

/**
 * A release's flags, read fresh from the primary as a plain row of those columns (the engine
 * reads them at each wave and on each signal).
 */
export async function findReleaseFlags(
  em: EntityManager,
  id: number,
): Promise<ReleaseFlags | null> {
  const rows = await (em as SqlEntityManager).getConnection('write').execute<
    {
      generation: number | string;
      cancel_requested: number | boolean;
      promote_requested: number | boolean;
      approval: string | null;
      approval_note: string | null;
    }[]
  >('select generation, cancel_requested, promote_requested, approval, approval_note from releases where id = ?', [id]);
  const r = rows[0];
  if (!r) return null;
  return {
    generation: Number(r.generation),
    cancelRequested: !!Number(r.cancel_requested),
    promoteRequested: !!Number(r.promote_requested),
    approval: r.approval ?? null,
    approvalNote: r.approval_note ?? null,
  };
}

/** Releases by id (dataloader batch), from the primary. */
export async function findReleases(em: EntityManager, ids: readonly number[]): Promise<Release[]> {
  if (!ids.length) return [];
  return em.find(Release, { id: { $in: [...ids] } }, { ...plain, connectionType: 'write' });
}

export interface ReleaseFilter {
  appId?: number | null;
  env?: string | null;
  status?: ReleaseStatus | null;
  createdBy?: string | null;
}

/** Newest first, keyset-paginated by id; `first + 1` rows so the caller knows whether more follow. */
export async function listReleaseRows(
  em: EntityManager,
  filter: ReleaseFilter,
  first: number,
  beforeId?: number,
): Promise<Release[]> {
  const where: FilterQuery<Release> = {};
  if (filter.appId != null) where.appId = filter.appId;
  if (filter.env != null) where.env = filter.env;
  if (filter.status != null) where.status = filter.status;
  if (filter.createdBy != null) where.createdBy = filter.createdBy;
  if (beforeId != null) where.id = { $lt: beforeId };
  return em.find(Release, where, { ...plain, orderBy: { id: 'desc' }, limit: first + 1 });
}

/**
 * The newest `perApp` releases of each app in `appIds` (optionally in `env`), newest first per
 * app: one statement for a whole page of apps (`App.releases` through a dataloader), with a
 * window function (MySQL 8 / MariaDB 10.2 / SQLite 3.25).
 */
export async function listReleaseRowsForApps(
  em: EntityManager,
  appIds: readonly number[],
  env: string | null,
  perApp: number,
): Promise<Release[]> {
  if (!appIds.length) return [];
  const params: unknown[] = [...appIds];
  let where = `app_id in (${appIds.map(() => '?').join(', ')})`;
  if (env != null) {
    where += ' and env = ?';
    params.push(env);
  }
  params.push(perApp);
  const rows = (await em
    .getConnection()
    .execute(
      `select * from (select r.*, row_number() over (partition by r.app_id order by r.id desc) as phantom_rn from releases r where ${where}) x where phantom_rn <= ? order by app_id, id desc`,
      params,
      'all',
    )) as Record<string, unknown>[];
  return rows.map((row) => {
    const { phantom_rn: _rn, ...columns } = row;
    return em.map(Release, columns);
  });
}

/** The active release of an app in an env (the one holding the active key), if any. */
export async function findActiveRelease(
  em: EntityManager,
  appId: number,
  env: string,
): Promise<Release | null> {
  return em.findOne(
    Release,
    { activeKey: activeKeyOf(appId, env) },
    { ...plain, connectionType: 'write' },
  );
}

export const activeKeyOf = (appId: number, env: string): string => `${appId}/${env}`;

/** The newest release of the app in `env` that SUCCEEDED before release `beforeId`. */
export async function findLastSucceeded(
  em: EntityManager,
  appId: number,
  env: string,
  beforeId: number,
): Promise<Release | null> {
  return em.findOne(
    Release,
    { appId, env, status: ReleaseStatus.SUCCEEDED, id: { $lt: beforeId } },
    { ...plain, orderBy: { id: 'desc' }, connectionType: 'write' },
  );
}

/** Adds progress entry `seq` of a release to `em`'s transaction. */
export async function insertProgress(
  em: EntityManager,
  releaseId: number,
  seq: number,
  kind: ProgressKind,
  message: string,
  state: ReleaseState,
): Promise<void> {
  await em.insert(ReleaseProgressRow, { releaseId, seq, kind, message, state, at: new Date() });
}

export function toProgressRecord(r: ReleaseProgressRow): ReleaseProgressRecord {
  return {
    releaseId: r.releaseId,
    seq: r.seq,
    kind: r.kind,
    message: r.message,
    at: new Date(r.at),
    state: r.state,
  };
}

/** Progress entries of a release with `afterSeq < seq ≤ upToSeq`, in order, at most `limit`. */
export async function findProgress(
  em: EntityManager,
  releaseId: number,
  afterSeq: number,
  limit: number,
  upToSeq?: number,
): Promise<ReleaseProgressRecord[]> {
  const seq = upToSeq != null ? { $gt: afterSeq, $lte: upToSeq } : { $gt: afterSeq };
  const rows = await em.find(
    ReleaseProgressRow,
    { releaseId, seq },
    { ...plain, orderBy: { seq: 'asc' }, limit, connectionType: 'write' },
  );
  return rows.map(toProgressRecord);
}

/** The newest progress sequence of each release (one statement). */
export async function progressHeads(
  em: EntityManager,
  ids: number[],
): Promise<Map<number, number>> {
  if (!ids.length) return new Map();
  const rows = await em.find(
    Release,
    { id: { $in: ids } },
    { ...plain, fields: ['id', 'progressSeq'], connectionType: 'write' },
  );
  return new Map(rows.map((r) => [r.id, r.progressSeq]));
}
