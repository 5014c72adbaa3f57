/**
 * The release model as plain data: statuses, steps, per-cluster progress and the spec a
 * release applies. Shared by the domain commands, the engine that runs releases, and the
 * GraphQL presenters; no I/O here.
 */
import type { ContainerSpec } from '../apps/app-spec.js';
import type { ReleaseStrategy } from '../apps/app-kind.js';

export enum ReleaseStatus {
  PENDING = 'PENDING',
  /** Waiting for its build (a release created with neither image nor build builds the default branch first). */
  BUILDING = 'BUILDING',
  PRECHECKING = 'PRECHECKING',
  AWAITING_APPROVAL = 'AWAITING_APPROVAL',
  DEPLOYING = 'DEPLOYING',
  VERIFYING = 'VERIFYING',
  PAUSED = 'PAUSED',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  ROLLING_BACK = 'ROLLING_BACK',
  ROLLED_BACK = 'ROLLED_BACK',
  CANCELED = 'CANCELED',
  REJECTED = 'REJECTED',
}

export const TERMINAL_STATUSES: ReadonlySet<ReleaseStatus> = new Set([
  ReleaseStatus.SUCCEEDED,
  ReleaseStatus.FAILED,
  ReleaseStatus.ROLLED_BACK,
  ReleaseStatus.CANCELED,
  ReleaseStatus.REJECTED,
]);

export const isTerminal = (s: ReleaseStatus): boolean => TERMINAL_STATUSES.has(s);

export enum StepStatus {
  PENDING = 'PENDING',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  SKIPPED = 'SKIPPED',
}

/**
 * What a step does: `build` (waits for the build the release started: its image and scanned
 * dependencies are what the prechecks and the waves use); `precheck`; `approval` (waits for the ticket); `canary` (the canary
 * Deployment on the first cluster, verified); `pause` (waits for promoteRelease or the
 * canary pause); `deploy` (one wave: one target cluster, verified); `cleanup` (removes the
 * canary); `rollback` (re-applies the last good spec to one touched cluster, verified).
 */
export type StepKind =
  'build' | 'precheck' | 'approval' | 'canary' | 'pause' | 'deploy' | 'cleanup' | 'rollback';

export interface ReleaseStep {
  name: StepKind;
  cluster: string | null;
  namespace: string | null;
  status: StepStatus;
  startedAt: string | null;
  finishedAt: string | null;
  message: string | null;
  /** approval: when the ticket expires; pause: when the canary goes on by itself. */
  dueAt?: string | null;
  /**
   * Intent: set (and committed) just before the step calls the cluster. A step retried after
   * a crash with `applied` set knows its write may have landed and looks for it first.
   */
  applied?: boolean;
}

/** One target cluster's pod counts, as the last verification saw them. */
export interface ClusterProgress {
  cluster: string;
  namespace: string;
  desired: number;
  updated: number;
  ready: number;
  available: number;
}

/** One precheck's result (every rule is listed, not just the first failure). */
export interface PrecheckResult {
  rule: string;
  passed: boolean;
  message: string;
}

/**
 * What a release applies, recorded when it is created: the image, the container spec and the
 * release settings of that moment. A rollback re-applies the `spec` of the last release that
 * SUCCEEDED, whatever the app's spec is now.
 */
export interface ReleaseSpec {
  image: string;
  container: ContainerSpec;
  strategy: ReleaseStrategy;
  autoRollback: boolean;
  progressDeadlineSeconds: number;
  canaryReplicas: number;
  canaryPauseSeconds: number;
}

/** The parts of a release that change while it runs (also stored with each progress entry). */
export interface ReleaseState {
  status: ReleaseStatus;
  steps: ReleaseStep[];
  clusters: ClusterProgress[];
  prechecks: PrecheckResult[];
  message: string | null;
  ticketId: number | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A release as read models see it: plain data. */
export interface ReleaseRecord extends ReleaseState {
  id: number;
  appId: number;
  app: string;
  env: string;
  image: string;
  strategy: ReleaseStrategy;
  spec: ReleaseSpec;
  description: string;
  createdBy: string;
  createdById: number;
  buildId: number | null;
  rollbackOf: number | null;
  createdAt: Date;
  /** A cancel was asked for and the engine has not acted on it yet. */
  cancelRequested: boolean;
}

/** What a progress entry says happened. */
export enum ProgressKind {
  CREATED = 'CREATED',
  STATUS = 'STATUS',
  STEP = 'STEP',
  PODS = 'PODS',
  PRECHECKS = 'PRECHECKS',
}

/** One entry of a release's progress feed. */
export interface ReleaseProgressRecord {
  releaseId: number;
  /** 1, 2, 3, … per release, no gaps. */
  seq: number;
  kind: ProgressKind;
  message: string;
  at: Date;
  state: ReleaseState;
}
