/**
 * Runs one claimed build to its end: QUEUED → RUNNING (BUILD_STARTED) → the executor →
 * SUCCEEDED / FAILED / CANCELED (BUILD_SUCCEEDED / BUILD_FAILED), every write fenced by the
 * claim's generation. Log lines are buffered and written in batches (one fenced transaction
 * each), bounded by PHANTOM_BUILD_LOG_MAX_BYTES, and announced on the bus for the live feeds.
 *
 * A build found RUNNING when claimed was left by a worker that died (its claim expired): it
 * is run again from scratch (a fresh workspace) while attempts remain, else it ends FAILED
 * saying so. It is never left RUNNING.
 */
import type { EntityManager } from '@mikro-orm/core';
import { App } from '../../domain/apps/app.entity.js';
import { PlatformEventType, recordEvent } from '../../domain/events/event-recorder.js';
import { Build } from '../../domain/builds/build.entity.js';
import { BuildStatus, isBuildTerminal } from '../../domain/builds/build-model.js';
import { findBuild, insertLogLines, trimLog } from '../../domain/builds/build.repository.js';
import { buildGlobalId } from '../../domain/builds/build.service.js';
import { ClaimLostError, type Claim, type WorkClaims } from '../work-claims.js';
import type { RunResult } from '../work-loop.js';
import type { BuildExecutor, BuildOutcome } from './build-executor.js';

/** Tuning of the build engine (from the config). */
export interface BuildSettings {
  registry: string;
  timeoutMs: number;
  logMaxBytes: number;
  /** Runs of one build before a dead worker's build ends FAILED. Default: 2. */
  maxAttempts: number;
  /** Log lines are written at least this often while a build prints. Default: 200 ms. */
  logFlushMs: number;
}

export interface BuildRunnerDeps {
  em: () => EntityManager;
  claims: WorkClaims<Build>;
  executor: BuildExecutor;
  settings: BuildSettings;
  /** After a commit with platform events: wakes the outbox relay. */
  eventsCommitted: () => void;
  /** After log lines (or the end) committed: tells the live feeds (bus `buildLog`). */
  logCommitted: (buildId: number, next: number, ended: boolean) => void;
  /** Calls `fn` whenever the build is signalled (a cancel); returns the unsubscribe function. */
  onSignal: (buildId: number, fn: () => void) => () => void;
  /** After the build ended (committed): releases waiting on it, auto-releases. Errors are logged, not thrown. */
  ended: (build: Build, log: (line: string) => Promise<void>) => Promise<void>;
  logger: { warn(obj: object, msg: string): void };
}

