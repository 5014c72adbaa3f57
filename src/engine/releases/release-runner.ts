/**
 * Runs one claimed release from where it stands to its end, or until it has to wait (for an
 * approval, a canary promotion). Each change is one fenced transaction: the release row
 * (conditional on the claim's generation), its next progress entry, and platform events when
 * the release starts or ends. Steps record their intent (`applied`) before they call the
 * cluster and look for their own write first when retried, so a crash at any point resumes
 * without applying anything twice. Verification waits on the runtime's watch events.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { ClusterRuntime } from '../../k8s/cluster-runtime.js';
import type { WorkloadRef, WorkloadSpec, WorkloadState, WorkloadTarget } from '../../k8s/types.js';
import { App } from '../../domain/apps/app.entity.js';
import { ReleaseStrategy } from '../../domain/apps/app-kind.js';
import { buildContainer } from '../../domain/apps/app.validation.js';
import {
  PlatformEventType,
  recordEvent,
  type NewPlatformEvent,
} from '../../domain/events/event-recorder.js';
import type { ProgressWriter } from './progress-writer.js';
import { Release } from '../../domain/releases/release.entity.js';
import {
  ProgressKind,
  ReleaseStatus,
  StepStatus,
  isTerminal,
  type ClusterProgress,
  type PrecheckResult,
  type ReleaseSpec,
  type ReleaseState,
  type ReleaseStep,
} from '../../domain/releases/release-model.js';
import {
  findLastSucceeded,
  findRelease,
  findReleaseFlags,
  insertProgress,
  type ReleaseFlags,
  stateOf,
} from '../../domain/releases/release.repository.js';
import { releaseGlobalId } from '../../domain/releases/release.service.js';
import { imageReferenceProblem } from '../../domain/shared/image-reference.js';
import type { Claim, WorkClaims } from '../work-claims.js';
import { ClaimLostError } from '../work-claims.js';
import type { RunResult } from '../work-loop.js';
import type { ReleaseApprovals } from '../../domain/releases/release-approvals.js';
import { evaluateReleaseRules } from '../../domain/rules/release-rules.js';
import { BuildStatus, isBuildTerminal } from '../../domain/builds/build-model.js';
import { findBuild, findBuildDependencies } from '../../domain/builds/build.repository.js';

/**
 * The flags others set (cancel, promote, approval) are read again when a signal says they
 * changed, and at least this often in any case (a signal lost between processes costs at most
 * this much delay, not a missed cancel).
 */
const FLAGS_MAX_AGE_MS = 2000;

/** A release waiting for its build looks again this often (the build's end also wakes it at once). */
const BUILD_WAIT_RECHECK_MS = 5000;

/** Tuning of verification. */
export interface VerifyOptions {
  /**
   * How long a pod may stay crash-looping or unpullable, or a cluster unreachable, before the
   * wave fails. Default: 5000 ms.
   */
  failureGraceMs: number;
  /** Added to the progress deadline as the engine's own last resort. Default: 30 000 ms. */
  deadlineSlackMs: number;
  /**
   * Pod counts that change during verification are committed as progress at most this often
   * per release (the latest counts ride on the next commit); the first counts of a wave and
   * its end are committed at once. Default: 1000 ms.
   */
  progressIntervalMs: number;
}

export interface ReleaseRunnerDeps {
  em: () => EntityManager;
  claims: WorkClaims<Release>;
  /** Writes changes without a `prepare` (group commit with the other releases' changes). */
  progress: ProgressWriter;
  runtime: ClusterRuntime;
  approvals: ReleaseApprovals;
  verify: VerifyOptions;
  /** After each committed change: tells progress subscribers (bus `releaseProgress`). */
  progressCommitted: (releaseId: number, seq: number) => void;
  /** After a commit with platform events: wakes the outbox relay. */
  eventsCommitted: () => void;
  /** Calls `fn` whenever the release is signalled (cancel, promote, approval); returns the unsubscribe function. */
  onSignal: (releaseId: number, fn: () => void) => () => void;
  /** Calls `fn` for each watch event of `app`'s objects on `cluster` (routed by key, not a scan of every listener). */
  onObjects: (cluster: string, app: string, fn: (namespace: string) => void) => () => void;
  /** Engine statistics (bench, metrics). */
  stats: EngineStats;
  /** The builds a release started: a canceled release cancels its build. */
  builds: { cancel(buildId: number): Promise<void> };
  /** A step ended (SUCCEEDED or FAILED) after running `seconds` (metrics). */
  onStepFinished?: (step: string, status: string, seconds: number) => void;
}

/** What the engine itself spends: time in its own work, not waiting on clusters. */
export interface EngineStats {
  steps: number;
  commits: number;
  /** Transactions the commits took (group commit: fewer than the commits under load). */
  transactions: number;
  /** Milliseconds spent in the engine's own work (database writes, cache reads, evaluation). */
  busyMs: number;
}

type WaveResult = { ok: true } | { ok: false; message: string; canceled?: boolean };

const FAILING_REASONS = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'RunContainerError',
]);

const nowIso = (): string => new Date().toISOString();

export class ReleaseRun {
  private row!: Release;
  private state!: ReleaseState;
  private seq = 0;
  /** When the last progress entry was committed (epoch ms). */
  private lastCommitAt = 0;
  /** The state holds pod counts newer than the last committed entry. */
  private countsPending = false;
  /**
   * Changes made to the state but not committed on their own (prechecks started, verification
   * started, a wave done): the next entry carries the state and starts with these messages.
   * Each is safe to lose in a crash: the step it records is run again, and finds its work done.
   */
  private pending: string[] = [];
  /** The flags as last read, and when. */
  private flagsRead: { at: number; flags: ReleaseFlags } | null = null;
  /** A signal came since the flags were last read. */
  private signalled = false;
  /** What a signal also calls now (a waiting verification). */
  private onSignalNow: (() => void) | null = null;

