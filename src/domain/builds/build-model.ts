/**
 * The build model as plain data: statuses, a build as read models see it, its log lines.
 * Shared by the domain commands, the engine that runs builds, and the GraphQL presenters; no
 * I/O here.
 */
import type { Dependency } from '../rules/rule-model.js';

export enum BuildStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELED = 'CANCELED',
}

export const BUILD_TERMINAL: ReadonlySet<BuildStatus> = new Set([
  BuildStatus.SUCCEEDED,
  BuildStatus.FAILED,
  BuildStatus.CANCELED,
]);

export const isBuildTerminal = (s: BuildStatus): boolean => BUILD_TERMINAL.has(s);

/** A build as read models see it: plain data. */
export interface BuildRecord {
  id: number;
  appId: number;
  app: string;
  /** 1, 2, 3, … per app. */
  number: number;
  /** The ref asked for; null = the repository's default branch. */
  ref: string | null;
  /** The commit built (set once the clone is done). */
  commit: string | null;
  status: BuildStatus;
  /** `<registry>/<app>:<number>-<shortsha>`, set when it succeeded. */
  image: string | null;
  /** What the scan found (null until the build succeeded). */
  dependencies: Dependency[] | null;
  triggeredBy: string;
  triggeredById: number;
  /** Why it failed or was canceled; what it did when it succeeded. */
  message: string | null;
  cancelRequested: boolean;
  attempts: number;
  /** The claim's fencing token (a direct cancel of a QUEUED build bumps it). */
  generation: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Log lines kept are `logFirst ≤ offset < logNext`; earlier ones were dropped (the bound). */
  logFirst: number;
  logNext: number;
}

/**
 * One line of a build log. `next` is the offset after it: `offset + 1` for a stored line; for
 * the line that says earlier lines were dropped, the first offset still kept.
 */
export interface BuildLogLine {
  offset: number;
  next: number;
  text: string;
}