const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Buffers log lines and writes them in fenced batches. */
class LogWriter {
  private pending: string[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private failed: { error: unknown } | null = null;

  constructor(
    private readonly deps: BuildRunnerDeps,
    private readonly claim: Claim,
    private state: { first: number; next: number; bytes: number },
  ) {}

  get next(): number {
    return this.state.next;
  }

  add(line: string): void {
    this.pending.push(line);
    // A failed background flush (the claim was lost) is kept in `failed` and thrown by the
    // run's own final flush; it must not escape as an unhandled rejection.
    if (this.pending.length >= 500) this.flush().catch(() => undefined);
    else if (!this.timer) {
      this.timer = setTimeout(
        () => void this.flush().catch(() => undefined),
        this.deps.settings.logFlushMs,
      );
      this.timer.unref();
    }
  }

  /** Writes what is pending (serialized: batches commit in order). Rejects once the claim is lost. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (this.failed) throw this.failed.error;
    const lines = this.pending.splice(0);
    if (!lines.length) return;
    const max = this.deps.settings.logMaxBytes;
    const s = { ...this.state };
    const rows = lines.map((text, i) => ({ offset: s.next + i, text, size: utf8Bytes(text) + 1 }));
    try {
      await this.deps.em().transactional(async (tx) => {
        await insertLogLines(tx, this.claim.id, rows);
        s.next += rows.length;
        s.bytes += rows.reduce((n, r) => n + r.size, 0);
        if (s.bytes > max) {
          const t = await trimLog(tx, this.claim.id, s.first, s.bytes - max);
          s.first = t.first;
          s.bytes -= t.removed;
        }
        await this.deps.claims.update(tx, this.claim, {
          logFirst: s.first,
          logNext: s.next,
          logBytes: s.bytes,
        });
      });
    } catch (err) {
      this.failed = { error: err };
      throw err;
    }
    this.state = s;
    this.deps.logCommitted(this.claim.id, s.next, false);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

export class BuildRun {
  constructor(
    private readonly deps: BuildRunnerDeps,
    private readonly claim: Claim,
    private readonly signal: AbortSignal,
  ) {}

  async run(): Promise<RunResult> {
    const row = await findBuild(this.deps.em(), this.claim.id);
    if (!row || isBuildTerminal(row.status)) return 'done';
    const log = new LogWriter(this.deps, this.claim, {
      first: row.logFirst,
      next: row.logNext,
      bytes: Number(row.logBytes),
    });
    try {
      return await this.execute(row, log);
    } finally {
      log.stop();
    }
  }

  private async execute(row: Build, log: LogWriter): Promise<RunResult> {
    const { settings } = this.deps;
    if (row.cancelRequested) {
      return this.finish(
        row,
        log,
        {
          ok: false,
          commit: row.commit ?? null,
          image: null,
          dependencies: null,
          message: `Canceled before it ${row.status === BuildStatus.QUEUED ? 'ran' : 'finished'}.`,
        },
        true,
      );
    }
    if (row.status === BuildStatus.RUNNING) {
      // The worker that ran the last attempt stopped without finishing it (its claim expired).
      if (row.attempts >= settings.maxAttempts) {
        log.add(
          `[phantom] the worker running attempt ${row.attempts} stopped before it finished; no attempts left`,
        );
        return this.finish(
          row,
          log,
          {
            ok: false,
            commit: null,
            image: null,
            dependencies: null,
            message: `The worker running this build stopped before it finished (attempt ${row.attempts} of ${settings.maxAttempts}): build again.`,
          },
          false,
        );
      }
      log.add(
        `[phantom] the worker running attempt ${row.attempts} stopped before it finished; retrying`,
      );
    }
    const app = await this.deps
      .em()
      .findOne(App, { id: row.appId }, { disableIdentityMap: true, connectionType: 'write' });
    const why = !app
      ? 'The app no longer exists.'
      : !app.repository
        ? `App "${row.app}" has no repository.`
        : !app.buildCommand.trim()
          ? `App "${row.app}" has no buildCommand.`
          : null;
    const first = row.status === BuildStatus.QUEUED;
    const attempt = row.attempts + 1;
    await this.deps.em().transactional(async (tx) => {
      await this.deps.claims.update(tx, this.claim, {
        status: BuildStatus.RUNNING,
        attempts: attempt,
        ...(first ? { startedAt: new Date() } : {}),
      });
      if (first) {
        recordEvent(tx, {
          type: PlatformEventType.BUILD_STARTED,
          actor: row.triggeredBy,
          app: row.app,
          payload: {
            buildId: buildGlobalId(row.id),
            number: row.number,
            ref: row.ref ?? null,
            status: BuildStatus.RUNNING,
          },
        });
      }
    });
    if (first) this.deps.eventsCommitted();
    if (why || !app)
      return this.finish(
        row,
        log,
        { ok: false, commit: null, image: null, dependencies: null, message: why! },
        false,
      );
    // The executor stops on a cancel (signalled over the bus) or when this run must stop.
    const stop = new AbortController();
    const onAbort = (): void =>
      stop.abort(
        this.signal.reason instanceof Error ? this.signal.reason : new Error('The worker stopped.'),
      );
    this.signal.addEventListener('abort', onAbort, { once: true });
    let canceledBy = false;
    const checkCancel = (): void => {
      findBuild(this.deps.em(), row.id).then(
        (b) => {
          if (b?.cancelRequested && !stop.signal.aborted) {
            canceledBy = true;
            stop.abort(new Error('Canceled (cancelBuild): the build was stopped.'));
          }
        },
        (err: unknown) =>
          this.deps.logger.warn(
            { err, buildId: row.id },
            'build engine: could not read the cancel flag',
          ),
      );
    };
    const offSignal = this.deps.onSignal(row.id, checkCancel);
    checkCancel();
    let outcome: BuildOutcome;
    try {
      outcome = await this.deps.executor.run(
        {
          buildId: row.id,
          app: row.app,
          number: row.number,
          repository: app.repository,
          ref: row.ref ?? null,
          buildCommand: app.buildCommand,
          registry: settings.registry,
          timeoutMs: settings.timeoutMs,
        },
        { log: (l) => log.add(l), signal: stop.signal },
      );
    } finally {
      offSignal();
      this.signal.removeEventListener('abort', onAbort);
    }
    if (this.signal.aborted) throw new ClaimLostError(this.claim);
    return this.finish(row, log, outcome, canceledBy);
  }

  /** Writes the rest of the log, then the end (fenced), then tells whoever waits on it. */
  private async finish(
    row: Build,
    log: LogWriter,
    o: BuildOutcome,
    canceled: boolean,
  ): Promise<RunResult> {
    const status = canceled
      ? BuildStatus.CANCELED
      : o.ok
        ? BuildStatus.SUCCEEDED
        : BuildStatus.FAILED;
    log.add(`[phantom] build ${status}: ${o.message}`);
    await log.flush();
    const data: Partial<Build> = {
      status,
      message: o.message,
      finishedAt: new Date(),
      commit: o.commit ?? row.commit ?? null,
      cancelRequested: false,
      ...(status === BuildStatus.SUCCEEDED
        ? { image: o.image, dependencies: o.dependencies ?? [] }
        : {}),
    };
    await this.deps.em().transactional(async (tx) => {
      await this.deps.claims.update(tx, this.claim, data);
      recordEvent(tx, {
        type:
          status === BuildStatus.SUCCEEDED
            ? PlatformEventType.BUILD_SUCCEEDED
            : PlatformEventType.BUILD_FAILED,
        actor: row.triggeredBy,
        app: row.app,
        payload: {
          buildId: buildGlobalId(row.id),
          number: row.number,
          ref: row.ref ?? null,
          commit: data.commit ?? null,
          status,
          ...(data.image ? { image: data.image } : {}),
          ...(status !== BuildStatus.SUCCEEDED ? { reason: o.message } : {}),
        },
      });
    });
    this.deps.eventsCommitted();
    this.deps.logCommitted(row.id, log.next, true);
    const ended = Object.assign(row, data);
    // After the build's end: best effort lines (the build is over; its log is still open to the engine).
    const note = async (line: string): Promise<void> => {
      log.add(line);
      await log.flush().catch(() => undefined);
      this.deps.logCommitted(row.id, log.next, true);
    };
    await this.deps
      .ended(ended, note)
      .catch((err: unknown) =>
        this.deps.logger.warn({ err, buildId: row.id }, 'build engine: after-build work failed'),
      );
    return 'done';
  }
}