  constructor(
    private readonly deps: ReleaseRunnerDeps,
    private readonly claim: Claim,
    private readonly signal: AbortSignal,
  ) {}

  private checkAborted(): void {
    if (this.signal.aborted) throw new ClaimLostError(this.claim);
  }

  /** Times the engine's own work. */
  private async busy<T>(fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.deps.stats.busyMs += performance.now() - t0;
    }
  }

  async run(): Promise<RunResult> {
    const offSignal = this.deps.onSignal(this.claim.id, () => {
      this.signalled = true;
      this.onSignalNow?.();
    });
    try {
      return await this.runSteps();
    } finally {
      offSignal();
    }
  }

  private async runSteps(): Promise<RunResult> {
    const at = Date.now();
    const row = await this.busy(() => findRelease(this.deps.em(), this.claim.id));
    if (!row || isTerminal(row.status)) return 'done';
    this.row = row;
    // The row carries the flags: the run's first look at them needs no read of its own (it
    // has listened for signals since before this read, so a later change still makes one).
    if (Number(row.generation) === this.claim.generation)
      this.flagsRead = {
        at,
        flags: {
          generation: Number(row.generation),
          cancelRequested: !!row.cancelRequested,
          promoteRequested: !!row.promoteRequested,
          approval: row.approval ?? null,
          approvalNote: row.approvalNote ?? null,
        },
      };
    this.state = stateOf(row);
    this.seq = row.progressSeq;
    for (;;) {
      this.checkAborted();
      let r: RunResult | undefined;
      switch (this.state.status) {
        case ReleaseStatus.PENDING:
          r = await this.start();
          break;
        case ReleaseStatus.BUILDING:
          r = await this.awaitBuild();
          break;
        case ReleaseStatus.PRECHECKING:
          r = await this.precheck();
          break;
        case ReleaseStatus.AWAITING_APPROVAL:
          r = await this.awaitApproval();
          break;
        case ReleaseStatus.DEPLOYING:
        case ReleaseStatus.VERIFYING:
        case ReleaseStatus.PAUSED:
          r = await this.rollout();
          break;
        case ReleaseStatus.ROLLING_BACK:
          r = await this.rollBack();
          break;
        default:
          return 'done';
      }
      if (r !== undefined) return r;
    }
  }

  // --- writing -------------------------------------------------------------------------

  /**
   * Commits the current state as the next progress entry, fenced by the claim. `extra` are
   * row columns beside the state; `prepare` runs first in the same transaction (it may change
   * the state, e.g. to record a ticket it opened); `event` is recorded through the outbox.
   */
  private async commit(
    kind: ProgressKind,
    message: string,
    opts: {
      extra?: Partial<Release>;
      prepare?: (tx: EntityManager) => Promise<void>;
      event?: { type: PlatformEventType; actor?: string | null; payload?: Record<string, unknown> };
    } = {},
  ): Promise<void> {
    this.checkAborted();
    const seq = this.seq + 1;
    if (this.pending.length) message = [...this.pending, message].join('; ');
    const row = (): Partial<Release> => {
      const s = this.state;
      return {
        status: s.status,
        steps: s.steps,
        clusters: s.clusters,
        prechecks: s.prechecks,
        message: s.message,
        ticketId: s.ticketId,
        startedAt: s.startedAt ? new Date(s.startedAt) : null,
        finishedAt: s.finishedAt ? new Date(s.finishedAt) : null,
        progressSeq: seq,
        ...opts.extra,
      };
    };
    const event = (): NewPlatformEvent | undefined =>
      opts.event && {
        type: opts.event.type,
        actor: opts.event.actor ?? this.row.createdBy,
        app: this.row.app,
        env: this.row.env,
        payload: {
          releaseId: releaseGlobalId(this.row.id),
          image: this.row.image,
          strategy: this.row.strategy,
          status: this.state.status,
          ...opts.event.payload,
        },
      };
    if (opts.prepare) {
      // Its own transaction: `prepare` writes more than a change (a ticket) and may change the state.
      const prepare = opts.prepare;
      await this.busy(() =>
        this.deps.em().transactional(async (tx) => {
          await prepare(tx);
          await this.deps.claims.update(tx, this.claim, row());
          await insertProgress(tx, this.row.id, seq, kind, message, this.state);
          const e = event();
          if (e) recordEvent(tx, e);
        }),
      );
      this.deps.stats.transactions++;
    } else {
      await this.busy(() =>
        this.deps.progress.commit({
          claim: this.claim,
          row: row(),
          progress: { releaseId: this.row.id, seq, kind, message, state: { ...this.state } },
          event: event(),
        }),
      );
    }
    this.seq = seq;
    this.lastCommitAt = Date.now();
    this.countsPending = false;
    this.pending = [];
    this.deps.stats.commits++;
    if (opts.extra) Object.assign(this.row, opts.extra);
    this.deps.progressCommitted(this.row.id, seq);
    // A `prepare` may record events too (a ticket opened).
    if (opts.event || opts.prepare) this.deps.eventsCommitted();
  }

  /**
   * The flags others set (cancel, promote, approval): read from the database when a signal
   * came since the last read, or that read is older than {@link FLAGS_MAX_AGE_MS}.
   */
  private async flags(): Promise<ReleaseFlags> {
    const last = this.flagsRead;
    if (last && !this.signalled && Date.now() - last.at < FLAGS_MAX_AGE_MS) return last.flags;
    this.signalled = false;
    const at = Date.now();
    const r = await this.busy(() => findReleaseFlags(this.deps.em(), this.row.id));
    if (!r || r.generation !== this.claim.generation) throw new ClaimLostError(this.claim);
    this.flagsRead = { at, flags: r };
    return r;
  }

  /** A change the next commit carries (see {@link pending}). */
  private defer(message: string): void {
    this.pending.push(message);
  }

  private stepAt(i: number): ReleaseStep {
    return this.state.steps[i];
  }

  private setStep(i: number, patch: Partial<ReleaseStep>): void {
    const before = this.stepAt(i);
    const after = { ...before, ...patch };
    this.state.steps = this.state.steps.map((s, k) => (k === i ? after : s));
    // A step that ran and ended now: its duration (steps skipped without running have no start).
    if (
      before.status === StepStatus.RUNNING &&
      (after.status === StepStatus.SUCCEEDED || after.status === StepStatus.FAILED) &&
      after.startedAt
    ) {
      const seconds =
        (Date.parse(after.finishedAt ?? nowIso()) - Date.parse(after.startedAt)) / 1000;
      this.deps.onStepFinished?.(after.name, after.status, Math.max(0, seconds));
    }
  }

  private describeStep(s: ReleaseStep): string {
    return s.cluster ? `${s.name} on ${s.cluster}` : s.name;
  }

  /** Ends the release: remaining steps SKIPPED (a running one FAILED), the active key freed, the event recorded. */
  private async finish(
    status: ReleaseStatus,
    message: string,
    event: PlatformEventType,
    actor?: string | null,
  ): Promise<RunResult> {
    this.state.steps = this.state.steps.map((s) =>
      s.status === StepStatus.PENDING
        ? { ...s, status: StepStatus.SKIPPED }
        : s.status === StepStatus.RUNNING
          ? { ...s, status: StepStatus.FAILED, finishedAt: nowIso(), message: s.message ?? message }
          : s,
    );
    this.state = { ...this.state, status, message, finishedAt: nowIso() };
    await this.commit(ProgressKind.STATUS, message, {
      extra: { activeKey: null, cancelRequested: false, promoteRequested: false },
      event: { type: event, actor, payload: { reason: message } },
    });
    return 'done';
  }

  // --- states --------------------------------------------------------------------------

  private async start(): Promise<RunResult | undefined> {
    if ((await this.flags()).cancelRequested) {
      if (this.row.buildId != null && this.state.steps.some((s) => s.name === 'build'))
        await this.deps.builds.cancel(this.row.buildId);
      return this.finish(
        ReleaseStatus.CANCELED,
        'Canceled before it started.',
        PlatformEventType.RELEASE_CANCELED,
      );
    }
    const b = this.state.steps.findIndex((s) => s.name === 'build');
    if (b >= 0) {
      this.setStep(b, {
        status: StepStatus.RUNNING,
        startedAt: nowIso(),
        message: 'Waiting for the build of the default branch',
      });
      this.state.status = ReleaseStatus.BUILDING;
      await this.commit(ProgressKind.STATUS, 'Building the default branch first');
      return undefined;
    }
    const i = this.state.steps.findIndex((s) => s.name === 'precheck');
    this.setStep(i, { status: StepStatus.RUNNING, startedAt: nowIso() });
    this.state.status = ReleaseStatus.PRECHECKING;
    // Prechecks take milliseconds: their result is the entry (a crash runs them again).
    this.defer('Running prechecks');
    return undefined;
  }

  /**
   * BUILDING: the release waits for the build it started. The build engine makes the release
   * due and signals it when the build ends; until then it looks again every few seconds as a
   * backstop (a signal can land while this run is deciding to wait).
   */
  private async awaitBuild(): Promise<RunResult | undefined> {
    const i = this.state.steps.findIndex((s) => s.name === 'build');
    const buildId = this.row.buildId;
    if ((await this.flags()).cancelRequested) {
      if (buildId != null) await this.deps.builds.cancel(buildId);
      return this.finish(
        ReleaseStatus.CANCELED,
        'Canceled while building.',
        PlatformEventType.RELEASE_CANCELED,
      );
    }
    const b = buildId != null ? await this.busy(() => findBuild(this.deps.em(), buildId)) : null;
    if (!b)
      return this.finish(
        ReleaseStatus.FAILED,
        'The build of this release is gone.',
        PlatformEventType.RELEASE_FAILED,
      );
    if (b.status === BuildStatus.SUCCEEDED && b.image) {
      const spec = { ...this.row.spec, image: b.image };
      if (i >= 0)
        this.setStep(i, {
          status: StepStatus.SUCCEEDED,
          finishedAt: nowIso(),
          message: `Build #${b.number} succeeded: ${b.image}`,
        });
      const p = this.state.steps.findIndex((s) => s.name === 'precheck');
      this.setStep(p, { status: StepStatus.RUNNING, startedAt: nowIso() });
      this.state.status = ReleaseStatus.PRECHECKING;
      await this.commit(
        ProgressKind.STATUS,
        `Build #${b.number} succeeded (${b.image}); running prechecks`,
        { extra: { image: b.image, spec } },
      );
      return undefined;
    }
    if (isBuildTerminal(b.status)) {
      const why = `Build #${b.number} ${b.status === BuildStatus.CANCELED ? 'was canceled' : 'failed'}: ${b.message ?? b.status}`;
      if (i >= 0)
        this.setStep(i, { status: StepStatus.FAILED, finishedAt: nowIso(), message: why });
      return this.finish(ReleaseStatus.FAILED, why, PlatformEventType.RELEASE_FAILED);
    }
    const note = `Waiting for build #${b.number} (${b.status})`;
    if (i >= 0 && this.stepAt(i).message !== note) {
      this.setStep(i, { message: note });
      await this.commit(ProgressKind.STEP, note);
    }
    return { at: Date.now() + BUILD_WAIT_RECHECK_MS, quiet: { cancelRequested: false } };
  }

  private async runPrechecks(): Promise<PrecheckResult[]> {
    const spec = this.row.spec;
    const results: PrecheckResult[] = [];
    const app = await this.deps
      .em()
      .findOne(
        App,
        { id: this.row.appId },
        { fields: ['id', 'name'], connectionType: 'write', disableIdentityMap: true },
      );
    results.push(
      app && app.name === this.row.app
        ? { rule: 'app', passed: true, message: `App "${this.row.app}" exists.` }
        : { rule: 'app', passed: false, message: `App "${this.row.app}" no longer exists.` },
    );
    results.push({
      rule: 'one-active-release',
      passed: true,
      message: `The only active release of ${this.row.app} in ${this.row.env} (held by the database).`,
    });
    try {
      const c = buildContainer(spec.container, spec.container);
      const replicas = c.hpa ? c.hpa.minReplicas : c.replicas;
      results.push(
        replicas >= 1
          ? {
              rule: 'container-spec',
              passed: true,
              message: `${replicas} replica(s) of ${c.cpu} CPU / ${c.memory}, port ${c.port}, readiness ${c.healthCheckPath}.`,
            }
          : {
              rule: 'container-spec',
              passed: false,
              message:
                'The container spec runs 0 replicas: nothing could be verified. Set container.replicas ≥ 1 (or an HPA).',
            },
      );
    } catch (e) {
      results.push({
        rule: 'container-spec',
        passed: false,
        message: `The container spec is not valid: ${(e as Error).message}`,
      });
    }
    const imageProblem = imageReferenceProblem(spec.image);
    results.push(
      imageProblem === null
        ? { rule: 'image', passed: true, message: `"${spec.image}" is a valid image reference.` }
        : {
            rule: 'image',
            passed: false,
            message: `"${spec.image}" is not a valid image reference: ${imageProblem}.`,
          },
    );
    const known = new Set(this.deps.runtime.clusterNames());
    const unknown = this.row.targets.filter((t) => !known.has(t.cluster)).map((t) => t.cluster);
    results.push(
      !this.row.targets.length
        ? {
            rule: 'targets',
            passed: false,
            message: `Environment ${this.row.env} has no deploy targets.`,
          }
        : unknown.length
          ? {
              rule: 'targets',
              passed: false,
              message: `Unknown cluster(s) ${unknown.join(', ')}: not in this Phantom's kubeconfig.`,
            }
          : {
              rule: 'targets',
              passed: true,
              message: `Targets: ${this.row.targets.map((t) => `${t.cluster}/${t.namespace}`).join(', ')}.`,
            },
    );
    // The admin rules: maintenance windows and dependency rules, with whitelist entries applied.
    // A release of a build is checked against what the build's scan found; one that names an
    // image carries no scanned dependencies (`dependencies: null`).
    const dependencies =
      this.row.buildId != null
        ? await findBuildDependencies(this.deps.em(), this.row.buildId)
        : null;
    results.push(
      ...(await evaluateReleaseRules(this.deps.em(), {
        appId: this.row.appId,
        app: this.row.app,
        env: this.row.env,
        now: new Date(),
        dependencies,
      })),
    );
    return results;
  }

  private async precheck(): Promise<RunResult | undefined> {
    if ((await this.flags()).cancelRequested)
      return this.finish(
        ReleaseStatus.CANCELED,
        'Canceled during prechecks.',
        PlatformEventType.RELEASE_CANCELED,
      );
    const results = await this.busy(() => this.runPrechecks());
    this.state.prechecks = results;
    const i = this.state.steps.findIndex((s) => s.name === 'precheck');
    const failed = results.filter((r) => !r.passed);
    if (failed.length) {
      this.setStep(i, {
        status: StepStatus.FAILED,
        finishedAt: nowIso(),
        message: failed.map((f) => f.message).join(' '),
      });
      return this.finish(
        ReleaseStatus.FAILED,
        `Prechecks failed: ${failed.map((f) => `${f.rule}: ${f.message}`).join(' ')}`,
        PlatformEventType.RELEASE_FAILED,
      );
    }
    this.setStep(i, {
      status: StepStatus.SUCCEEDED,
      finishedAt: nowIso(),
      message: `${results.length} checks passed.`,
    });
    const a = this.state.steps.findIndex((s) => s.name === 'approval');
    if (a >= 0) {
      this.state.status = ReleaseStatus.AWAITING_APPROVAL;
      let expiresAt = 0;
      await this.commit(ProgressKind.STATUS, 'Prechecks passed; waiting for approval', {
        prepare: async (tx) => {
          const t = await this.deps.approvals.open(tx, {
            appId: this.row.appId,
            app: this.row.app,
            releaseId: this.row.id,
            requesterId: this.row.createdById,
            requester: this.row.createdBy,
            reason: `Release ${this.row.image} of ${this.row.app} to ${this.row.env}${this.row.description ? `: ${this.row.description}` : ''}`,
          });
          expiresAt = t.expiresAt.getTime();
          this.state.ticketId = t.id;
          this.setStep(a, {
            status: StepStatus.RUNNING,
            startedAt: nowIso(),
            dueAt: t.expiresAt.toISOString(),
            message: `Waiting for an OWNER of ${this.row.app} or an admin (not ${this.row.createdBy}) to approve ticket #${t.id}`,
          });
        },
      });
      return { at: expiresAt, quiet: { approval: null, cancelRequested: false } };
    }
    return this.beginDeploy('Prechecks passed; deploying');
  }

  private async beginDeploy(message: string, actor?: string | null): Promise<undefined> {
    this.state.status = ReleaseStatus.DEPLOYING;
    this.state.startedAt = nowIso();
    await this.commit(ProgressKind.STATUS, message, {
      event: { type: PlatformEventType.RELEASE_STARTED, actor },
    });
    return undefined;
  }

  private async awaitApproval(): Promise<RunResult | undefined> {
    const f = await this.flags();
    const a = this.state.steps.findIndex((s) => s.name === 'approval');
    if (f.approval === 'APPROVED') {
      this.setStep(a, {
        status: StepStatus.SUCCEEDED,
        finishedAt: nowIso(),
        message: f.approvalNote ?? 'Approved',
      });
      // The approval may come hours after the prechecks: a maintenance window that began, a
      // dependency rule added, a whitelist entry that expired or the app deleted meanwhile
      // must still stop the release before anything is deployed.
      const failed = await this.precheckAgain('when approved');
      if (failed)
        return this.finish(
          ReleaseStatus.FAILED,
          `Approved, but the prechecks no longer pass: ${failed}`,
          PlatformEventType.RELEASE_FAILED,
        );
      return this.beginDeploy(f.approvalNote ?? 'Approved; deploying');
    }
    if (f.approval === 'REJECTED') {
      this.setStep(a, {
        status: StepStatus.FAILED,
        finishedAt: nowIso(),
        message: f.approvalNote ?? 'Rejected',
      });
      return this.finish(
        ReleaseStatus.REJECTED,
        f.approvalNote ?? 'The approval ticket was rejected.',
        PlatformEventType.RELEASE_CANCELED,
      );
    }
    if (f.cancelRequested) {
      const message = 'Canceled while waiting for approval.';
      await this.busy(() =>
        this.deps
          .em()
          .transactional((tx) => this.deps.approvals.close(tx, this.row.id, 'CANCELED', message)),
      );
      this.deps.eventsCommitted();
      // The step says why it ended (it said "Waiting for an OWNER … to approve").
      this.setStep(a, { status: StepStatus.FAILED, finishedAt: nowIso(), message });
      return this.finish(ReleaseStatus.CANCELED, message, PlatformEventType.RELEASE_CANCELED);
    }
    const due = this.approvalDue();
    if (Date.now() >= due) {
      const message = `The approval ticket expired without a decision (${new Date(due).toISOString()}).`;
      await this.busy(() =>
        this.deps
          .em()
          .transactional((tx) => this.deps.approvals.close(tx, this.row.id, 'EXPIRED', message)),
      );
      this.deps.eventsCommitted();
      this.setStep(a, { status: StepStatus.FAILED, finishedAt: nowIso(), message });
      return this.finish(ReleaseStatus.CANCELED, message, PlatformEventType.RELEASE_CANCELED);
    }
    return { at: due, quiet: { approval: null, cancelRequested: false } };
  }

  /**
   * Runs the prechecks again (recorded on the release, and said on the precheck step, which
   * keeps its first outcome); the failed ones' reasons, or null when all pass.
   */
  private async precheckAgain(when: string): Promise<string | null> {
    const results = await this.busy(() => this.runPrechecks());
    this.state.prechecks = results;
    const failed = results.filter((r) => !r.passed);
    const reasons = failed.map((x) => `${x.rule}: ${x.message}`).join(' ');
    const i = this.state.steps.findIndex((s) => s.name === 'precheck');
    if (i >= 0) {
      // The first outcome as a sentence of its own (a release started before this wording
      // has "5 checks passed", without the full stop).
      const first = (this.stepAt(i).message ?? '').trim();
      const lead = !first ? '' : /[.!?]$/.test(first) ? `${first} ` : `${first}. `;
      this.setStep(i, {
        message: failed.length
          ? `${lead}Checked again ${when}: ${failed.length} of ${results.length} failed: ${reasons}`
          : `${lead}Checked again ${when}: all ${results.length} passed.`,
      });
    }
    return failed.length ? reasons : null;
  }

  /** When the approval ticket expires (recorded on the approval step when the ticket was opened). */
  private approvalDue(): number {
    const t = Date.parse(this.state.steps.find((s) => s.name === 'approval')?.dueAt ?? '');
    return Number.isFinite(t) ? t : Date.now();
  }

  private async rollout(): Promise<RunResult | undefined> {
    for (let i = 0; i < this.state.steps.length; i++) {
      const step = this.stepAt(i);
      if (step.status === StepStatus.SUCCEEDED || step.status === StepStatus.SKIPPED) continue;
      if (!['canary', 'pause', 'deploy', 'cleanup'].includes(step.name)) continue;
      const f = await this.flags();
      if (f.cancelRequested) return this.fail('Canceled', true, i);
      if (step.name === 'pause') {
        const r = await this.pause(i, f.promoteRequested);
        if (r !== undefined) return r;
        continue;
      }
      if (step.name === 'cleanup') {
        await this.removeCanary(i);
        continue;
      }
      const res = await this.wave(i, this.row.spec, String(this.row.id));
      if (!res.ok) return this.fail(res.message, !!res.canceled, i);
    }
    this.state.status = ReleaseStatus.SUCCEEDED;
    return this.finish(
      ReleaseStatus.SUCCEEDED,
      `Released ${this.row.image} to ${this.row.env} (${this.row.targets.map((t) => t.cluster).join(', ')}).`,
      PlatformEventType.RELEASE_SUCCEEDED,
    );
  }

  private async pause(i: number, promoted: boolean): Promise<RunResult | undefined> {
    let step = this.stepAt(i);
    const pauseMs = this.row.spec.canaryPauseSeconds * 1000;
    if (step.status === StepStatus.PENDING) {
      const until = new Date(Date.now() + pauseMs).toISOString();
      this.setStep(i, {
        status: StepStatus.RUNNING,
        startedAt: nowIso(),
        dueAt: until,
        message: `Canary verified: paused until promoteRelease or ${until}`,
      });
      this.state.status = ReleaseStatus.PAUSED;
      await this.commit(
        ProgressKind.STATUS,
        `Canary verified on ${step.cluster}; paused until promoteRelease or ${until}`,
      );
      step = this.stepAt(i);
    }
    const due = Date.parse(step.dueAt ?? nowIso());
    if (promoted || Date.now() >= due) {
      // The pause may last hours, as an approval may: a maintenance window that began (or a
      // rule added, the app deleted) meanwhile stops the full rollout; the canary is removed.
      const failed = await this.precheckAgain(promoted ? 'when promoted' : 'at the pause end');
      if (failed)
        return this.fail(
          `${promoted ? 'Promoted' : 'Canary pause elapsed'}, but the prechecks no longer pass: ${failed}`,
          false,
          i,
        );
      this.setStep(i, {
        status: StepStatus.SUCCEEDED,
        finishedAt: nowIso(),
        message: promoted ? 'Promoted' : 'Canary pause elapsed',
      });
      this.state.status = ReleaseStatus.DEPLOYING;
      await this.commit(
        ProgressKind.STATUS,
        promoted
          ? 'Promoted: rolling out everywhere'
          : 'Canary pause elapsed: rolling out everywhere',
        { extra: { promoteRequested: false } },
      );
      return undefined;
    }
    return { at: due, quiet: { promoteRequested: false, cancelRequested: false } };
  }

  private canaryTarget(): WorkloadTarget {
    const t = this.row.targets[0];
    return { cluster: t.cluster, namespace: t.namespace };
  }

  private async removeCanary(
    i: number | null,
  ): Promise<{ error: string | null; removed: boolean }> {
    const t = this.canaryTarget();
    if (i !== null) {
      this.setStep(i, {
        status: StepStatus.RUNNING,
        startedAt: this.stepAt(i).startedAt ?? nowIso(),
      });
      await this.commit(ProgressKind.STEP, `Removing the canary on ${t.cluster}`);
    }
    const [res] = await this.deps.runtime.removeWorkload([t], {
      app: this.row.app,
      env: this.row.env,
      variant: 'canary',
    });
    const error = res && !res.ok ? res.error : null;
    const removed = !!res?.ok && res.removed;
    if (i !== null) {
      this.setStep(i, {
        status: StepStatus.SUCCEEDED,
        finishedAt: nowIso(),
        message: error ? `Canary not removed: ${error}` : 'Canary removed',
      });
      await this.commit(
        ProgressKind.STEP,
        error ? `Canary not removed on ${t.cluster}: ${error}` : `Canary removed on ${t.cluster}`,
      );
    }
    return { error, removed };
  }

  /**
   * Something went wrong (or a cancel came) at step `i`: removes the canary, then either
   * rolls the touched waves back to the last SUCCEEDED release's spec, or ends FAILED
   * (CANCELED) leaving the workloads as they are, saying why.
   */
  private async fail(reason: string, canceled: boolean, i: number): Promise<RunResult | undefined> {
    const step = this.stepAt(i);
    if (step.status === StepStatus.RUNNING)
      this.setStep(i, { status: StepStatus.FAILED, finishedAt: nowIso(), message: reason });
    const endAs = canceled ? ReleaseStatus.CANCELED : ReleaseStatus.FAILED;
    const endEvent = canceled
      ? PlatformEventType.RELEASE_CANCELED
      : PlatformEventType.RELEASE_FAILED;
    // Clauses joined by "; ": a reason's own full stop would read ".;".
    const notes: string[] = [reason.replace(/\.+$/, '')];
    if (this.state.steps.some((s) => s.name === 'canary' && s.applied)) {
      const { error, removed } = await this.removeCanary(null);
      notes.push(
        error
          ? `the canary could not be removed (${error.replace(/\.+$/, '')})`
          : removed
            ? 'the canary was removed'
            : 'no canary was left to remove',
      );
    }
    const touched = this.state.steps.filter((s) => s.name === 'deploy' && s.applied);
    if (!touched.length) return this.finish(endAs, `${notes.join('; ')}.`, endEvent);
    if (!canceled && !this.row.spec.autoRollback) {
      return this.finish(
        endAs,
        `${notes.join('; ')}; autoRollback is off: the workloads were left as they are.`,
        endEvent,
      );
    }
    const good = await this.busy(() =>
      findLastSucceeded(this.deps.em(), this.row.appId, this.row.env, this.row.id),
    );
    if (!good) {
      return this.finish(
        endAs,
        `${notes.join('; ')}; no earlier release of ${this.row.app} in ${this.row.env} succeeded, so there is nothing to roll back to: the workloads were left as they are.`,
        endEvent,
      );
    }
    const rollbackSteps: ReleaseStep[] = touched.map((s) => ({
      name: 'rollback',
      cluster: s.cluster,
      namespace: s.namespace,
      status: StepStatus.PENDING,
      startedAt: null,
      finishedAt: null,
      message: `Back to #${good.id} (${good.image})`,
    }));
    this.state.steps = this.state.steps
      .map((s) => (s.status === StepStatus.PENDING ? { ...s, status: StepStatus.SKIPPED } : s))
      .concat(rollbackSteps);
    this.state.status = ReleaseStatus.ROLLING_BACK;
    this.state.message = notes.join('; ');
    await this.commit(
      ProgressKind.STATUS,
      // A note may end with its own full stop ("… nothing was changed."): no ".:" after it.
      `${notes.join('; ').replace(/[.:;]\s*$/, '')}: rolling back to #${good.id} (${good.image})`,
      {
        extra: {
          rollbackTo: good.id,
          outcome: canceled ? ReleaseStatus.CANCELED : ReleaseStatus.ROLLED_BACK,
          cancelRequested: false,
        },
      },
    );
    return undefined;
  }

  private async rollBack(): Promise<RunResult | undefined> {
    const goodId = this.row.rollbackTo;
    const good = goodId != null ? await this.busy(() => findRelease(this.deps.em(), goodId)) : null;
    const reason = this.state.message ?? 'Failed';
    if (!good)
      return this.finish(
        ReleaseStatus.FAILED,
        `${reason}; the release to roll back to is gone.`,
        PlatformEventType.RELEASE_FAILED,
      );
    for (let i = 0; i < this.state.steps.length; i++) {
      const s = this.stepAt(i);
      if (s.name !== 'rollback' || s.status === StepStatus.SUCCEEDED) continue;
      const res = await this.wave(i, good.spec, String(good.id));
      if (!res.ok) {
        return this.finish(
          ReleaseStatus.FAILED,
          `${reason}; the rollback to #${good.id} (${good.image}) failed too: ${res.message}`,
          PlatformEventType.RELEASE_FAILED,
        );
      }
    }
    const canceled = this.row.outcome === ReleaseStatus.CANCELED;
    return this.finish(
      canceled ? ReleaseStatus.CANCELED : ReleaseStatus.ROLLED_BACK,
      `${reason}; rolled back to #${good.id} (${good.image}).`,
      canceled ? PlatformEventType.RELEASE_CANCELED : PlatformEventType.RELEASE_ROLLED_BACK,
    );
  }

  // --- one wave --------------------------------------------------------------------------

  private workloadSpec(spec: ReleaseSpec, releaseId: string, canary: boolean): WorkloadSpec {
    return {
      app: this.row.app,
      env: this.row.env,
      variant: canary ? 'canary' : 'main',
      image: spec.image,
      container: spec.container,
      releaseId,
      strategy:
        !canary && spec.strategy === ReleaseStrategy.RECREATE ? 'Recreate' : 'RollingUpdate',
      progressDeadlineSeconds: spec.progressDeadlineSeconds,
      ...(canary ? { replicas: spec.canaryReplicas } : {}),
    };
  }

  /**
   * Applies `spec` (as release `releaseId`) to step `i`'s cluster and verifies it. Intent
   * first: `applied` is committed before the cluster call; a retry (after a crash) finds the
   * Deployment already carrying this release and image and does not write again.
   */
  private async wave(i: number, spec: ReleaseSpec, releaseId: string): Promise<WaveResult> {
    let step = this.stepAt(i);
    const canary = step.name === 'canary';
    const rollingBack = step.name === 'rollback';
    const target: WorkloadTarget = { cluster: step.cluster!, namespace: step.namespace! };
    const ref: WorkloadRef = {
      app: this.row.app,
      env: this.row.env,
      variant: canary ? 'canary' : 'main',
    };
    const what = canary ? `canary of ${spec.image}` : spec.image;
    this.deps.stats.steps++;
    if (step.status === StepStatus.PENDING || !step.applied) {
      this.setStep(i, {
        status: StepStatus.RUNNING,
        startedAt: step.startedAt ?? nowIso(),
        applied: true,
        message: `Applying ${what}`,
      });
      if (!rollingBack) this.state.status = ReleaseStatus.DEPLOYING;
      await this.commit(
        ProgressKind.STEP,
        `${rollingBack ? 'Rolling back' : 'Deploying'} ${what} to ${target.cluster}/${target.namespace}`,
      );
      step = this.stepAt(i);
    }
    const [current] = await this.busy(() =>
      this.deps.runtime.workloads([target], ref, { events: false }),
    );
    const mine = current && current.releaseId === releaseId && current.image === spec.image;
    if (!mine) {
      this.checkAborted();
      const [res] = await this.deps.runtime.applyWorkload(
        [target],
        this.workloadSpec(spec, releaseId, canary),
      );
      if (res?.error) return { ok: false, message: `${this.describeStep(step)}: ${res.error}` };
    }
    if (!rollingBack && this.state.status !== ReleaseStatus.VERIFYING) {
      // Not a commit of its own: the wave's first pod counts (or its end) carry it.
      this.state.status = ReleaseStatus.VERIFYING;
      this.setStep(i, { message: `Verifying ${what}` });
      this.defer(`Verifying ${what} on ${target.cluster}`);
    }
    // A rollback is what a cancel asks for: it is not itself canceled.
    const v = await this.verify(target, ref, releaseId, spec, !rollingBack);
    if (v.ok) {
      this.setStep(i, {
        status: StepStatus.SUCCEEDED,
        finishedAt: nowIso(),
        message: `${what} is available on ${target.cluster}`,
      });
      // What comes next commits at once (the next wave's intent, the pause, the end) and
      // carries it; a crash before that verifies this wave again and finds it available.
      this.defer(`${this.describeStep(step)} done: ${what} is available`);
    }
    return v;
  }

  /**
   * Puts `w`'s counts in the state; commits them as a PODS entry when they are the wave's
   * first (a status change is pending) or the last entry is older than the progress interval,
   * else leaves them pending. Returns when pending counts are due (or null).
   */
  private async recordCounts(w: WorkloadState, final: boolean): Promise<number | null> {
    const changed = this.setCounts(w);
    if (!changed && !this.countsPending) return null;
    this.countsPending = true;
    // The wave's end commits anyway, with these counts in its state.
    if (final) return null;
    const dueAt = this.lastCommitAt + this.deps.verify.progressIntervalMs;
    if (!this.pending.length && Date.now() < dueAt) return dueAt;
    const c = this.state.clusters.find(
      (x) => x.cluster === w.cluster && x.namespace === w.namespace,
    )!;
    const counts = `${c.updated}/${c.desired} updated, ${c.ready} ready, ${c.available} available`;
    await this.commit(ProgressKind.PODS, `${w.cluster}: ${counts}`);
    return null;
  }

  /** Puts `w`'s counts in the state; false when they did not change. */
  private setCounts(w: WorkloadState): boolean {
    const next: ClusterProgress = {
      cluster: w.cluster,
      namespace: w.namespace,
      desired: w.replicas,
      updated: w.updatedReplicas,
      ready: w.readyReplicas,
      available: w.availableReplicas,
    };
    const prev = this.state.clusters.find(
      (c) => c.cluster === w.cluster && c.namespace === w.namespace,
    );
    if (
      prev &&
      prev.desired === next.desired &&
      prev.updated === next.updated &&
      prev.ready === next.ready &&
      prev.available === next.available
    )
      return false;
    this.state.clusters = prev
      ? this.state.clusters.map((c) => (c === prev ? next : c))
      : [...this.state.clusters, next];
    return true;
  }

  /**
   * Waits until the Deployment in `target` runs release `releaseId` and is available, driven
   * by the runtime's watch events (each re-reads the informer cache, no API call). Fails on
   * the progress deadline (the Deployment's ProgressDeadlineExceeded condition), on a pod of
   * the new image that stays crash-looping or unpullable past the grace, on a cluster error
   * that lasts past the grace, or on a cancel.
   */
  private verify(
    target: WorkloadTarget,
    ref: WorkloadRef,
    releaseId: string,
    spec: ReleaseSpec,
    cancelable: boolean,
  ): Promise<WaveResult> {
    const { failureGraceMs, deadlineSlackMs } = this.deps.verify;
    const hardDeadline = Date.now() + spec.progressDeadlineSeconds * 1000 + deadlineSlackMs;
    return new Promise<WaveResult>((resolve, reject) => {
      let settled = false;
      let evaluating = false;
      let again = false;
      let timer: NodeJS.Timeout | undefined;
      const failingSince = new Map<string, number>();
      let errorSince: number | null = null;
      let cancelAsked = false;
      const cleanup = (): void => {
        settled = true;
        offEvents();
        offSignal();
        this.signal.removeEventListener('abort', onAbort);
        clearTimeout(timer);
      };
      const done = (r: WaveResult): void => {
        if (settled) return;
        cleanup();
        resolve(r);
      };
      const onAbort = (): void => {
        if (settled) return;
        cleanup();
        reject(new ClaimLostError(this.claim));
      };
      const wakeAt = (at: number): void => {
        clearTimeout(timer);
        timer = setTimeout(schedule, Math.max(10, at - Date.now()));
        timer.unref();
      };
      const evaluate = async (): Promise<void> => {
        if (cancelAsked) return done({ ok: false, message: 'Canceled', canceled: true });
        const [w] = await this.deps.runtime.workloads([target], ref, { events: false });
        if (!w || settled) return;
        const now = Date.now();
        if (w.error) {
          errorSince ??= now;
          if (now - errorSince >= failureGraceMs)
            return done({ ok: false, message: `cluster ${target.cluster}: ${w.error}` });
          return wakeAt(errorSince + failureGraceMs);
        }
        errorSince = null;
        // Its image too: a direct deploy while the release ran once left the release's id on
        // a workload running another image, and the release reported it SUCCEEDED.
        const available =
          w.releaseId === releaseId && w.image === spec.image && w.status === 'AVAILABLE';
        const countsDue = w.releaseId === releaseId ? await this.recordCounts(w, available) : null;
        if (settled) return;
        if (available) return done({ ok: true });
        const deadline =
          w.releaseId === releaseId &&
          w.conditions.find(
            (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
          );
        if (deadline) {
          return done({
            ok: false,
            message: `${w.name} on ${target.cluster} made no progress for ${spec.progressDeadlineSeconds} s (ProgressDeadlineExceeded${deadline.message ? `: ${deadline.message}` : ''})`,
          });
        }
        let next = Math.min(countsDue ?? hardDeadline, hardDeadline);
        const seen = new Set<string>();
        for (const p of w.pods) {
          if (p.image !== spec.image || p.ready || !p.reason || !FAILING_REASONS.has(p.reason))
            continue;
          seen.add(p.name);
          const since = failingSince.get(p.name) ?? now;
          failingSince.set(p.name, since);
          if (now - since >= failureGraceMs) {
            return done({
              ok: false,
              message: `pod ${p.name} on ${target.cluster} is ${p.reason}${p.restarts ? ` (${p.restarts} restarts)` : ''}`,
            });
          }
          next = Math.min(next, since + failureGraceMs);
        }
        for (const name of [...failingSince.keys()]) if (!seen.has(name)) failingSince.delete(name);
        if (now >= hardDeadline)
          return done({
            ok: false,
            message: `${w.name} on ${target.cluster} did not become available within ${spec.progressDeadlineSeconds} s`,
          });
        wakeAt(next);
      };
      const schedule = (): void => {
        if (settled) return;
        if (evaluating) {
          again = true;
          return;
        }
        evaluating = true;
        const t0 = performance.now();
        evaluate().then(
          () => {
            this.deps.stats.busyMs += performance.now() - t0;
            evaluating = false;
            if (again && !settled) {
              again = false;
              schedule();
            }
          },
          (err: unknown) => {
            evaluating = false;
            if (settled) return;
            cleanup();
            reject(err);
          },
        );
      };
      const offEvents = this.deps.onObjects(target.cluster, ref.app, (namespace) => {
        if (namespace === target.namespace) schedule();
      });
      // A cancel reaches a waiting wave as a signal (the flags are read then, not on every watch
      // event), and once at the start: a signal since the last read (the run listens from its
      // start) or an old read makes that a database read, else the flags just read stand.
      const checkCancel = (): void => {
        if (!cancelable) return;
        this.flags().then(
          (f) => {
            if (f.cancelRequested) {
              cancelAsked = true;
              schedule();
            }
          },
          (err: unknown) => {
            if (settled) return;
            cleanup();
            reject(err);
          },
        );
      };
      this.onSignalNow = checkCancel;
      const offSignal = (): void => {
        if (this.onSignalNow === checkCancel) this.onSignalNow = null;
      };
      this.signal.addEventListener('abort', onAbort);
      checkCancel();
      schedule();
    });
  }
}
