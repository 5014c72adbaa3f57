/**
 * Every query on `builds` and `build_log_lines`. Reads return plain rows (no managed
 * entities); only creation and the engine's fenced writes change rows.
 */
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { Build } from './build.entity.js';
import { BuildLogLineRow } from './build-log-line.entity.js';
import { BuildStatus, type BuildLogLine, type BuildRecord } from './build-model.js';

const plain = { disableIdentityMap: true } as const;
const date = (d: Date | string | null | undefined): Date | null => (d == null ? null : new Date(d));

export function toBuildRecord(b: Build): BuildRecord {
  return {
    id: b.id,
    appId: b.appId,
    app: b.app,
    number: b.number,
    ref: b.ref ?? null,
    commit: b.commit ?? null,
    status: b.status,
    image: b.image ?? null,
    dependencies: b.dependencies ?? null,
    triggeredBy: b.triggeredBy,
    triggeredById: b.triggeredById,
    message: b.message ?? null,
    cancelRequested: !!b.cancelRequested,
    attempts: b.attempts,
    generation: b.generation,
    createdAt: new Date(b.createdAt),
    startedAt: date(b.startedAt),
    finishedAt: date(b.finishedAt),
    logFirst: b.logFirst,
    logNext: b.logNext,
  };
}

/** One build (the primary: callers act on what they read). */
export async function findBuild(em: EntityManager, id: number): Promise<Build | null> {
  return em.findOne(Build, { id }, { ...plain, connectionType: 'write' });
}

/** An app's builds, newest first, keyset-paginated by number; `first + 1` rows so the caller knows whether more follow. */
export async function listBuildRows(
  em: EntityManager,
  appId: number,
  first: number,
  beforeNumber?: number,
): Promise<Build[]> {
  const where: FilterQuery<Build> = { appId };
  if (beforeNumber != null) where.number = { $lt: beforeNumber };
  return em.find(Build, where, { ...plain, orderBy: { number: 'desc' }, limit: first + 1 });
}

/** The next build number of an app (inside the creating transaction; the unique key settles races). */
export async function nextBuildNumber(em: EntityManager, appId: number): Promise<number> {
  const last = await em.findOne(
    Build,
    { appId },
    { ...plain, fields: ['id', 'number'], orderBy: { number: 'desc' }, connectionType: 'write' },
  );
  return (last?.number ?? 0) + 1;
}

/** The line that stands for lines dropped by the bound (offsets `from … first - 1`). */
export function droppedLine(from: number, first: number): BuildLogLine {
  const n = first - from;
  return {
    offset: from,
    next: first,
    text: `[phantom] ${n} earlier line${n === 1 ? '' : 's'} (offsets ${from}–${first - 1}) dropped: the log is bounded by PHANTOM_BUILD_LOG_MAX_BYTES`,
  };
}

/**
 * Log lines of a build from offset `from`, at most `limit` (and below `upTo` when given). When
 * `from` is before the first line still kept, the first line returned says how many were
 * dropped (and counts towards `limit`).
 */
export async function readLog(
  em: EntityManager,
  buildId: number,
  from: number,
  limit: number,
  upTo?: number,
): Promise<BuildLogLine[]> {
  const b = await em.findOne(
    Build,
    { id: buildId },
    { ...plain, fields: ['id', 'logFirst', 'logNext'], connectionType: 'write' },
  );
  if (!b || limit <= 0) return [];
  const out: BuildLogLine[] = [];
  let start = Math.max(0, from);
  if (start < b.logFirst) {
    out.push(droppedLine(start, b.logFirst));
    start = b.logFirst;
  }
  const want = limit - out.length;
  if (want <= 0) return out;
  const offset = upTo != null ? { $gte: start, $lt: upTo } : { $gte: start };
  const rows = await em.find(
    BuildLogLineRow,
    { buildId, offset },
    { ...plain, orderBy: { offset: 'asc' }, limit: want, connectionType: 'write' },
  );
  // A trim between the two reads: say so rather than skip silently.
  if (rows.length && rows[0].offset > start) out.push(droppedLine(start, rows[0].offset));
  for (const r of rows) out.push({ offset: r.offset, next: r.offset + 1, text: r.text });
  return out;
}

/** Where each build's log stands, and its status (one statement for every watched build). */
export async function logHeads(
  em: EntityManager,
  ids: number[],
): Promise<Map<number, { next: number; status: BuildStatus }>> {
  if (!ids.length) return new Map();
  const rows = await em.find(
    Build,
    { id: { $in: ids } },
    { ...plain, fields: ['id', 'logNext', 'status'], connectionType: 'write' },
  );
  return new Map(rows.map((r) => [r.id, { next: r.logNext, status: r.status }]));
}

/** Adds log lines to `em`'s transaction. */
export async function insertLogLines(
  em: EntityManager,
  buildId: number,
  lines: { offset: number; text: string; size: number }[],
): Promise<void> {
  if (lines.length)
    await em.insertMany(
      BuildLogLineRow,
      lines.map((l) => ({ buildId, offset: l.offset, text: l.text, size: l.size })),
    );
}

/**
 * Deletes the oldest lines from `first` on until at least `excess` bytes are gone (in `em`'s
 * transaction); returns the new first offset and the bytes removed.
 */
export async function trimLog(
  em: EntityManager,
  buildId: number,
  first: number,
  excess: number,
): Promise<{ first: number; removed: number }> {
  let removed = 0;
  let cutoff = first;
  while (removed < excess) {
    const rows = await em.find(
      BuildLogLineRow,
      { buildId, offset: { $gte: cutoff } },
      { ...plain, fields: ['id', 'offset', 'size'], orderBy: { offset: 'asc' }, limit: 500 },
    );
    if (!rows.length) break;
    for (const r of rows) {
      if (removed >= excess) break;
      removed += r.size;
      cutoff = r.offset + 1;
    }
  }
  if (cutoff > first) await em.nativeDelete(BuildLogLineRow, { buildId, offset: { $lt: cutoff } });
  return { first: cutoff, removed };
}

/** The dependencies recorded on a build (null: none scanned, or no such build). */
export async function findBuildDependencies(
  em: EntityManager,
  id: number,
): Promise<BuildRecord['dependencies']> {
  const b = await em.findOne(
    Build,
    { id },
    { ...plain, fields: ['id', 'dependencies'], connectionType: 'write' },
  );
  return b?.dependencies ?? null;
}
